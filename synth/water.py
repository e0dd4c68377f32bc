"""The water layer: big water (lakes, West Lake, rivers, reservoirs) and fishery ponds.

Big water comes first (every later step keeps clear of it): MODIS water cells
(IGBP 0) become lakes, named 千岛湖 in Chun'an 330127 and 太湖 in northern
Huzhou; a city with none of these gets one seeded unnamed river (:func:`_generic_river`);
West Lake 西湖 is an ellipse of :data:`synth.tables.WEST_LAKE`; the
Qiantang River and the Grand Canal are buffered approximate centre lines
(:data:`synth.tables.RIVERS`); mountain counties get 2-5 seeded reservoirs on
forest or shrub cells. Ponds come after the buildings: clusters of rectangular
fishery ponds in aquaculture districts, :data:`PONDS_PER_BUILDING` per building
of the city, away from settlements, buildings and parks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

import synth.tables as T
from synth.context import Context, frame, largest_remainder, locate, polygonal, rect_coords

__all__ = ["POND_CODES", "POND_CODES_ALSO", "PONDS_PER_BUILDING", "BigWater", "Ponds", "big_water",
           "ponds", "water_layer"]

logger = logging.getLogger(__name__)

PONDS_PER_BUILDING = 0.03
#: pond sites: preferred IGBP codes (cropland, mosaic, wetland) and also allowed ones (urban
#: and savanna cells of the plains, which at 0.05 degree hide peri-urban fish-pond belts)
POND_CODES = (11, 12, 14)
POND_CODES_ALSO = (13, 9, 10)


@dataclass
class BigWater:
    """Lakes, rivers and reservoirs.

    Attributes
    ----------
    rows : list of tuple
        ``(geometry, water_type, name, is_protected, is_drinking_source)`` per water body.
    polys : ndarray of shapely geometries
        The geometries of ``rows``.
    tree : shapely.STRtree
        Index of ``polys``.
    union : list of shapely geometries
        Per district, the (prepared) union of the water bodies touching it.
    """

    rows: list
    polys: np.ndarray
    tree: shapely.STRtree
    union: list


@dataclass
class Ponds:
    """Fishery ponds: polygons, district index and pit-pond flag, one entry per pond."""

    polys: np.ndarray
    dist: np.ndarray
    pit: np.ndarray


def big_water(ctx: Context) -> BigWater:
    """Make the big water of the city: lakes, West Lake, rivers and mountain reservoirs.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``"water"``, one per district).

    Returns
    -------
    BigWater
        The water bodies and, per district, their union.
    """
    g = ctx.grid
    rows = []  # (geometry, type, name, protected, drinking)
    wmask = g.cell_code == 0
    if wmask.any():
        lakes = shapely.union_all(g.cell_poly[wmask])
        for k, dist in enumerate(ctx.geoms):
            piece = polygonal(shapely.intersection(lakes, dist))
            if piece is None:
                continue
            for p in shapely.get_parts(piece):
                if p.area < 1e4:
                    continue
                _, lat = g.lonlat([p.centroid.x], [p.centroid.y])
                name, drink = "", False
                if ctx.adc[k] == "330127":
                    name, drink = "千岛湖 Qiandao Lake", True
                elif ctx.adc[k].startswith("3305") and lat[0] > 30.85:
                    name = "太湖 Taihu"
                rows.append((p, "lake", name, False, drink))
    (lon, lat), area = T.WEST_LAKE
    x, y = g.xy([lon], [lat])
    r = np.sqrt(area / np.pi)
    wl = shapely.affinity.scale(shapely.Point(x[0], y[0]).buffer(r, quad_segs=16), 0.92, 1 / 0.92)
    if ctx.city.contains(shapely.Point(x[0], y[0])):
        for dist in ctx.geoms:
            piece = polygonal(shapely.intersection(wl, dist))
            if piece is not None and piece.area > 1e3:
                rows.append((piece, "lake", "西湖 West Lake (approximate)", True, False))
    for name, wtype, half, pts in T.RIVERS:
        lon, lat = np.array(pts).T
        x, y = g.xy(lon, lat)
        band = shapely.LineString(np.column_stack([x, y])).buffer(half)
        for dist in ctx.geoms:
            piece = polygonal(shapely.intersection(band, dist))
            if piece is None:
                continue
            for ex in [r_[0] for r_ in rows]:
                if piece.intersects(ex):
                    piece = polygonal(piece.difference(ex))
                    if piece is None:
                        break
            if piece is not None and piece.area > 1e3:
                rows.append((piece, wtype, name, False, False))
    _reservoirs(ctx, rows)
    if not rows:  # a city with no MODIS water cell, named river or mountain county
        _generic_river(ctx, rows)
    polys = np.array([r_[0] for r_ in rows], dtype=object)
    tree = shapely.STRtree(polys)
    union = [None] * len(ctx.geoms)
    for k, dist in enumerate(ctx.geoms):
        idx = tree.query(dist, predicate="intersects")
        u = shapely.union_all(polys[idx]) if len(idx) else shapely.Polygon()
        shapely.prepare(u)
        union[k] = u
    return BigWater(rows, polys, tree, union)


#: half width [m] of the unnamed river given to a city that has no other big water
GENERIC_RIVER_HALF_M = 40.0


def _generic_river(ctx: Context, rows: list) -> None:
    """Append one seeded, unnamed river across the city (west to east, through its centre).

    Only for a city where the other steps found no big water (a city outside the
    shipped MODIS clip and the named rivers of Hangzhou and Huzhou): every city of the
    plains has rivers, and the twin's water layer may not be empty.
    """
    rng = ctx.rng("water", 999)
    x0, y0, x1, y1 = ctx.city.bounds
    xs = np.linspace(x0 - 1e3, x1 + 1e3, 24)
    cy = ctx.city.centroid.y
    ys = cy + np.cumsum(rng.normal(0.0, (y1 - y0) / 60.0, len(xs)))
    band = shapely.LineString(np.column_stack([xs, ys])).buffer(GENERIC_RIVER_HALF_M)
    for dist in ctx.geoms:
        piece = polygonal(shapely.intersection(band, dist))
        if piece is not None and piece.area > 1e3:
            rows.append((piece, "river", "", False, False))


def _reservoirs(ctx: Context, rows: list) -> None:
    """Append 2-5 seeded reservoirs per mountain county to ``rows`` (forest / shrub cells)."""
    g = ctx.grid
    for k, dist in enumerate(ctx.geoms):
        if ctx.kind[k] != "mountain_county":
            continue
        rng = ctx.rng("water", k)
        nres = int(rng.integers(2, 6))
        minx, miny, maxx, maxy = dist.bounds
        placed = 0
        for _ in range(400):
            if placed >= nres:
                break
            px = rng.uniform(minx, maxx)
            py = rng.uniform(miny, maxy)
            a_m2 = rng.uniform(0.5e6, 4e6)
            if not dist.contains(shapely.Point(px, py)):
                continue
            if g.class_at([px], [py])[0] not in T.FOREST_CLASSES + ("shrubland",):
                continue
            rad = np.sqrt(a_m2 / np.pi)
            ang = np.linspace(0, 2 * np.pi, 25)[:-1]
            noise = np.convolve(rng.normal(0, 0.35, 24 + 4), np.ones(5) / 5, mode="valid")
            rr = rad * (1 + noise[:24])
            poly = shapely.Polygon(np.column_stack([px + rr * np.cos(ang),
                                                    py + rr * 0.6 * np.sin(ang)]))
            poly = shapely.affinity.rotate(poly, rng.uniform(0, 180), origin=(px, py))
            if not poly.is_valid or not dist.contains(poly):
                continue
            if any(poly.distance(r_[0]) < 500 for r_ in rows):
                continue
            placed += 1
            nm = f"{ctx.d['name_zh'][k]}合成水库{placed:02d} synthetic reservoir"
            rows.append((poly, "reservoir", nm, False, bool(rng.random() < 0.5)))


def ponds(ctx: Context, water: BigWater, pools: list, settlements, buildings, green) -> Ponds:
    """Place clusters of fishery ponds in the aquaculture districts.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``"pond"``, one per district).
    water : BigWater
        Big water; ponds do not touch it.
    pools : list of dict
        Candidate points per district (:func:`synth.settlements.candidate_pools`).
    settlements : synth.settlements.Settlements
        Settlement centres; ponds keep clear of their lots.
    buildings : synth.buildings.Buildings
        Buildings (ponds keep 10 m from them) and each settlement's lot radius.
    green : synth.green.GreenSpace
        Parks; ponds do not touch them.

    Returns
    -------
    Ponds
        About ``PONDS_PER_BUILDING * n_buildings`` ponds, shared among the
        aquaculture districts by their area of eligible cells.
    """
    S = settlements.table
    aq = np.asarray(ctx.d["aquaculture"], dtype=bool)
    if not aq.any() or ctx.n <= 0:
        return Ponds(np.empty(0, dtype=object), np.empty(0, dtype=np.int64), np.empty(0, dtype=bool))
    total = int(round(PONDS_PER_BUILDING * ctx.n))
    elig = []
    for k in range(len(ctx.geoms)):
        p = pools[k]
        e = np.isin(p["code"], POND_CODES + POND_CODES_ALSO)
        elig.append(e)
    w = np.array([elig[k].mean() * ctx.area[k] if aq[k] else 0.0
                  for k in range(len(ctx.geoms))])
    budget = largest_remainder(total, w)
    skd = cKDTree(np.column_stack([S["x"], S["y"]]))
    bgeo = buildings.layer.geometry.to_numpy()
    btree = shapely.STRtree(bgeo) if len(bgeo) else None
    gtree = shapely.STRtree(green.polys) if len(green.polys) else None
    lots = buildings.lots
    out_p, out_d, out_pit = [], [], []
    for k, dist in enumerate(ctx.geoms):
        if budget[k] <= 0:
            continue
        rng = ctx.rng("pond", k)
        p = pools[k]
        cand = np.flatnonzero(elig[k])
        pref = np.isin(p["code"][cand], POND_CODES)
        key = rng.random(len(cand)) + np.where(pref, 0.0, 0.5)  # preferred cells first
        cand = cand[np.argsort(key, kind="stable")]
        cx_l, cy_l, cr_l = [], [], []
        got = 0
        for i in cand:
            if got >= budget[k]:
                break
            nx_, ny_ = int(rng.integers(5, 19)), int(rng.integers(4, 15))
            pw = 60 + 140 * rng.beta(1.2, 4.0)
            ph = 40 + 110 * rng.beta(1.2, 4.0)
            dyke = rng.uniform(6, 12)
            th = rng.uniform(0, np.pi / 2)
            ext = 0.5 * np.hypot(nx_ * (pw + dyke), ny_ * (ph + dyke))
            x0, y0 = p["x"][i], p["y"][i]
            if cx_l and np.min(np.hypot(np.array(cx_l) - x0, np.array(cy_l) - y0)
                               - np.array(cr_l)) < ext:
                continue
            dd, jj = skd.query([x0, y0], k=min(4, len(S["x"])))
            rf = np.array([lots.get(int(j), 0.0) for j in np.atleast_1d(jj)])
            if np.any(np.atleast_1d(dd) < 0.7 * rf + 30 + ext):
                continue
            ii, kk = np.meshgrid(np.arange(nx_) - (nx_ - 1) / 2, np.arange(ny_) - (ny_ - 1) / 2)
            lu = ii.ravel() * (pw + dyke)
            lv = kk.ravel() * (ph + dyke)
            wj = pw * rng.uniform(0.85, 1.0, lu.size)
            hj = ph * rng.uniform(0.85, 1.0, lu.size)
            px = x0 + lu * np.cos(th) - lv * np.sin(th)
            py = y0 + lu * np.sin(th) + lv * np.cos(th)
            polys = shapely.polygons(rect_coords(px, py, wj, hj, np.full(lu.size, th)))
            ok = shapely.contains(dist, polys)
            ok &= np.isin(ctx.grid.code_at(px, py), POND_CODES + POND_CODES_ALSO)
            if len(water.polys):
                a_, _ = water.tree.query(polys, predicate="intersects")
                ok[a_] = False
            if btree is not None:
                a_, _ = btree.query(polys, predicate="dwithin", distance=10.0)
                ok[a_] = False
            if gtree is not None:
                a_, _ = gtree.query(polys, predicate="intersects")
                ok[a_] = False
            polys = polys[ok]
            if len(polys) < 8:
                continue
            polys = polys[: budget[k] - got]
            cx_l.append(x0)
            cy_l.append(y0)
            cr_l.append(ext)
            got += len(polys)
            out_p.append(polys)
            out_d.append(np.full(len(polys), k))
            out_pit.append(rng.random(len(polys)) < 0.05)
        if got < budget[k]:
            logger.info("ponds: district %s got %d of %d ponds (no more room on "
                        "cropland/wetland cells)", ctx.adc[k], got, budget[k])
    if out_p:
        return Ponds(np.concatenate(out_p), np.concatenate(out_d), np.concatenate(out_pit))
    return Ponds(np.empty(0, dtype=object), np.empty(0, dtype=np.int64), np.empty(0, dtype=bool))


def water_layer(ctx: Context, water: BigWater, pond: Ponds, townships) -> gpd.GeoDataFrame:
    """Build the ``water`` layer: the big water, then the ponds.

    Parameters
    ----------
    ctx : Context
        The shared generation state.
    water : BigWater
        Lakes, rivers and reservoirs.
    pond : Ponds
        Fishery ponds (``is_aquaculture=True``; 5 % are pit ponds).
    townships : synth.townships.Townships
        Townships, for the ``township_code`` of each water body.

    Returns
    -------
    geopandas.GeoDataFrame
        The ``water`` layer.
    """
    rows = water.rows
    geoms = [r[0] for r in rows] + list(pond.polys)
    wtype = [r[1] for r in rows] + ["pit_pond" if p else "pond" for p in pond.pit]
    name = [r[2] for r in rows] + [""] * len(pond.polys)
    prot = [r[3] for r in rows] + [False] * len(pond.polys)
    drink = [r[4] for r in rows] + [False] * len(pond.polys)
    aq = [False] * len(rows) + [True] * len(pond.polys)
    geoms = np.array(geoms, dtype=object)
    n = len(geoms)
    reps = shapely.point_on_surface(geoms) if n else np.empty(0, object)
    return frame("water", {
        "water_id": [f"{ctx.cid}-w-{i:06d}" for i in range(n)],
        "water_type": wtype, "name": name, "area_m2": shapely.area(geoms) if n else [],
        "is_protected": prot, "is_drinking_source": drink, "is_aquaculture": aq,
        "district_adcode": locate(reps, ctx.geoms, ctx.adc),
        "township_code": locate(reps, townships.geom, townships.code)}, geoms, ctx.seed)
