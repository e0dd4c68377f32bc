"""Road centrelines with class, free-flow speed and direction (the routable network's input)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.schema import LAYERS

__all__ = ["DEFAULT_SPEED_KMH", "SPEC", "derive"]

SPEC = LAYERS["roads"]

#: Default free-flow speed by class [km/h], used where a road has none. Design
#: speeds of JTG B01-2014 (motorway 100-120, first-class highway 80-100) and
#: CJJ 37-2012 urban roads (expressway 60-100, arterial 40-60, secondary 30-50,
#: branch 20-40), taken at the lower-middle of each range for free flow in town.
DEFAULT_SPEED_KMH = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "residential": 30.0,
    "service": 20.0,
}


def derive(gdf, report=None):
    """Fill ``length_m`` and missing ``speed_kmh`` (by class)."""
    gdf["length_m"] = np.asarray(gdf.geometry.length, dtype="float64")
    speed = pd.to_numeric(gdf["speed_kmh"], errors="coerce")
    default = gdf["road_class"].map(DEFAULT_SPEED_KMH)
    gdf["speed_kmh"] = speed.where(speed.notna(), default).astype("float64")
    return gdf
