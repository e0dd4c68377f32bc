"""CIM-style layers of the twin: one module per layer, plus IO, conformance and the generator.

Each layer module declares its schema (``SPEC``, from :data:`twin.schema.LAYERS`)
and a pure ``derive(gdf, report)`` that fills derived columns. Readers live in
:mod:`layers.io.files`; :func:`layers.conform.conform_layer` validates any input
against a layer's schema.
"""

from layers import (
    boundaries,
    buildings,
    charging,
    green,
    landcover,
    roads,
    transit,
    water,
)

__all__ = ["LAYER_MODULES"]

#: Layer name -> the module that owns it.
LAYER_MODULES = {
    "boundaries": boundaries,
    "buildings": buildings,
    "water": water,
    "landcover": landcover,
    "roads": roads,
    "charging_stations": charging,
    "service_areas": charging,
    "bus_stops": transit,
    "green_space": green,
}
