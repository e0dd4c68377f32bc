"""Bus stops (for the 300 m bus-stop coverage target)."""

from __future__ import annotations

from twin.schema import LAYERS

__all__ = ["SPEC", "derive"]

SPEC = LAYERS["bus_stops"]


def derive(gdf, report=None):
    """Nothing to derive for points."""
    return gdf
