"""Windowed zonal accounting of a land-cover raster: pixel counts and areas by zone x class code.

The raster is read in strips of rows (one window at a time per worker thread),
the zones are burnt into the same window with :func:`rasterio.features.rasterize`,
and a numba kernel (GIL released) counts every (zone, code) pair in one pass.
Peak memory is a few strips, whatever the raster size.

Areas are always in square metres: a projected raster's pixels have a constant
area (|a x e| of the geotransform, in the CRS's linear unit converted to metres);
a geographic raster's pixel area is computed per row on the CRS's ellipsoid
(:meth:`pyproj.Geod.polygon_area_perimeter`), so the result never depends on
degrees. Zones in another CRS are reprojected to the raster's CRS (vectors
are reprojected, never the raster).

References
----------
.. [1] Gillies, S. et al. rasterio: geospatial raster I/O for Python.
   https://github.com/rasterio/rasterio
.. [2] Karney, C. F. F. (2013). Algorithms for geodesics. J. Geodesy 87: 43-55.
   https://doi.org/10.1007/s00190-012-0578-z (pyproj.Geod areas).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import rasterio
import rasterio.features
import rasterio.windows
import shapely

from layers.io.files import open_raster
from twin.errors import SchemaError, SourceError
from twin.schema import LANDCOVER_CLASSES

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["ZonalCounts", "class_areas", "pixel_area_rows_m2", "zonal_class_counts"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZonalCounts:
    """Result of :func:`zonal_class_counts`.

    Attributes
    ----------
    table : DataFrame
        One row per (zone, code) with pixels: ``zone`` (the zone id), ``code`` (int),
        ``n_pixels`` (int) and ``area_m2`` [m²]. Nodata pixels carry ``code = -1``.
    crs : str
        CRS of the raster.
    pixel_area_m2 : float
        Area of one pixel [m²] (the mean for a geographic raster).
    is_geographic : bool
        True when pixel areas were computed per row on the ellipsoid.
    n_windows : int
        Number of windows read.
    """

    table: pd.DataFrame
    crs: str
    pixel_area_m2: float
    is_geographic: bool
    n_windows: int


@numba.njit(nogil=True, cache=True)
def _count_u8(cls: np.ndarray, zone: np.ndarray, counts: np.ndarray) -> None:  # pragma: no cover - compiled
    nr, nc = cls.shape
    for r in range(nr):
        for c in range(nc):
            z = zone[r, c]
            if z != 0:
                counts[z, cls[r, c]] += 1


@numba.njit(nogil=True, cache=True)
def _count_u8_rows(cls: np.ndarray, zone: np.ndarray, row_area: np.ndarray, counts: np.ndarray,
                   areas: np.ndarray) -> None:  # pragma: no cover - compiled
    nr, nc = cls.shape
    for r in range(nr):
        w = row_area[r]
        for c in range(nc):
            z = zone[r, c]
            if z != 0:
                v = cls[r, c]
                counts[z, v] += 1
                areas[z, v] += w


def pixel_area_rows_m2(transform: Affine, height: int, crs: Any) -> np.ndarray:
    """Area of one pixel in each row [m²].

    Parameters
    ----------
    transform : affine.Affine
        North-up geotransform of the window.
    height : int
        Number of rows.
    crs : CRS-like
        The raster's CRS: geographic -> ellipsoidal area per row; projected -> constant.

    Raises
    ------
    SourceError
        A rotated geotransform, or a CRS whose unit is not a length.
    """
    if transform.b != 0 or transform.d != 0:
        msg = "the raster is rotated (geotransform with shear terms); warp it north-up first"
        raise SourceError(msg)
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_geographic:
        geod = crs.get_geod()
        x0, x1 = transform.c, transform.c + transform.a
        ys = transform.f + transform.e * np.arange(height + 1)
        out = np.empty(height)
        for i in range(height):
            area, _ = geod.polygon_area_perimeter([x0, x1, x1, x0], [ys[i], ys[i], ys[i + 1], ys[i + 1]])
            out[i] = abs(area)
        return out
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return np.full(height, abs(transform.a * transform.e) * unit * unit)


def _strip_windows(src: rasterio.io.DatasetReader, bounds: np.ndarray, rows_per_window: int
                   ) -> list[rasterio.windows.Window]:
    win = rasterio.windows.from_bounds(*bounds, transform=src.transform)
    r0 = max(0, int(np.floor(win.row_off)))
    c0 = max(0, int(np.floor(win.col_off)))
    r1 = min(src.height, int(np.ceil(win.row_off + win.height)))
    c1 = min(src.width, int(np.ceil(win.col_off + win.width)))
    if r1 <= r0 or c1 <= c0:
        return []
    w = c1 - c0
    return [rasterio.windows.Window(c0, r, w, min(rows_per_window, r1 - r))
            for r in range(r0, r1, rows_per_window)]


def zonal_class_counts(
    raster_path: str | Path,
    zones: gpd.GeoDataFrame,
    zone_field: str,
    *,
    rows_per_window: int = 512,
    threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> ZonalCounts:
    """Count pixels and area per zone and class code, reading the raster window by window.

    Parameters
    ----------
    raster_path : path-like
        Integer land-cover raster (one band) with a CRS.
    zones : GeoDataFrame
        Non-overlapping polygons (e.g. townships) with a CRS; pixels are assigned to
        the zone containing their centre.
    zone_field : str
        Column of ``zones`` with unique zone ids.
    rows_per_window : int
        Rows per strip; memory is about ``threads x width x rows x 7`` bytes.
    threads : int
        Worker threads (the kernel and GDAL release the GIL).
    progress : callable, optional
        Called with ``(done, total)`` windows.

    Returns
    -------
    ZonalCounts

    Raises
    ------
    SourceError
        Unreadable raster, no CRS, a non-integer band, rotated geotransform.
    SchemaError
        Zones without CRS or with duplicate ids.
    """
    raster_path = Path(raster_path)
    if zones.crs is None:
        msg = "zones have no CRS; set it (e.g. gdf.set_crs('EPSG:4549')) before zonal accounting"
        raise SchemaError(msg)
    if zone_field not in zones.columns or zones[zone_field].duplicated().any():
        msg = f"zones need a column {zone_field!r} with unique ids"
        raise SchemaError(msg)
    with open_raster(raster_path, what="land-cover raster") as src:
        dtype = np.dtype(src.dtypes[0])
        if dtype.kind not in "iu":
            msg = (f"{raster_path}: land-cover rasters need integer class codes, the band is {dtype}; "
                   "reclassify it to integers first")
            raise SourceError(msg)
        nodata = src.nodata
        rcrs = pyproj.CRS.from_user_input(src.crs.to_wkt())
        zcrs = pyproj.CRS.from_user_input(zones.crs)
        if not rcrs.equals(zcrs):
            logger.info("reprojecting %d zones from %s to the raster CRS %s", len(zones),
                        zcrs.to_string(), rcrs.to_string())
            zones = zones.to_crs(src.crs.to_wkt())
        windows = _strip_windows(src, zones.total_bounds, rows_per_window)
        transform = src.transform
        geographic = rcrs.is_geographic
        res_area = pixel_area_rows_m2(transform, 1, rcrs)[0] if not geographic else np.nan
    ids = zones[zone_field].to_numpy()
    geoms = zones.geometry.to_numpy()
    nz = len(ids)
    zdtype = "uint16" if nz < 65535 else "int32"
    tree = shapely.STRtree(geoms)
    local = threading.local()
    direct = dtype == np.uint8
    lock = threading.Lock()
    done = [0]

    def work(win: rasterio.windows.Window) -> pd.DataFrame:
        areas: np.ndarray | None
        if not hasattr(local, "src"):
            local.src = rasterio.open(raster_path)
        ds = local.src
        cls = ds.read(1, window=win)
        wt = ds.window_transform(win)
        b = rasterio.windows.bounds(win, ds.transform)
        cand = tree.query(shapely.box(*b))
        zone = np.zeros(cls.shape, dtype=zdtype)
        if len(cand):
            rasterio.features.rasterize(
                ((geoms[i], int(i) + 1) for i in cand), out=zone, transform=wt, fill=0)
        row_area = pixel_area_rows_m2(wt, cls.shape[0], rcrs) if geographic else None
        if direct:
            counts = np.zeros((nz + 1, 256), dtype=np.int64)
            if geographic:
                assert row_area is not None  # computed above for a geographic raster
                areas = np.zeros((nz + 1, 256))
                _count_u8_rows(cls, zone, row_area, counts, areas)
            else:
                _count_u8(cls, zone, counts)
                areas = None
            res = _sparse(counts, areas, np.arange(256))
        else:
            m = zone != 0
            codes, inv = np.unique(cls[m], return_inverse=True)
            key = zone[m].astype(np.int64) * len(codes) + inv
            counts = np.bincount(key, minlength=(nz + 1) * len(codes)).reshape(nz + 1, len(codes))
            areas = None
            if geographic:
                assert row_area is not None  # computed above for a geographic raster
                ra = np.broadcast_to(row_area[:, None], cls.shape)[m]
                areas = np.bincount(key, weights=ra, minlength=(nz + 1) * len(codes))
                areas = areas.reshape(nz + 1, len(codes))
            res = _sparse(counts, areas, codes)
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], len(windows))
        return res

    parts = []
    if windows:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            parts = list(pool.map(work, windows))
    if parts:
        tab = pd.concat(parts, ignore_index=True)
        tab = tab.groupby(["zone_i", "code"], as_index=False, sort=True).sum()
    else:
        tab = pd.DataFrame({"zone_i": [], "code": [], "n_pixels": [], "area_m2": []})
    if not geographic:
        tab["area_m2"] = tab["n_pixels"] * res_area
    tab["code"] = tab["code"].astype("int64")
    if nodata is not None and np.isfinite(nodata):
        tab.loc[tab["code"] == int(nodata), "code"] = -1
        tab = tab.groupby(["zone_i", "code"], as_index=False, sort=True).sum()
    tab.insert(0, "zone", ids[tab["zone_i"].to_numpy(dtype=np.int64) - 1] if len(tab) else [])
    tab = tab.drop(columns="zone_i")
    tab["n_pixels"] = tab["n_pixels"].astype("int64")
    mean_area = (float(tab["area_m2"].sum() / tab["n_pixels"].sum()) if geographic and len(tab)
                 else float(res_area))
    return ZonalCounts(tab, rcrs.to_string(), mean_area, geographic, len(windows))


def _sparse(counts: np.ndarray, areas: np.ndarray | None, codes: npt.ArrayLike) -> pd.DataFrame:
    z, k = np.nonzero(counts)
    return pd.DataFrame({
        "zone_i": z.astype(np.int64), "code": np.asarray(codes)[k].astype(np.int64),
        "n_pixels": counts[z, k],
        "area_m2": areas[z, k] if areas is not None else np.zeros(len(z)),
    })


def class_areas(counts: pd.DataFrame, class_table: dict[int, str]
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Map class codes to twin classes; report codes the table does not know.

    Parameters
    ----------
    counts : DataFrame
        :attr:`ZonalCounts.table` (``zone``, ``code``, ``n_pixels``, ``area_m2``).
    class_table : dict of int to str
        Source code -> twin class; ``''`` marks a nodata code
        (:func:`layers.landcover.read_class_table`).

    Returns
    -------
    areas : DataFrame
        ``zone``, ``lc_class``, ``n_pixels``, ``area_m2`` of mapped pixels.
    unknown : DataFrame
        ``zone``, ``code``, ``n_pixels``, ``area_m2`` of codes missing from the table
        (never dropped silently: the caller reports them).
    nodata : DataFrame
        ``zone``, ``n_pixels``, ``area_m2`` of nodata pixels (raster nodata or codes
        mapped to ``''``).
    """
    bad = {c for c in class_table.values() if c and c not in LANDCOVER_CLASSES}
    if bad:
        msg = f"class table maps to unknown twin classes {sorted(bad)}"
        raise SchemaError(msg)
    cls = counts["code"].map(lambda c: class_table.get(int(c)) if c >= 0 else "")
    known = cls.notna()
    is_nodata = known & (cls == "")
    mapped = counts.loc[known & ~is_nodata].assign(lc_class=cls[known & ~is_nodata])
    areas = (mapped.groupby(["zone", "lc_class"], as_index=False, sort=True)[["n_pixels", "area_m2"]]
             .sum())
    unknown = counts.loc[~known, ["zone", "code", "n_pixels", "area_m2"]].reset_index(drop=True)
    nodata = (counts.loc[is_nodata].groupby("zone", as_index=False)[["n_pixels", "area_m2"]].sum())
    return areas, unknown, nodata
