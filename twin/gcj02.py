"""GCJ-02 (Amap/Gaode, Tencent, Google China) <-> WGS84 coordinate conversion.

Chinese web maps publish coordinates in GCJ-02, WGS84 longitude/latitude shifted by
an obfuscating, smoothly varying offset of several hundred metres (about 400-600 m
in Hangzhou and Huzhou). Data digitised on Amap (POIs, boundaries from the Amap
district API) must be shifted back to WGS84 before it is projected to EPSG:4549.

The forward transform is the widely published reconstruction of the GCJ-02 offset
(the ``transformLat``/``transformLon`` polynomials on the Krasovsky 1940 ellipsoid,
a = 6378245.0 m, e² = 0.00669342162296594323). GCJ-02 has no closed-form inverse;
:func:`gcj02_to_wgs84` solves ``wgs84_to_gcj02(w) = g`` by fixed-point iteration
``w <- w - (wgs84_to_gcj02(w) - g)`` until the residual is below 1e-9 ° (about
0.1 mm), so the round trip agrees to far better than 1 cm. The offset's derivative
is of order 1e-3, so the iteration converges in three or four steps.

The implementation reproduces the reference implementations' published test
vectors bit for bit (eviltransform [2]_, coordtransform [1]_), and the WGS84/GCJ-02
city pairs of the gcoord fixtures [3]_ (which come from the map providers' own
converters) to about 6e-6 ° (< 1 m), the precision those fixtures are tested at.
It is not a survey-grade datum transformation; Amap coordinates carry their own
digitising error of metres.

Outside China
-------------
Like the reference implementations, coordinates outside the box
73.66 °E < lon < 135.05 °E, 3.86 °N < lat < 53.55 °N (the ``out_of_china`` test
of wandergis/coordtransform) are returned unchanged. The box is a rough rectangle:
it includes parts of neighbouring countries and leaves points exactly on its edge
unshifted. For the inverse, the box is tested on the GCJ-02 input.

References
----------
.. [1] wandergis, "coordtransform: BD-09, GCJ-02 and WGS-84 conversions",
   https://github.com/wandergis/coordtransform (formula and out-of-China box).
.. [2] googollee, "eviltransform: Transform coordinate between earth (WGS-84) and
   mars in China (GCJ-02)", https://github.com/googollee/eviltransform (control
   points for Shanghai, Shenzhen and Beijing).
.. [3] hujiulong, "gcoord", https://github.com/hujiulong/gcoord,
   ``test/fixtures/china-cities.json`` (WGS84/GCJ-02 pairs for Chinese cities,
   including Hangzhou and Huzhou).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from twin.errors import DataWarning, SchemaError

__all__ = [
    "CHINA_BOX",
    "KRASOVSKY_A",
    "KRASOVSKY_EE",
    "gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
    "geometry_wgs84_to_gcj02",
    "in_china",
    "wgs84_to_gcj02",
]

logger = logging.getLogger(__name__)

#: Semi-major axis of the Krasovsky 1940 ellipsoid [m], as used by GCJ-02.
KRASOVSKY_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid [-].
KRASOVSKY_EE = 0.00669342162296594323
#: (lon_min, lat_min, lon_max, lat_max) [°]; outside (or on the edge) no offset is applied.
CHINA_BOX = (73.66, 3.86, 135.05, 53.55)

_TOLERANCE_DEG = 1e-9

#: Longitude and latitude [°] as returned by the converters: floats for scalar input, else arrays.
LonLat: TypeAlias = tuple[float, float] | tuple[np.ndarray, np.ndarray]


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> np.ndarray:
    """Return True where GCJ-02 applies (strictly inside :data:`CHINA_BOX`).

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude [°].

    Returns
    -------
    bool or numpy.ndarray of bool
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    lon0, lat0, lon1, lat1 = CHINA_BOX
    return (lon > lon0) & (lon < lon1) & (lat > lat0) & (lat < lat1)


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # x = lon - 105, y = lat - 35 [°]; returns an offset in "metres-like" units
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 [°] at the WGS84 point (lon, lat), ignoring the China box."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = np.degrees(dlat / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (magic * sqrtmagic)))
    dlon = np.degrees(dlon / (KRASOVSKY_A / sqrtmagic * np.cos(radlat)))
    return dlon, dlat


def _as_output(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> LonLat:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert WGS84 longitude/latitude to GCJ-02 (Amap/Gaode).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude [°]; arrays broadcast against each other.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 longitude and latitude [°]; floats for scalar input. Points outside
        :data:`CHINA_BOX` are returned unchanged; NaN stays NaN.

    References
    ----------
    See the module references [1]_ (formula, Krasovsky 1940 constants).
    """
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    dlon, dlat = _offset(lon, lat)
    inside = in_china(lon, lat)
    out_lon = np.where(inside, lon + dlon, lon)
    out_lat = np.where(inside, lat + dlat, lat)
    return _as_output(out_lon, out_lat, scalar)


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, *, iterations: int = 10,
                   tolerance_deg: float = _TOLERANCE_DEG) -> LonLat:
    """Convert GCJ-02 (Amap/Gaode) longitude/latitude to WGS84.

    Solves ``wgs84_to_gcj02(w) == g`` by fixed-point iteration, starting from
    ``w = g - offset(g)``, until the largest residual is below ``tolerance_deg``
    (default 1e-9 °, about 0.1 mm; the round trip is accurate to < 1 cm).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude [°]; arrays broadcast against each other.
    iterations : int, default 10
        Maximum number of iterations (three or four are needed in practice).
    tolerance_deg : float, default 1e-9
        Stop when every residual |wgs84_to_gcj02(w) - g| is below this [°].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS84 longitude and latitude [°]; floats for scalar input. Points whose
        GCJ-02 coordinates lie outside :data:`CHINA_BOX` are returned unchanged.

    Warns
    -----
    DataWarning
        If the iteration has not converged after ``iterations`` steps (the best
        estimate is still returned).

    References
    ----------
    See the module references [1]_ [2]_.
    """
    if iterations < 1:
        msg = f"gcj02_to_wgs84: iterations must be >= 1, got {iterations}"
        raise ValueError(msg)
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    g_lon, g_lat = np.broadcast_arrays(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    inside = in_china(g_lon, g_lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    residual = np.inf
    for _ in range(iterations):
        dlon, dlat = _offset(w_lon, w_lat)
        r_lon = w_lon + dlon - g_lon
        r_lat = w_lat + dlat - g_lat
        w_lon = w_lon - r_lon
        w_lat = w_lat - r_lat
        both = np.abs(np.concatenate([r_lon[inside], r_lat[inside]]))
        residual = float(np.max(both, initial=0.0, where=np.isfinite(both)))
        if residual < tolerance_deg:
            break
    else:
        msg = (
            f"gcj02_to_wgs84 did not converge in {iterations} iterations "
            f"(largest residual {residual:.3g} deg); pass a larger iterations="
        )
        warnings.warn(msg, DataWarning, stacklevel=2)
    out_lon = np.where(inside, w_lon, g_lon)
    out_lat = np.where(inside, w_lat, g_lat)
    return _as_output(out_lon, out_lat, scalar)


def _check_lonlat(geoms: Any, what: str) -> None:
    crs = getattr(geoms, "crs", None)
    if crs is not None and not crs.is_geographic:
        msg = (
            f"{what}: GCJ-02 conversion needs longitude/latitude in degrees, but the "
            f"geometries are in the projected CRS {crs.to_string()}; convert them with "
            "to_crs('EPSG:4326') first (GCJ-02 data from Amap is always lon/lat)"
        )
        raise SchemaError(msg)
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object).ravel()
    arr = arr[~shapely.is_missing(arr)]
    if arr.size == 0:
        return
    minx, miny, maxx, maxy = shapely.total_bounds(arr)
    if minx < -180.0 or maxx > 180.0 or miny < -90.0 or maxy > 90.0:
        msg = (
            f"{what}: coordinates span x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}, "
            "which are not longitude/latitude in degrees; GCJ-02 conversion needs "
            "EPSG:4326-like lon/lat: reproject with to_crs('EPSG:4326') first"
        )
        raise SchemaError(msg)


def _apply(geoms: Any, func: Callable[[np.ndarray, np.ndarray], LonLat], what: str) -> Any:
    def _xy(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    if isinstance(geoms, gpd.GeoDataFrame):
        out = geoms.copy()
        out[out.geometry.name] = _apply(geoms.geometry, func, what)
        return out
    _check_lonlat(geoms, what)
    if isinstance(geoms, gpd.GeoSeries):
        result = shapely.transform(geoms.values, _xy, include_z=None)
        return gpd.GeoSeries(result, index=geoms.index, crs=geoms.crs, name=geoms.name)
    return shapely.transform(geoms, _xy, include_z=None)


def geometry_gcj02_to_wgs84(geoms: Any) -> Any:
    """Shift shapely geometries from GCJ-02 to WGS84 lon/lat.

    Parameters
    ----------
    geoms : shapely.Geometry, array_like of Geometry, GeoSeries or GeoDataFrame
        Geometries in GCJ-02 longitude/latitude [°]. A GeoSeries/GeoDataFrame must
        have a geographic CRS (or none); Z coordinates are kept unchanged.

    Returns
    -------
    Same type as ``geoms``
        A GeoSeries keeps its index, name and CRS; a GeoDataFrame is copied with
        its active geometry column converted.

    Raises
    ------
    SchemaError
        If the geometries are in a projected CRS or their coordinates are not
        within longitude/latitude ranges.
    """
    return _apply(geoms, gcj02_to_wgs84, "geometry_gcj02_to_wgs84")


def geometry_wgs84_to_gcj02(geoms: Any) -> Any:
    """Shift shapely geometries from WGS84 to GCJ-02 lon/lat (e.g. to overlay on Amap tiles).

    Parameters
    ----------
    geoms : shapely.Geometry, array_like of Geometry, GeoSeries or GeoDataFrame
        Geometries in WGS84 longitude/latitude [°].

    Returns
    -------
    Same type as ``geoms``

    Raises
    ------
    SchemaError
        As :func:`geometry_gcj02_to_wgs84`.
    """
    return _apply(geoms, wgs84_to_gcj02, "geometry_wgs84_to_gcj02")
