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
point of the block's footprint boundary in that direction. Two modes:

* sector maximum (``samples_per_sector=0``), exact: every footprint edge is clipped
  to the sector's wedge and the distance to the clipped edge minimised in closed
  form. Conservative: a block covering part of a sector raises all of it (one 20 m
  block 15 m south of a 5 m facet: 12.6 % of the beam blocked against 8.2 % by an
  exact 3-D ray test);
* sampled (the rooftop engine's mode, :data:`SAMPLES_PER_SECTOR` = 10): the exact
  horizon at 10 azimuths per sector (ray-edge intersections), merged with the row
  mask of racked facets, and matched to one sector value with the site's sun table
  (:func:`sun_table`): the value blocks the same clear-sky beam, at the hourly sun
  positions the yield engine uses, as the samples do (within 1 percentage point of
  the ray test in the tests' cases; 8.3 % in the case above). Where any value in an
  interval blocks the same beam (the sun never shines from below it) the one nearest
  the samples' mean is kept, for the sky view.

A uniform grid index finds the blocks within ``radius_m``, visited nearest cell
first, and blocks that cannot raise any sector (sample) they span are skipped, as are
(sampled mode) footprint edges facing away from a point outside the block's box; both
modes share one compiled grid walk, run in parallel over points (``numba``'s thread
count: a batch worker sets it to its threads).

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

import functools
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
    "row_masking_angles",
    "SunTable",
    "sun_table",
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
    edge_side : ndarray, shape (n_edges,), optional
        +1 where the footprint lies on the left of the edge ``x0, y0 -> x1, y1``, -1 where
        on the right; lets the sampled kernel skip edges that face away from a point
        outside the block's box (a ray enters a block through an edge facing it first).
        ``None``: no edge is skipped.
    """

    edges: np.ndarray
    edge_start: np.ndarray
    height_m: np.ndarray
    bbox: np.ndarray
    edge_side: np.ndarray | None = None

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
    # footprint side of each edge: exterior rings and holes by their signed area (shoelace)
    edge_ring = coord_ring[:-1][same]
    cross = edges[:, 0] * edges[:, 3] - edges[:, 2] * edges[:, 1]
    ccw = np.bincount(edge_ring, weights=cross, minlength=len(rings)) > 0.0
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_part[1:] != ring_part[:-1]  # get_rings lists each part's exterior first
    side = np.where(exterior == ccw, 1.0, -1.0)[edge_ring]
    counts = np.bincount(edge_obs, minlength=n)
    edge_start = np.zeros(n + 1, dtype="int64")
    np.cumsum(counts, out=edge_start[1:])
    bbox = shapely.bounds(geoms).astype("float64")
    return Obstacles(np.ascontiguousarray(edges), edge_start, h.copy(), bbox, side)


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


@nb.njit(inline="always", cache=True)
def _edge_sector_max(t: np.ndarray, ax: float, ay: float, bx: float, by: float, dh: float, r2: float,
                     w: float, half: float, n_sectors: int, bsin: np.ndarray,
                     bcos: np.ndarray) -> None:  # pragma: no cover - compiled
    """Raise each sector's maximum ``tan`` elevation ``t[k]`` by the edge ``a -> b`` (relative to the point).

    The nearest point of the edge within each sector's wedge, in closed form.
    """
    ex = bx - ax
    ey = by - ay
    ee = ex * ex + ey * ey
    if ee <= 0.0:
        return
    t0 = -(ax * ex + ay * ey) / ee
    tc = min(max(t0, 0.0), 1.0)
    qx = ax + tc * ex
    qy = ay + tc * ey
    ds2 = qx * qx + qy * qy
    if ds2 > r2 or ds2 < 1e-12:
        return
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


@nb.njit(inline="always", cache=True)
def _edge_samples(t: np.ndarray, ax: float, ay: float, bx: float, by: float, dh: float, r2: float,
                  half: float, ws: float, m_tot: int, ssin: np.ndarray, scos: np.ndarray,
                  side: float) -> None:  # pragma: no cover - compiled
    """Raise the ``tan`` elevation ``t[m]`` of each sample azimuth the edge ``a -> b`` spans.

    Ray-edge intersection along sample ``m``'s azimuth (exact). ``side`` (+1: the block
    on the left of ``a -> b``, -1: on the right, 0: unknown) skips an edge that faces
    away from the point: a ray from outside meets an edge facing it first, nearer.
    """
    ex = bx - ax
    ey = by - ay
    cae = ax * ey - ay * ex  # cross(a, e): the ray meets the edge at s = cae / cross(d, e)
    if side * cae > 0.0:
        return  # the point is on the block's side of this edge
    az_a = math.atan2(ax, ay)
    delta = math.atan2(bx, by) - az_a
    if delta > math.pi:
        delta -= 2.0 * math.pi
    elif delta <= -math.pi:
        delta += 2.0 * math.pi
    if delta < 0.0:  # walk clockwise from a to b
        az_a += delta
        delta = -delta
    if delta < 1e-12:
        return  # radial edge: the other edges bound the block
    ee = ex * ex + ey * ey
    tc = min(max(-(ax * ex + ay * ey) / ee, 0.0), 1.0)
    qx = ax + tc * ex
    qy = ay + tc * ey
    ds2 = qx * qx + qy * qy
    if ds2 > r2 or ds2 < 1e-12:
        return  # as the sector maximum: an edge within 1e-6 m of the point is the point's own wall
    ub_e = dh / math.sqrt(ds2)  # no sample can see this edge higher
    m0 = int(math.ceil((az_a + half) / ws - 0.5))
    m1 = int(math.floor((az_a + delta + half) / ws - 0.5))
    for mm in range(m0, m1 + 1):
        m = mm % m_tot
        if t[m] >= ub_e:
            continue
        cde = ssin[m] * ey - scos[m] * ex
        if cde == 0.0:
            continue
        s = cae / cde
        if s <= 1e-9 or s * s > r2:
            continue
        val = dh / s
        if val > t[m]:
            t[m] = val


@nb.njit(inline="always", cache=True)
def _match_sectors(i: int, t: np.ndarray, n_sectors: int, samples: int, ssin: np.ndarray, scos: np.ndarray,
                   row_tan: np.ndarray, row_sin: np.ndarray, row_cos: np.ndarray, scdf: np.ndarray,
                   swt: np.ndarray, cdf: np.ndarray, cdf_step: float,
                   out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Sector values of point ``i`` matched to its sampled ``tan`` elevations ``t`` (° into ``out[i]``).

    A row mask ``atan(row_tan · max(cos(φ − row_az), 0))`` is merged per sample. Sector
    ``k`` gets ``F_k⁻¹(mean_j F_k(h_j))`` with ``F_k`` the sun-elevation CDF of the sector
    tabulated every ``cdf_step`` degrees from 0 to 90.
    """
    n_grid = cdf.shape[1]
    n_slant = row_tan.shape[1]
    racked = row_tan[i, 0] > 0.0
    last_v = -1.0  # tan elevations repeat (open sky, a row hidden behind a block): one atan each
    last_hd = 0.0
    for k in range(n_sectors):
        acc = 0.0
        wsum = 0.0
        hsum = 0.0
        for j in range(samples):
            m = k * samples + j
            cosd = scos[m] * row_cos[i] + ssin[m] * row_sin[i]  # cos(φ − row azimuth)
            reps = n_slant if racked else 1
            fs = 0.0
            for q in range(reps):
                v = t[m]
                if racked:
                    rv = row_tan[i, q] * cosd
                    if rv > v:
                        v = rv
                if v != last_v:
                    last_hd = math.degrees(math.atan(v))
                    last_v = v
                hd = last_hd
                hsum += hd / reps
                g = hd / cdf_step  # F_m at this elevation
                gi = min(int(g), n_grid - 2)
                fs += scdf[m, gi] + (g - gi) * (scdf[m, gi + 1] - scdf[m, gi])
            acc += swt[m] * fs / reps
            wsum += swt[m]
        target = acc / wsum - 1e-12  # rounding must not carry it past a flat stretch of F_k
        mean_h = hsum / samples
        # [c_lo, c_hi]: the elevations with F_k = target (F_k is non-decreasing); any of
        # them blocks the same beam: take the one nearest the plain mean (sky view)
        lo = 0
        hi = n_grid - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if cdf[k, mid] >= target:
                hi = mid
            else:
                lo = mid + 1
        if lo == 0 or target <= 0.0:
            c_lo = 0.0
        else:
            f0 = cdf[k, lo - 1]
            f1 = cdf[k, lo]
            frac = (target - f0) / (f1 - f0) if f1 > f0 else 1.0
            c_lo = (lo - 1 + frac) * cdf_step
        top = lo
        while top + 1 < n_grid and cdf[k, top + 1] <= target + 2e-12:
            top += 1
        c_hi = top * cdf_step if cdf[k, top] <= target + 2e-12 else c_lo
        out[i, k] = min(max(mean_h, c_lo), max(c_hi, c_lo))


@nb.njit(parallel=True, cache=True)
def _horizon_walk(px: np.ndarray, py: np.ndarray, pz: np.ndarray, own: np.ndarray, order: np.ndarray,
                  edges: np.ndarray, edge_start: np.ndarray, edge_side: np.ndarray, heights: np.ndarray,
                  bbox: np.ndarray, ocx: np.ndarray, ocy: np.ndarray, orad: np.ndarray,
                  cell_start: np.ndarray, cell_items: np.ndarray, x0: float, y0: float, cell: float,
                  nx: int, ny: int, off_i: np.ndarray, off_j: np.ndarray, radius: float,
                  n_sectors: int, samples: int,
                  bsin: np.ndarray, bcos: np.ndarray, ssin: np.ndarray, scos: np.ndarray,
                  row_tan: np.ndarray, row_sin: np.ndarray, row_cos: np.ndarray, scdf: np.ndarray,
                  swt: np.ndarray, cdf: np.ndarray, cdf_step: float,
                  out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The one grid walk of both modes: blocks near each point, nearest cell first.

    ``samples == 0``: each sector's maximum ``tan`` elevation into ``out[i]``
    (:func:`_edge_sector_max`, sector boundaries ``bsin``, ``bcos``). ``samples >= 1``:
    the exact ``tan`` elevation at ``samples`` azimuths per sector (sample ``m`` looks
    along ``(m + 0.5)·w/samples − w/2``, ``ssin``, ``scos``; :func:`_edge_samples`),
    matched to one value per sector in ° (:func:`_match_sectors`). A block is skipped
    when, by its bounding circle, it cannot raise any sector (sample) it spans; in the
    sampled mode, edges facing away from a point outside the block's box too
    (``edge_side``; zeros: none).
    """
    w = 2.0 * math.pi / n_sectors
    half = 0.5 * w
    exact = samples == 0
    m_tot = n_sectors if exact else n_sectors * samples
    ws = w if exact else w / samples
    r2 = radius * radius
    n_off = off_i.shape[0]
    for ii in nb.prange(order.shape[0]):
        i = order[ii]
        x = px[i]
        y = py[i]
        z = pz[i]
        t = out[i] if exact else np.zeros(m_tot)
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
                # can this block raise any sector (sample) it spans? (bounding-circle span)
                ccx = ocx[ob] - x
                ccy = ocy[ob] - y
                dc = math.sqrt(ccx * ccx + ccy * ccy)
                if d2 > 0.0 and dc > orad[ob] * 1.000001:
                    ub = dh / math.sqrt(d2)
                    az = math.atan2(ccx, ccy)
                    hw = math.asin(orad[ob] / dc)
                    if exact:  # sectors whose wedge the circle touches
                        m0 = int(math.floor((az - hw + half) / w))
                        m1 = int(math.floor((az + hw + half) / w))
                    else:  # samples whose azimuth the circle spans
                        m0 = int(math.ceil((az - hw + half) / ws - 0.5))
                        m1 = int(math.floor((az + hw + half) / ws - 0.5))
                    useful = False
                    for mm in range(m0, m1 + 1):
                        if t[mm % m_tot] < ub:
                            useful = True
                            break
                    if not useful:
                        continue
                cull = 0.0 if d2 <= 0.0 else 1.0  # outside the box: outside the footprint
                for e in range(edge_start[ob], edge_start[ob + 1]):
                    ax = edges[e, 0] - x
                    ay = edges[e, 1] - y
                    bx = edges[e, 2] - x
                    by = edges[e, 3] - y
                    if exact:
                        _edge_sector_max(t, ax, ay, bx, by, dh, r2, w, half, n_sectors, bsin, bcos)
                    else:
                        _edge_samples(t, ax, ay, bx, by, dh, r2, half, ws, m_tot, ssin, scos,
                                      cull * edge_side[e])
        if not exact:
            _match_sectors(i, t, n_sectors, samples, ssin, scos, row_tan, row_sin, row_cos, scdf, swt,
                           cdf, cdf_step, out)


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


#: Exact horizon samples per sector in :func:`facet_horizons` (1 ° apart in 10 ° sectors).
SAMPLES_PER_SECTOR = 10
#: Points up a racked module at which the row mask is evaluated (the shaded share of the
#: module is the share of them masked: ``pvlib.shading.shaded_fraction1d``).
ROW_SLANT_POINTS = 8
#: Elevation step of the sun-elevation CDF tables [°].
CDF_STEP_DEG = 0.25


@dataclass(frozen=True)
class SunTable:
    """Where the sun shines from, per horizon sample: what matches a sector value to the samples.

    Attributes
    ----------
    sample_cdf : ndarray, shape (n_sectors * samples, 361)
        ``F_m(e)``: share of the sun-weight of sub-sector ``m`` that arrives with the sun
        below elevation ``e = 0, 0.25, ..., 90`` °.
    sample_weight : ndarray, shape (n_sectors * samples,)
        Sun-weight of each sub-sector (clear-sky direct normal irradiation, relative).
    sector_cdf : ndarray, shape (n_sectors, 361)
        ``F_k``: the weighted mean of its sub-sectors' ``F_m``.
    """

    sample_cdf: np.ndarray
    sample_weight: np.ndarray
    sector_cdf: np.ndarray


@functools.lru_cache(maxsize=16)
def _sun_table_cached(site: tuple[float, float, float] | None, n_sectors: int, samples: int) -> SunTable:
    grid = np.arange(0.0, 90.0 + CDF_STEP_DEG / 2, CDF_STEP_DEG)
    m_tot = n_sectors * samples
    cdf = np.tile(grid / 90.0, (m_tot, 1))
    weight = np.zeros(m_tot)
    if site is not None:
        import pvlib

        lat, lon, utc_offset_h = site
        clock = pd.date_range("2021-01-01 00:30", periods=8760, freq="h")  # interval middles
        times = clock - pd.Timedelta(hours=utc_offset_h)
        sp = pvlib.solarposition.get_solarposition(times.tz_localize("UTC"), lat, lon)
        elev = sp["apparent_elevation"].to_numpy()
        up = elev > 0.0
        elev = elev[up]
        az = sp["azimuth"].to_numpy()[up]
        am = np.asarray(pvlib.atmosphere.get_relative_airmass(90.0 - elev))
        wt = 1353.0 * 0.7 ** (am ** 0.678)  # clear-sky DNI, Meinel & Meinel (1976)
        ws = 360.0 / m_tot
        sub = np.floor((az + 180.0 / n_sectors) / ws).astype("int64") % m_tot
        edges = np.append(grid, 90.0 + CDF_STEP_DEG)
        for m in np.unique(sub):
            sel = sub == m
            hist, _ = np.histogram(elev[sel], bins=edges, weights=wt[sel])
            cdf[m] = np.concatenate([[0.0], np.cumsum(hist)[:-1]]) / hist.sum()
            cdf[m, -1] = 1.0
            weight[m] = hist.sum()
    per_sector = weight.reshape(n_sectors, samples)
    dark = per_sector.sum(axis=1) <= 0.0  # the sun never shines from here: the plain mean
    per_sector[dark] = 1.0
    weight = per_sector.ravel()
    for k in np.flatnonzero(dark):
        cdf[k * samples:(k + 1) * samples] = grid / 90.0
    wk = per_sector / per_sector.sum(axis=1, keepdims=True)
    sector = np.einsum("kj,kjg->kg", wk, cdf.reshape(n_sectors, samples, -1))
    sector[:, -1] = 1.0
    for arr in (cdf, weight, sector):
        arr.flags.writeable = False
    return SunTable(cdf, weight, sector)


def sun_table(n_sectors: int = 36, samples_per_sector: int = 10, *, latitude_deg: float | None = None,
              longitude_deg: float = 0.0, utc_offset_h: float = 0.0) -> SunTable:
    """Sun-weight and sun-elevation distribution of each horizon sample of a site.

    The hours are those the yield engine evaluates: the middles of the hourly
    intervals of a (non-leap) year on the site's clock (:mod:`engines.pv.yield_`,
    ``label='start'``). Each daylight hour is weighted by clear-sky direct normal
    irradiance ``1353 · 0.7^(AM^0.678)`` W/m² (Meinel & Meinel 1976, Kasten-Young air
    mass) and assigned to the sub-sector of its azimuth.

    Parameters
    ----------
    n_sectors : int, default 36
        Number of azimuth sectors; must divide 360.
    samples_per_sector : int, default 10
        Sub-sectors per sector.
    latitude_deg : float, optional
        Site latitude [°]; ``None`` gives every sample equal weight and a uniform
        elevation distribution (a sector's value is then the plain mean of its samples).
    longitude_deg : float, default 0.0
        Site longitude [°, east positive].
    utc_offset_h : float, default 0.0
        Offset of the site's clock from UTC [h] (``+8`` for China Standard Time).

    Returns
    -------
    SunTable
    """
    horizon_columns(n_sectors)
    if latitude_deg is None:
        site = None
    else:
        site = (round(float(latitude_deg), 3), round(float(longitude_deg), 3), float(utc_offset_h))
        if not (-90.0 <= site[0] <= 90.0 and -180.0 <= site[1] <= 360.0 and -14 <= site[2] <= 14):
            msg = (f"sun_table: latitude {latitude_deg}, longitude {longitude_deg} or UTC offset "
                   f"{utc_offset_h} h out of range")
            raise ConfigError(msg)
    return _sun_table_cached(site, int(n_sectors), int(samples_per_sector))


def _row_mask(n: int, masking_deg: npt.ArrayLike | None, azimuth_deg: npt.ArrayLike | None, samples: int,
              where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tan(masking angles) (n, Q), sin and cos of the row azimuth per point (zeros without rows)."""
    if masking_deg is None:
        z = np.zeros(n)
        return np.zeros((n, 1)), z, z
    psi = np.nan_to_num(np.asarray(masking_deg, dtype="float64"), nan=0.0)
    if psi.ndim == 1:
        psi = psi[:, None]
    if azimuth_deg is None or psi.ndim != 2 or psi.shape[0] != n or np.shape(azimuth_deg) != (n,):
        msg = (f"{where}: row_masking_deg needs shape ({n},) or ({n}, Q) and row_azimuth_deg ({n},), got "
               f"{psi.shape} and {np.shape(azimuth_deg) if azimuth_deg is not None else None}")
        raise ConfigError(msg)
    if samples < 1:
        msg = f"{where}: a row mask needs samples_per_sector >= 1 (got {samples})"
        raise ConfigError(msg)
    if np.any((psi < 0) | (psi >= 90)):
        msg = f"{where}: row_masking_deg must lie in [0, 90) [°]"
        raise ConfigError(msg)
    az = np.radians(np.asarray(azimuth_deg, dtype="float64"))
    if not np.all(np.isfinite(az)):
        msg = f"{where}: row_azimuth_deg must be finite [°]"
        raise ConfigError(msg)
    return np.ascontiguousarray(np.tan(np.radians(psi))), np.sin(az), np.cos(az)


def _sector_boundaries(n_sectors: int) -> tuple[np.ndarray, np.ndarray]:
    w = 2.0 * math.pi / n_sectors
    ang = np.arange(n_sectors) * w - 0.5 * w  # lower boundary of each sector
    return np.sin(ang), np.cos(ang)


@dataclass(frozen=True)
class _Grid:
    """Uniform grid index of the blocks (binned by bounding-box centre) and the points' visiting order."""

    ocx: np.ndarray
    ocy: np.ndarray
    orad: np.ndarray
    cell_start: np.ndarray
    cell_items: np.ndarray
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    off_i: np.ndarray
    off_j: np.ndarray
    order: np.ndarray


def _grid_index(p: np.ndarray, obstacles: Obstacles, radius_m: float, cell_m: float | None) -> _Grid:
    """Bin the blocks into cells of ``cell_m`` [m] (default ``radius_m / 6``, >= 10) and order the points.

    ``off_i``, ``off_j``: the cell offsets within reach (``radius_m`` + the largest
    half-diagonal), nearest first; ``order``: the points cell by cell (cache locality).
    """
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
    pcid = ((p[:, 0] - x0) // cell).astype("int64") * ny + ((p[:, 1] - y0) // cell)
    order = np.argsort(pcid, kind="stable").astype("int64")
    return _Grid(ocx, ocy, orad, cell_start, cell_items, float(x0), float(y0), cell, nx, ny, off_i, off_j,
                 order)


def horizon_profiles(points_xyz: npt.ArrayLike, obstacles: Obstacles, *, n_sectors: int = 36,
                     radius_m: float = 300.0, exclude: npt.ArrayLike | None = None,
                     cell_m: float | None = None, samples_per_sector: int = 0,
                     row_masking_deg: npt.ArrayLike | None = None,
                     row_azimuth_deg: npt.ArrayLike | None = None,
                     sun: SunTable | None = None) -> np.ndarray:
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
    samples_per_sector : int, default 0
        0: each sector holds its exact **maximum** horizon (conservative: a block that
        covers part of a sector raises all of it). ``S >= 1``: the exact horizon at
        ``S`` evenly spaced azimuths (midpoints of ``S`` equal sub-sectors) is matched to
        one value per sector that blocks the same beam (see Notes), which the yield
        engine's one-value-per-sector lookup turns into a beam loss close to an exact
        3-D ray test.
    row_masking_deg : array_like, shape (n,) or (n, Q), optional
        Masking angle ψ [°] of a row of modules in front of each point, measured
        perpendicular to the rows (:func:`pvlib.shading.masking_angle`), at one or ``Q``
        points up the module (:func:`row_masking_angles`); 0 for none. The infinitely
        long row's top edge is seen at ``atan(tan ψ · cos(φ − A))`` in azimuth ``φ``
        within 90 ° of the row normal ``A`` and is merged (maximum) with the blocks'
        horizon sample by sample; a sample blocks the share of the ``Q`` points masked.
        Needs ``samples_per_sector >= 1``.
    row_azimuth_deg : array_like, shape (n,), optional
        Azimuth ``A`` the rows face [°, clockwise from north]; required with
        ``row_masking_deg``.
    sun : SunTable, optional
        Sun-weight per sample of the site (:func:`sun_table` with the same
        ``n_sectors`` and ``samples_per_sector``); default: equal weights (sector means).

    Returns
    -------
    ndarray, shape (n, n_sectors)
        Elevation angle of the horizon in each sector [°], >= 0. Sector ``k`` is
        centred on ``k · 360/n_sectors`` ° clockwise from north.

    Notes
    -----
    Both modes are exact for polygonal blocks along the azimuths they look at: the
    sector maximum is found in closed form (nearest boundary point within the wedge),
    a sample by intersecting its ray with every footprint edge; neither depends on
    the order of the obstacles. Heights ``z`` and ``height_m`` share one datum (above
    local ground: a flat-earth assumption within ``radius_m``).

    The sampled sector value: the yield engine blocks the sun when its elevation is
    below the value of the sun's sector. With ``F_m(e)`` the share of sub-sector
    ``m``'s sun-weight arriving below elevation ``e`` (``sun``, :func:`sun_table`) the
    samples block ``Σ_m w_m F_m(h_m)`` and a sector value ``c`` blocks ``F_k(c)``; the
    kernel returns the ``c`` that makes the two equal (rounded to the table's 0.25 °),
    and where a whole interval of ``c`` does (no sun from those elevations) the one
    nearest the samples' mean. Without ``sun`` every sample weighs alike with a uniform
    ``F``: the sector value is the samples' mean. The sector maximum overstates the beam
    loss (one 20 m block 15 m south of a 5 m high point: 12.6 % of the annual beam on a
    20 ° south facet blocked against 8.2 % by a ray test; the sampled value gives 8.3 %).

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
    samples = int(samples_per_sector)
    if samples < 0 or samples != samples_per_sector:
        msg = f"{where}: samples_per_sector={samples_per_sector} must be a whole number >= 0"
        raise ConfigError(msg)
    row_tan, row_sin, row_cos = _row_mask(n, row_masking_deg, row_azimuth_deg, samples, where)
    if samples:
        table = sun if sun is not None else sun_table(int(n_sectors), samples)
        if table.sample_weight.shape != (int(n_sectors) * samples,):
            msg = (f"{where}: the sun table has {table.sample_weight.shape[0]} samples, not "
                   f"n_sectors x samples_per_sector = {int(n_sectors) * samples}; build it with "
                   "sun_table(n_sectors, samples_per_sector, ...)")
            raise ConfigError(msg)
    out = np.zeros((n, int(n_sectors)), dtype="float64")
    if n == 0:
        return out
    if len(obstacles) == 0:
        if not (samples and row_tan.any()):
            return out
        x, y = p[0, 0], p[0, 1]  # rows only: one block of zero height, which never shades
        obstacles = obstacles_from_polygons([shapely.box(x, y, x + 1.0, y + 1.0)], [0.0])

    g = _grid_index(p, obstacles, radius_m, cell_m)
    if samples:
        w = 2.0 * math.pi / int(n_sectors)
        phi = (np.arange(int(n_sectors) * samples) + 0.5) * (w / samples) - 0.5 * w
        ssin, scos = np.sin(phi), np.cos(phi)
        bsin = bcos = np.zeros(0)
        scdf, swt, cdf = table.sample_cdf, table.sample_weight, table.sector_cdf
    else:
        bsin, bcos = _sector_boundaries(int(n_sectors))
        ssin = scos = swt = np.zeros(0)
        scdf = cdf = np.zeros((0, 2))
    side = obstacles.edge_side
    if side is None or side.shape != (len(obstacles.edges),):
        side = np.zeros(len(obstacles.edges))
    _horizon_walk(p[:, 0].copy(), p[:, 1].copy(), p[:, 2].copy(), own, g.order,
                  obstacles.edges, obstacles.edge_start, side, obstacles.height_m, obstacles.bbox,
                  g.ocx, g.ocy, g.orad, g.cell_start, g.cell_items, g.x0, g.y0, g.cell,
                  g.nx, g.ny, g.off_i, g.off_j, float(radius_m), int(n_sectors), samples,
                  bsin, bcos, ssin, scos, row_tan, row_sin, row_cos, scdf, swt, cdf, CDF_STEP_DEG, out)
    if samples:
        return out
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


def row_masking_angles(facets: pd.DataFrame, n_slant: int = ROW_SLANT_POINTS) -> np.ndarray:
    """Masking angles of the row in front of each racked facet, at points up its modules [°].

    A facet with ``ground_coverage_ratio < 1`` (and tilt > 0) is a field of parallel rows
    tilted at ``surface_tilt`` facing ``surface_azimuth``. The row in front masks a point
    at slant position ``s`` (share of the module's slant length from its lower edge) up
    to :func:`pvlib.shading.masking_angle` perpendicular to the rows [1]_. Points at the
    ``n_slant`` midpoints ``s = (q + 0.5) / n_slant``: a beam blocked at a share of them
    is the shaded share of the module (the linear shaded fraction of
    :func:`pvlib.shading.shaded_fraction1d`). Every row is treated as having a row in
    front (the first row of a roof is not masked: the loss is overstated by a share
    ``1 / n_rows``).

    Returns
    -------
    ndarray, shape (n, n_slant)
        Masking angles [°], bottom point first; 0 for flush-mounted facets.

    References
    ----------
    .. [1] Passias, D., Källbäck, B. (1984). Shading effects in rows of solar cell
       panels. Solar Cells 11(3), 281-291. https://doi.org/10.1016/0379-6787(84)90017-6
    """
    import pvlib

    out = np.zeros((len(facets), int(n_slant)))
    if "ground_coverage_ratio" not in facets.columns:
        return out
    gcr = facets["ground_coverage_ratio"].to_numpy(dtype="float64")
    tilt = facets["surface_tilt"].to_numpy(dtype="float64")
    racked = np.isfinite(gcr) & (gcr > 0.0) & (gcr < 1.0) & (tilt > 0.0)
    if racked.any():
        slant = (np.arange(int(n_slant)) + 0.5) / int(n_slant)
        out[racked] = pvlib.shading.masking_angle(tilt[racked, None], gcr[racked, None], slant[None, :])
    return out


def facet_horizons(facets: pd.DataFrame, buildings: gpd.GeoDataFrame, *, n_sectors: int = 36,
                   radius_m: float = 300.0, dem: npt.ArrayLike | None = None,
                   dem_transform: Affine | Sequence[float] | None = None, dem_radius_m: float = 5000.0,
                   default_height_m: float = 10.0, storey_height_m: float = 3.0,
                   samples_per_sector: int = SAMPLES_PER_SECTOR, sun: SunTable | None = None,
                   row_shading: bool = True) -> pd.DataFrame:
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
    samples_per_sector : int, default :data:`SAMPLES_PER_SECTOR`
        Exact horizon samples per sector, matched to one sector value
        (:func:`horizon_profiles`); 0 keeps each sector's maximum.
    sun : SunTable, optional
        The site's sun table (:func:`sun_table`); default: equal weights (sector means).
    row_shading : bool, default True
        Add the masking of the row in front to racked facets
        (``ground_coverage_ratio < 1``, :func:`row_masking_angles`), in the directions
        they face; needs ``samples_per_sector >= 1``.

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
    rows = None
    if row_shading and samples_per_sector:
        rows = row_masking_angles(facets)
    elev = horizon_profiles(pts, obstacles, n_sectors=n_sectors, radius_m=radius_m,
                            exclude=own, samples_per_sector=samples_per_sector,
                            row_masking_deg=rows,
                            row_azimuth_deg=None if rows is None else facets["surface_azimuth"].to_numpy(),
                            sun=sun)
    if dem is not None:
        if dem_transform is None:
            msg = f"{where}: a dem needs its dem_transform (rasterio dataset.transform)"
            raise ConfigError(msg)
        terrain = horizon_from_dem(pts, dem, dem_transform, n_sectors=n_sectors,
                                   radius_m=dem_radius_m)
        np.maximum(elev, terrain, out=elev)
    return pd.DataFrame(elev, index=facets.index, columns=cols)
