"""Horizon profiles of roof facets: obstruction by neighbouring buildings and terrain.

For each facet centre the horizon is the elevation angle [°] of the highest
obstruction in each of ``N`` azimuth sectors (default 36 of 10 °). Sector ``k`` is
centred on azimuth ``az_k = k · 360/N`` (degrees clockwise from north) and covers
``[az_k − 180/N, az_k + 180/N)``; its column is ``horizon_elev_deg_{az_k:03d}``.
The yield engine masks beam irradiance when the sun is below the horizon and
reduces sky diffuse by the sky-view factor the profile implies.

Buildings are LOD1 blocks (footprint extruded to ``height_m``). Seen from a
point at height ``z``, a block of height ``H`` subtends, in a given azimuth, the
angle ``atan((H − z)/d)`` where ``d`` is the horizontal distance to the nearest
point of the block's footprint boundary in that direction. The sector maximum is
computed exactly: every footprint edge is clipped to the sector's wedge and the
distance from the point to the clipped edge is minimised in closed form (no
sampling). A uniform grid index finds the blocks within ``radius_m``, visited
nearest cell first, and blocks that cannot raise any sector they span are
skipped; the inner loops are compiled with numba and run in parallel over points.

Terrain (:func:`horizon_from_dem`) marches rays over a DEM; the combined
profile is the maximum of the two (:func:`facet_horizons`).

Angles are clipped at 0 °: the profile describes obstructions above the
horizontal plane through the facet centre.

References
----------
.. [1] Šúri, M., Hofierka, J. (2004). A new GIS-based solar radiation model and its
   application to photovoltaic assessments. Transactions in GIS 8(2), 175-190.
   https://doi.org/10.1111/j.1467-9671.2004.00174.x (horizon angles per azimuth
   sector, as in GRASS r.horizon).
.. [2] Lindberg, F., Jonsson, P., Honjo, T., Wästberg, D. (2015). Solar energy on
   building envelopes - 3D modelling in a 2D environment. Solar Energy 115, 369-378.
   https://doi.org/10.1016/j.solener.2015.03.001 (UMEP SEBE).
.. [3] Hirt, C., Guillaume, S., Wisbar, A., Bürki, B., Sternberg, H. (2010).
   Monitoring of the refraction coefficient in the lower atmosphere. J. Geophys. Res.
   115, D21102. https://doi.org/10.1029/2010JD014067 (k ≈ 0.13).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba as nb
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from engines.pv.facets import building_heights, check_buildings
from twin.errors import ConfigError, SchemaError, require_columns

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine

__all__ = [
    "EARTH_RADIUS_M",
    "REFRACTION_COEFFICIENT",
    "Obstacles",
    "facet_horizons",
    "horizon_columns",
    "horizon_from_dem",
    "horizon_profiles",
    "obstacles_from_polygons",
]

logger = logging.getLogger(__name__)

#: Mean Earth radius [m] for the curvature drop of distant terrain.
EARTH_RADIUS_M = 6_371_000.0
#: Standard atmospheric refraction coefficient (Hirt et al. 2010) [fraction].
REFRACTION_COEFFICIENT = 0.13


@dataclass(frozen=True)
class Obstacles:
    """LOD1 blocks as flat arrays for the horizon kernel.

    Attributes
    ----------
    edges : ndarray, shape (n_edges, 4)
        Footprint boundary edges ``x0, y0, x1, y1`` [m], exterior and interior rings,
        grouped by obstacle.
    edge_start : ndarray of int64, shape (n_obstacles + 1,)
        Edges of obstacle ``i`` are ``edges[edge_start[i]:edge_start[i + 1]]``.
    height_m : ndarray, shape (n_obstacles,)
        Block height above ground [m].
    bbox : ndarray, shape (n_obstacles, 4)
        ``minx, miny, maxx, maxy`` of each footprint [m].
    """

    edges: np.ndarray
    edge_start: np.ndarray
    height_m: np.ndarray
    bbox: np.ndarray

    def __len__(self) -> int:
        return len(self.height_m)


def obstacles_from_polygons(polygons: npt.ArrayLike, height_m: npt.ArrayLike) -> Obstacles:
    """Pack footprint polygons and heights into :class:`Obstacles`.

    Parameters
    ----------
    polygons : array_like of shapely Polygon or MultiPolygon
        Footprints in a projected CRS [m].
    height_m : array_like of float
        Heights above ground [m], finite and >= 0.

    Returns
    -------
    Obstacles
    """
    geoms = np.asarray(polygons, dtype=object)
    h = np.asarray(height_m, dtype="float64")
    if geoms.shape != h.shape:
        msg = f"obstacles_from_polygons: {len(geoms)} polygons but {len(h)} heights"
        raise ConfigError(msg)
    if not np.all(np.isfinite(h)) or np.any(h < 0):
        msg = "obstacles_from_polygons: heights must be finite and >= 0 [m]"
        raise ConfigError(msg)
    n = len(geoms)
    parts, part_obs = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[:-1] == coord_ring[1:]
    edges = np.column_stack([coords[:-1][same], coords[1:][same]]).astype("float64")
    edge_obs = part_obs[ring_part[coord_ring[:-1][same]]]
    counts = np.bincount(edge_obs, minlength=n)
    edge_start = np.zeros(n + 1, dtype="int64")
    np.cumsum(counts, out=edge_start[1:])
    bbox = shapely.bounds(geoms).astype("float64")
    return Obstacles(np.ascontiguousarray(edges), edge_start, h.copy(), bbox)


def horizon_columns(n_sectors: int = 36) -> list[str]:
    """Column names ``horizon_elev_deg_XXX`` for ``n_sectors`` sectors (XXX = centre azimuth).

    Raises
    ------
    ConfigError
        If ``n_sectors`` does not divide 360 (the suffixes are whole degrees).
    """
    n = int(n_sectors)
    if n < 1 or 360 % n:
        msg = (f"n_sectors={n_sectors}: must divide 360 so each sector centre is a whole "
               "degree (e.g. 8, 12, 24, 36, 72, 360)")
        raise ConfigError(msg)
    step = 360 // n
    return [f"horizon_elev_deg_{k * step:03d}" for k in range(n)]


# --------------------------------------------------------------------------- kernels


@nb.njit(parallel=True, cache=True)
def _horizon_kernel(px: np.ndarray, py: np.ndarray, pz: np.ndarray, own: np.ndarray, order: np.ndarray,
                    edges: np.ndarray, edge_start: np.ndarray, heights: np.ndarray, bbox: np.ndarray,
                    ocx: np.ndarray, ocy: np.ndarray, orad: np.ndarray, cell_start: np.ndarray,
                    cell_items: np.ndarray, x0: float, y0: float, cell: float, nx: int, ny: int,
                    off_i: np.ndarray, off_j: np.ndarray, radius: float, n_sectors: int, bsin: np.ndarray,
                    bcos: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    w = 2.0 * math.pi / n_sectors
    half = 0.5 * w
    r2 = radius * radius
    n_off = off_i.shape[0]
    for ii in nb.prange(order.shape[0]):
        i = order[ii]
        x = px[i]
        y = py[i]
        z = pz[i]
        t = out[i]
        ix = int(math.floor((x - x0) / cell))
        iy = int(math.floor((y - y0) / cell))
        for o in range(n_off):
            ci = ix + off_i[o]
            cj = iy + off_j[o]
            if ci < 0 or ci >= nx or cj < 0 or cj >= ny:
                continue
            c = ci * ny + cj
            for q in range(cell_start[c], cell_start[c + 1]):
                ob = cell_items[q]
                if ob == own[i]:
                    continue
                dh = heights[ob] - z
                if dh <= 0.0:
                    continue
                dx = max(bbox[ob, 0] - x, 0.0, x - bbox[ob, 2])
                dy = max(bbox[ob, 1] - y, 0.0, y - bbox[ob, 3])
                d2 = dx * dx + dy * dy
                if d2 > r2:
                    continue
                # can this block raise any sector it spans? (bounding-circle span)
                ccx = ocx[ob] - x
                ccy = ocy[ob] - y
                dc = math.sqrt(ccx * ccx + ccy * ccy)
                if d2 > 0.0 and dc > orad[ob] * 1.000001:
                    ub = dh / math.sqrt(d2)
                    az = math.atan2(ccx, ccy)
                    hw = math.asin(orad[ob] / dc)
                    k0 = int(math.floor((az - hw + half) / w))
                    k1 = int(math.floor((az + hw + half) / w))
                    useful = False
                    for kk in range(k0, k1 + 1):
                        if t[kk % n_sectors] < ub:
                            useful = True
                            break
                    if not useful:
                        continue
                for e in range(edge_start[ob], edge_start[ob + 1]):
                    ax = edges[e, 0] - x
                    ay = edges[e, 1] - y
                    bx = edges[e, 2] - x
                    by = edges[e, 3] - y
                    ex = bx - ax
                    ey = by - ay
                    ee = ex * ex + ey * ey
                    if ee <= 0.0:
                        continue
                    t0 = -(ax * ex + ay * ey) / ee
                    tc = min(max(t0, 0.0), 1.0)
                    qx = ax + tc * ex
                    qy = ay + tc * ey
                    ds2 = qx * qx + qy * qy
                    if ds2 > r2 or ds2 < 1e-12:
                        continue
                    ub = dh / math.sqrt(ds2)
                    az_a = math.atan2(ax, ay)
                    az_b = math.atan2(bx, by)
                    delta = az_b - az_a
                    if delta > math.pi:
                        delta -= 2.0 * math.pi
                    elif delta <= -math.pi:
                        delta += 2.0 * math.pi
                    if delta < 0.0:  # walk clockwise from a to b
                        ax, bx = bx, ax
                        ay, by = by, ay
                        az_a, az_b = az_b, az_a
                        ex = -ex
                        ey = -ey
                        t0 = 1.0 - t0
                    ka = int(math.floor((az_a + half) / w)) % n_sectors
                    kb = int(math.floor((az_b + half) / w)) % n_sectors
                    m = (kb - ka) % n_sectors
                    for j in range(m + 1):
                        k = (ka + j) % n_sectors
                        if t[k] >= ub:
                            continue
                        tlo = 0.0
                        thi = 1.0
                        if j > 0:  # enters through the lower boundary of sector k
                            ca = bsin[k] * ay - bcos[k] * ax
                            cb = bsin[k] * by - bcos[k] * bx
                            den = ca - cb
                            if den != 0.0:
                                tlo = min(max(ca / den, 0.0), 1.0)
                        if j < m:  # leaves through the upper boundary of sector k
                            k2 = (k + 1) % n_sectors
                            ca = bsin[k2] * ay - bcos[k2] * ax
                            cb = bsin[k2] * by - bcos[k2] * bx
                            den = ca - cb
                            if den != 0.0:
                                thi = min(max(ca / den, 0.0), 1.0)
                        thi = max(thi, tlo)
                        tt = min(max(t0, tlo), thi)
                        qx = ax + tt * ex
                        qy = ay + tt * ey
                        q2 = qx * qx + qy * qy
                        if q2 > r2:
                            continue
                        val = dh / math.sqrt(max(q2, 1e-12))
                        if val > t[k]:
                            t[k] = val


@nb.njit(parallel=True, cache=True)
def _dem_kernel(px: np.ndarray, py: np.ndarray, pz: np.ndarray, dem: np.ndarray, inv: np.ndarray,
                radius: float, step: float, n_sectors: int, rays: int, curv: float,
                out: np.ndarray) -> None:  # pragma: no cover - compiled
    nrow, ncol = dem.shape
    w = 2.0 * math.pi / n_sectors
    for i in nb.prange(px.shape[0]):
        col = inv[0] * px[i] + inv[1] * py[i] + inv[2]
        row = inv[3] * px[i] + inv[4] * py[i] + inv[5]
        ic = int(math.floor(col))
        ir = int(math.floor(row))
        if ic < 0 or ic >= ncol or ir < 0 or ir >= nrow or not math.isfinite(dem[ir, ic]):
            continue  # no ground level: leave the terrain horizon at 0
        z0 = dem[ir, ic] + pz[i]
        for k in range(n_sectors):
            best = 0.0
            for r in range(rays):
                th = k * w - 0.5 * w + (r + 0.5) * w / rays
                sx = math.sin(th)
                sy = math.cos(th)
                s = step
                while s <= radius:
                    x = px[i] + s * sx
                    y = py[i] + s * sy
                    col = inv[0] * x + inv[1] * y + inv[2]
                    row = inv[3] * x + inv[4] * y + inv[5]
                    ic = int(math.floor(col))
                    ir = int(math.floor(row))
                    if ic < 0 or ic >= ncol or ir < 0 or ir >= nrow:
                        break
                    v = dem[ir, ic]
                    if math.isfinite(v):
                        tv = (v - z0 - curv * s * s) / s
                        best = max(best, tv)
                    s += step
            out[i, k] = best


# --------------------------------------------------------------------------- public API


def _as_points(points_xyz: npt.ArrayLike, where: str) -> np.ndarray:
    p = np.asarray(points_xyz, dtype="float64")
    if p.ndim != 2 or p.shape[1] != 3:
        msg = f"{where}: points_xyz must have shape (n, 3) [m], got {p.shape}"
        raise ConfigError(msg)
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        msg = (f"{where}: points_xyz rows {np.flatnonzero(bad)[:5].tolist()} are not finite; "
               "give x, y and height for every point")
        raise ConfigError(msg)
    return p


def _sector_boundaries(n_sectors: int) -> tuple[np.ndarray, np.ndarray]:
    w = 2.0 * math.pi / n_sectors
    ang = np.arange(n_sectors) * w - 0.5 * w  # lower boundary of each sector
    return np.sin(ang), np.cos(ang)


def horizon_profiles(points_xyz: npt.ArrayLike, obstacles: Obstacles, *, n_sectors: int = 36,
                     radius_m: float = 300.0, exclude: npt.ArrayLike | None = None,
                     cell_m: float | None = None) -> np.ndarray:
    """Horizon elevation angles of points among LOD1 blocks, per azimuth sector.

    Parameters
    ----------
    points_xyz : array_like, shape (n, 3)
        Point ``x``, ``y`` [m, projected CRS] and height above ground ``z`` [m] (a facet
        centre on its roof).
    obstacles : Obstacles
        The blocks (:func:`obstacles_from_polygons`), in the same CRS and height datum.
    n_sectors : int, default 36
        Number of azimuth sectors; must divide 360.
    radius_m : float, default 300.0
        Blocks (edge points) farther than this are ignored [m].
    exclude : array_like of int, shape (n,), optional
        Index of an obstacle to ignore for each point (its own building); -1 for none.
    cell_m : float, optional
        Grid-index cell size [m]; default ``radius_m / 6`` (at least 10 m).

    Returns
    -------
    ndarray, shape (n, n_sectors)
        Elevation angle of the horizon in each sector [°], >= 0. Sector ``k`` is
        centred on ``k · 360/n_sectors`` ° clockwise from north.

    Notes
    -----
    The result is exact for polygonal blocks: within a sector the nearest boundary
    point of each block is found in closed form, so it does not depend on any sampling
    step or on the order of the obstacles. Heights ``z`` and ``height_m`` share one
    datum (above local ground: a flat-earth assumption within ``radius_m``).

    References
    ----------
    .. [1] Šúri, M., Hofierka, J. (2004). Transactions in GIS 8(2), 175-190.
       https://doi.org/10.1111/j.1467-9671.2004.00174.x
    """
    where = "horizon_profiles"
    horizon_columns(n_sectors)  # validates n_sectors
    p = _as_points(points_xyz, where)
    n = len(p)
    if not (radius_m > 0):
        msg = f"{where}: radius_m={radius_m} must be > 0"
        raise ConfigError(msg)
    own = np.full(n, -1, dtype="int64") if exclude is None else np.asarray(exclude, "int64")
    if own.shape != (n,):
        msg = f"{where}: exclude must have one obstacle index per point ({n}), got {own.shape}"
        raise ConfigError(msg)
    out = np.zeros((n, int(n_sectors)), dtype="float64")
    if n == 0 or len(obstacles) == 0:
        return out

    bbox = obstacles.bbox
    ocx = 0.5 * (bbox[:, 0] + bbox[:, 2])
    ocy = 0.5 * (bbox[:, 1] + bbox[:, 3])
    orad = 0.5 * np.hypot(bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1])
    cell = float(cell_m) if cell_m else max(radius_m / 6.0, 10.0)
    x0 = min(ocx.min(), p[:, 0].min()) - cell
    y0 = min(ocy.min(), p[:, 1].min()) - cell
    nx = int((max(ocx.max(), p[:, 0].max()) - x0) // cell) + 2
    ny = int((max(ocy.max(), p[:, 1].max()) - y0) // cell) + 2
    ci = ((ocx - x0) // cell).astype("int64")
    cj = ((ocy - y0) // cell).astype("int64")
    cid = ci * ny + cj
    cell_items = np.argsort(cid, kind="stable").astype("int64")
    cell_start = np.zeros(nx * ny + 1, dtype="int64")
    np.cumsum(np.bincount(cid, minlength=nx * ny), out=cell_start[1:])
    # blocks are binned by bbox centre: search radius + the largest half-diagonal
    reach = radius_m + float(orad.max())
    r = int(math.ceil(reach / cell)) + 1
    di: np.ndarray
    dj: np.ndarray
    di, dj = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
    di = di.ravel()
    dj = dj.ravel()
    gap = np.hypot(np.maximum(np.abs(di) - 1, 0), np.maximum(np.abs(dj) - 1, 0)) * cell
    keep = gap <= reach
    order_off = np.argsort(gap[keep], kind="stable")
    off_i = di[keep][order_off].astype("int64")
    off_j = dj[keep][order_off].astype("int64")
    # visit points cell by cell for cache locality
    pcid = ((p[:, 0] - x0) // cell).astype("int64") * ny + ((p[:, 1] - y0) // cell)
    order = np.argsort(pcid, kind="stable").astype("int64")
    bsin, bcos = _sector_boundaries(int(n_sectors))
    _horizon_kernel(p[:, 0].copy(), p[:, 1].copy(), p[:, 2].copy(), own, order,
                    obstacles.edges, obstacles.edge_start, obstacles.height_m, bbox,
                    ocx, ocy, orad, cell_start, cell_items, float(x0), float(y0), cell,
                    nx, ny, off_i, off_j, float(radius_m), int(n_sectors), bsin, bcos, out)
    np.arctan(out, out=out)
    np.degrees(out, out=out)
    return out


def _affine_coefficients(transform: Affine | Sequence[float]) -> tuple[float, ...]:
    """(a, b, c, d, e, f) of an affine.Affine or a 6-sequence in that order."""
    if hasattr(transform, "a") and hasattr(transform, "f"):
        return tuple(float(getattr(transform, k)) for k in "abcdef")
    vals = tuple(float(v) for v in transform)
    if len(vals) < 6:
        msg = "horizon_from_dem: transform must be an affine.Affine or (a, b, c, d, e, f)"
        raise ConfigError(msg)
    return vals[:6]


def horizon_from_dem(points_xyz: npt.ArrayLike, dem: npt.ArrayLike, transform: Affine | Sequence[float], *,
                     n_sectors: int = 36, radius_m: float = 5000.0, step_m: float | None = None,
                     rays_per_sector: int = 3,
                     refraction_coefficient: float = REFRACTION_COEFFICIENT) -> np.ndarray:
    """Terrain horizon of points from a DEM, by ray marching in every sector.

    Parameters
    ----------
    points_xyz : array_like, shape (n, 3)
        Point ``x``, ``y`` [m, the DEM's projected CRS] and height above local ground
        ``z`` [m]; the DEM value at the point is added to get its elevation.
    dem : ndarray, shape (rows, cols)
        Ground elevation [m]; NaN marks no data (skipped).
    transform : affine.Affine or sequence of 6 float
        Pixel-to-map transform ``(a, b, c, d, e, f)``: ``x = a·col + b·row + c``,
        ``y = d·col + e·row + f`` (rasterio's ``dataset.transform``).
    n_sectors : int, default 36
        Number of azimuth sectors; must divide 360.
    radius_m : float, default 5000.0
        Ray length [m].
    step_m : float, optional
        Ray step [m]; default: one pixel (``sqrt(|a·e − b·d|)``).
    rays_per_sector : int, default 3
        Rays spread evenly across each sector; the sector keeps their maximum.
    refraction_coefficient : float, default 0.13
        Terrain at distance ``s`` drops by ``s²·(1 − k)/(2R)`` (Earth curvature with
        refraction) [fraction].

    Returns
    -------
    ndarray, shape (n, n_sectors)
        Terrain horizon elevation per sector [°], >= 0; 0 for points outside the DEM.

    Notes
    -----
    Cost grows as points × sectors × rays × (radius / step); for city-wide runs use a
    coarse DEM or evaluate representative points.

    References
    ----------
    .. [1] Šúri, M., Hofierka, J. (2004). Transactions in GIS 8(2), 175-190.
       https://doi.org/10.1111/j.1467-9671.2004.00174.x
    .. [2] Hirt, C. et al. (2010). J. Geophys. Res. 115, D21102.
       https://doi.org/10.1029/2010JD014067
    """
    where = "horizon_from_dem"
    horizon_columns(n_sectors)
    p = _as_points(points_xyz, where)
    z = np.asarray(dem, dtype="float64")
    if z.ndim != 2:
        msg = f"{where}: dem must be a 2-D array of elevations [m], got shape {z.shape}"
        raise ConfigError(msg)
    a, b, c, d, e, f = _affine_coefficients(transform)
    det = a * e - b * d
    if det == 0:
        msg = f"{where}: the transform {(a, b, c, d, e, f)} is singular"
        raise ConfigError(msg)
    inv = np.array([e / det, -b / det, (b * f - e * c) / det,
                    -d / det, a / det, (d * c - a * f) / det])
    step = float(step_m) if step_m else math.sqrt(abs(det))
    if step <= 0 or radius_m <= 0 or rays_per_sector < 1:
        msg = f"{where}: step_m, radius_m and rays_per_sector must be positive"
        raise ConfigError(msg)
    curv = (1.0 - refraction_coefficient) / (2.0 * EARTH_RADIUS_M)
    out = np.zeros((len(p), int(n_sectors)), dtype="float64")
    if len(p):
        _dem_kernel(p[:, 0].copy(), p[:, 1].copy(), p[:, 2].copy(), np.ascontiguousarray(z),
                    inv, float(radius_m), step, int(n_sectors), int(rays_per_sector), curv, out)
    np.arctan(out, out=out)
    np.degrees(out, out=out)
    return out


def facet_horizons(facets: pd.DataFrame, buildings: gpd.GeoDataFrame, *, n_sectors: int = 36,
                   radius_m: float = 300.0, dem: npt.ArrayLike | None = None,
                   dem_transform: Affine | Sequence[float] | None = None, dem_radius_m: float = 5000.0,
                   default_height_m: float = 10.0, storey_height_m: float = 3.0) -> pd.DataFrame:
    """Horizon columns for roof facets: neighbouring buildings, and terrain if a DEM is given.

    Parameters
    ----------
    facets : pandas.DataFrame
        Output of :func:`engines.pv.facets.roof_facets` (``building_id``, ``x_m``,
        ``y_m``, ``height_m``).
    buildings : geopandas.GeoDataFrame
        The buildings layer the facets came from, in the same projected CRS; every
        building is an obstacle (LOD1 block at ``height_m``; NaN heights defaulted as in
        :func:`~engines.pv.facets.roof_facets`); each facet ignores its own building.
    n_sectors : int, default 36
        Number of azimuth sectors; must divide 360.
    radius_m : float, default 300.0
        Search radius for obstructing buildings [m].
    dem : ndarray, optional
        Ground elevation [m] in the buildings' CRS; with ``dem_transform`` adds the
        terrain horizon (maximum of the two).
    dem_transform : affine.Affine or sequence of 6 float, optional
        Transform of ``dem``.
    dem_radius_m : float, default 5000.0
        Ray length for the terrain horizon [m].
    default_height_m, storey_height_m : float
        Fill for buildings without ``height_m`` [m].

    Returns
    -------
    pandas.DataFrame
        Same index as ``facets``; columns :func:`horizon_columns` [°].

    Raises
    ------
    SchemaError
        Missing facet columns, facets of unknown buildings, or a bad buildings layer.

    Notes
    -----
    Pitched buildings obstruct as blocks at their ridge height (an overestimate of
    the shade they cast).
    """
    where = "facet_horizons"
    cols = horizon_columns(n_sectors)
    need = ["building_id", "x_m", "y_m", "height_m"]
    require_columns(facets, need, f"{where} (facets)",
                    "pass the frame returned by engines.pv.facets.roof_facets")
    check_buildings(buildings, where)
    heights, _ = building_heights(buildings, default_height_m, storey_height_m)
    obstacles = obstacles_from_polygons(buildings.geometry.values, heights)
    pos = pd.Series(np.arange(len(buildings), dtype="int64"),
                    index=buildings["building_id"].astype(str).to_numpy())
    fb = facets["building_id"].astype(str).to_numpy()
    where_ = pos.index.get_indexer(fb)  # hash lookup; np.isin sorts object arrays (slow)
    unknown = where_ < 0
    if unknown.any():
        msg = (f"{where}: {int(unknown.sum())} facet(s) belong to buildings not in the "
               f"buildings layer, e.g. {sorted(set(fb[unknown]))[:5]}; pass the same layer "
               "given to roof_facets")
        raise SchemaError(msg)
    own = pos.to_numpy()[where_]
    pts = facets[["x_m", "y_m", "height_m"]].to_numpy(dtype="float64")
    elev = horizon_profiles(pts, obstacles, n_sectors=n_sectors, radius_m=radius_m,
                            exclude=own)
    if dem is not None:
        if dem_transform is None:
            msg = f"{where}: a dem needs its dem_transform (rasterio dataset.transform)"
            raise ConfigError(msg)
        terrain = horizon_from_dem(pts, dem, dem_transform, n_sectors=n_sectors,
                                   radius_m=dem_radius_m)
        np.maximum(elev, terrain, out=elev)
    return pd.DataFrame(elev, index=facets.index, columns=cols)
