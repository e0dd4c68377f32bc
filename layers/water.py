"""Water bodies: ponds and pit-ponds (fishery PV candidates), reservoirs, lakes, rivers, canals."""

from __future__ import annotations

from layers._derive import fill_area_m2
from twin.schema import LAYERS

__all__ = ["SPEC", "derive"]

SPEC = LAYERS["water"]


def derive(gdf, report=None):
    """Fill ``area_m2`` from the geometry."""
    return fill_area_m2(gdf)
