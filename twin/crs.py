"""Coordinate reference systems: parsing, checks and reprojection to the metric CRS.

Both pilot cities use EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E),
whose central meridian runs through both. EPSG:4490 (CGCS2000 geographic) is
within centimetres of WGS84. GCJ-02 (Amap/Gaode) is never guessed: see
:mod:`twin.gcj02`, applied only on an explicit request.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import pyproj

from twin.errors import SchemaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["METRIC_CRS", "gauss_kruger_crs", "parse_crs", "require_projected", "to_metric"]

logger = logging.getLogger(__name__)

#: Default metric CRS of the twin.
METRIC_CRS = "EPSG:4549"

#: Central meridians [°E] of the CGCS2000 3-degree Gauss-Kruger "CM" family covering China.
_GK3_CM_FIRST, _GK3_CM_LAST, _GK3_EPSG_FIRST = 75, 135, 4534


def gauss_kruger_crs(longitude: float) -> str:
    """The CGCS2000 3-degree Gauss-Kruger CRS whose central meridian is nearest ``longitude``.

    The "CM" family EPSG:4534-4554 (CM 75°E ... 135°E, false easting 500 000 m, no zone
    prefix) is used, the family of the two presets (EPSG:4549 = CM 120°E). The twin of
    EPSG:4513-4533 ("zone 25-45") has the same projection with the zone number prefixed
    to the easting (e.g. 40 500 000 m), which only makes the numbers longer. In a 3-degree
    zone a place is at most 1.5° from the central meridian, where the Gauss-Kruger scale
    error is below about 3e-4 (0.03 %) at China's latitudes.

    Parameters
    ----------
    longitude : float
        Longitude of the city centre [°E], within 73.5-136.5 (the zones over China).

    Returns
    -------
    str
        ``"EPSG:NNNN"``, e.g. ``"EPSG:4549"`` for 120.2°E (Hangzhou).

    Raises
    ------
    SchemaError
        If the longitude is not finite or lies outside the zones over China.

    Examples
    --------
    >>> gauss_kruger_crs(120.16), gauss_kruger_crs(116.4), gauss_kruger_crs(121.6)
    ('EPSG:4549', 'EPSG:4548', 'EPSG:4550')
    """
    lon = float(longitude)
    lo, hi = _GK3_CM_FIRST - 1.5, _GK3_CM_LAST + 1.5
    if not lo <= lon < hi:
        msg = (f"longitude {longitude!r} is outside the CGCS2000 3-degree Gauss-Kruger zones over "
               f"China ({lo}-{hi} °E); check that the boundary is in lon/lat (EPSG:4326/4490) "
               "or give metric_crs by hand")
        raise SchemaError(msg)
    cm = 3 * math.floor((lon + 1.5) / 3.0)  # a zone edge (x.5 °E) goes east
    return f"EPSG:{_GK3_EPSG_FIRST + (cm - _GK3_CM_FIRST) // 3}"


def parse_crs(value: Any, *, what: str = "CRS") -> pyproj.CRS:
    """Parse ``value`` (``"EPSG:4549"``, ``4549``, WKT, a pyproj CRS) into a :class:`pyproj.CRS`.

    Raises
    ------
    SchemaError
        If pyproj cannot parse it; the message names the value and the fix.
    """
    if isinstance(value, pyproj.CRS):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        value = f"EPSG:{int(value)}"
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as exc:
        msg = (
            f"{what} {value!r} is not a coordinate reference system pyproj knows ({exc}); "
            "give an EPSG code such as EPSG:4326, EPSG:4490, EPSG:4549, EPSG:32650 or EPSG:32651"
        )
        raise SchemaError(msg) from None


def require_projected(crs: Any, *, what: str) -> pyproj.CRS:
    """Return the CRS if it is projected in metres, else raise :class:`SchemaError`.

    Areas and distances in degrees are wrong; engines call this at their edge.
    """
    if crs is None:
        msg = f"{what} has no CRS; set one (e.g. gdf.set_crs('EPSG:4549')) before computing in metres"
        raise SchemaError(msg)
    crs = parse_crs(crs, what=f"the CRS of {what}")
    if not crs.is_projected:
        msg = (
            f"{what} is in a geographic CRS ({crs.to_string()}) but metres are needed; "
            f"reproject first, e.g. gdf.to_crs('{METRIC_CRS}')"
        )
        raise SchemaError(msg)
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        msg = f"{what} is in {crs.to_string()} with axis unit {unit!r}; metres are needed"
        raise SchemaError(msg)
    return crs


def to_metric(gdf: gpd.GeoDataFrame, crs: Any = METRIC_CRS, *, what: str = "layer") -> gpd.GeoDataFrame:
    """Reproject a GeoDataFrame to the metric CRS (a no-op when it is already there).

    Raises
    ------
    SchemaError
        If the frame has no CRS (never guessed) or the target is not projected.
    """
    target = require_projected(crs, what=f"target CRS for {what}")
    if gdf.crs is None:
        msg = (
            f"{what} has no CRS; say which it is (e.g. `--crs EPSG:4326`, or EPSG:4549 for "
            "CGCS2000 Gauss-Kruger 120E); coordinates are never guessed"
        )
        raise SchemaError(msg)
    if pyproj.CRS(gdf.crs).equals(target):
        return gdf
    logger.info("reprojecting %s from %s to %s", what, gdf.crs.to_string(), target.to_string())
    return gdf.to_crs(target)
