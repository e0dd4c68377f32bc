"""Parks and public green space (for "300 m to green, 500 m to a park")."""

from __future__ import annotations

from layers._derive import fill_area_m2
from twin.schema import LAYERS

__all__ = ["SPEC", "derive"]

SPEC = LAYERS["green_space"]


def derive(gdf, report=None):
    """Fill ``area_m2`` from the geometry."""
    return fill_area_m2(gdf)
