"""Small shared helpers for the layers' ``derive`` functions."""

from __future__ import annotations

import numpy as np

__all__ = ["fill_area_m2"]


def fill_area_m2(gdf, column: str = "area_m2", scale: float = 1.0):
    """Set ``column`` to the planar area of each geometry (projected CRS) times ``scale``."""
    gdf[column] = np.asarray(gdf.geometry.area, dtype="float64") * scale
    return gdf
