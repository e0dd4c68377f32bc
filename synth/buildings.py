"""Buildings: rectangles inside the lots of each settlement's rotated lot grid.

Each settlement has a lot grid at its angle ``theta``; a building is a rectangle
inside its lot, so buildings never overlap. Lots must lie inside the
settlement's Voronoi cell (so settlements never overlap) and inside the
district, and touch no water, park, inter-settlement road corridor or
``exclude`` area. Lots are taken nearest the centre first; a district's
shortfall is taken from the spare lots of its other settlements. Use, floors,
storey height, footprint, roof and year follow the settlement type's building
mix (:data:`synth.tables.MIXES`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

import synth.tables as T
from synth.context import Context, frame, locate, rect_coords

__all__ = ["Buildings", "buildings"]

logger = logging.getLogger(__name__)


@dataclass
class Buildings:
    """The buildings, and the lot grids they were placed on.

    Attributes
    ----------
    layer : geopandas.GeoDataFrame
        The ``buildings`` layer.
    lots : dict of int to float
        Per settlement: the largest distance [m] from its centre to a lot it
        used (0 when it got no building).
    vcell : dict of int to shapely geometry
        Per settlement: its Voronoi cell among its district's settlements.
    """

    layer: gpd.GeoDataFrame
    lots: dict
    vcell: dict


def buildings(ctx: Context, settlements, townships, water, green, links) -> Buildings:
    """Place the buildings of every settlement on its lot grid.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``"bldg"``, one per district).
    settlements : synth.settlements.Settlements
        Settlements with their building counts, lot sizes and grid angles.
    townships : synth.townships.Townships
        Townships, for the ``township_code`` of each building.
    water : synth.water.BigWater
        Big water (an obstacle).
    green : synth.green.GreenSpace
        Parks and green belts (obstacles).
    links : synth.roads.Links
        Planned inter-settlement roads; their corridors are obstacles.

    Returns
    -------
    Buildings
        The ``buildings`` layer, each settlement's lot radius and Voronoi cell.
    """
    S = settlements.table
    obst = [*water.polys, *green.polys, *links.corridors]
    if ctx.exclude is not None and not shapely.is_empty(ctx.exclude):
        obst += list(shapely.get_parts(ctx.exclude))
    obst = np.array(obst, dtype=object)
    otree = shapely.STRtree(obst) if len(obst) else None
    chunks = []
    lots = {}  # settlement -> largest distance of a used lot from the centre [m]
    vcell = {}
    for k, dist in enumerate(ctx.geoms):
        idx = np.flatnonzero(S["dist"] == k)
        if len(idx) == 0 or settlements.per_district[k] == 0:
            continue
        rng = ctx.rng("bldg", k)
        if len(idx) == 1:
            cells = [shapely.box(*dist.bounds)]
        else:
            pts = shapely.multipoints(np.column_stack([S["x"][idx], S["y"][idx]]))
            env = shapely.box(*dist.buffer(1000).bounds)
            cells = list(shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=env,
                                                                    ordered=True)))
        shrunk_d = {}
        cand, sat = {}, {}
        need = {s: int(S["k"][s]) for s in idx}
        todo = list(idx)
        for _round in range(4):
            for s in todo:
                cellpoly = cells[int(np.flatnonzero(idx == s)[0])]
                vcell[s] = cellpoly
                c = float(S["cell"][s])
                key = round(c, 1)
                if key not in shrunk_d:
                    sd = dist.buffer(-0.71 * c, quad_segs=2)
                    shapely.prepare(sd)
                    shrunk_d[key] = sd
                *cand[s], sat[s] = _lots(S, s, cellpoly, shrunk_d[key], need[s], rng, otree, obst)
            deficit = int(settlements.per_district[k]) - sum(len(cand[s][0]) for s in idx)
            todo = [s for s in idx if not sat[s] and need[s] > 0]
            if deficit <= 0 or not todo:
                break
            ksum = sum(need[s] for s in todo)
            for s in todo:
                need[s] += int(np.ceil(1.3 * deficit * need[s] / ksum)) + 1
        # allocate: own lots first, then the shortfall from spare lots of other settlements
        shortfall = sum(max(S["k"][s] - len(cand[s][0]), 0) for s in idx)
        take = {s: min(S["k"][s], len(cand[s][0])) for s in idx}
        if shortfall > 0:
            spare = [(cand[s][2][take[s]:], np.full(len(cand[s][0]) - take[s], s))
                     for s in idx]
            pr = np.concatenate([a for a, _ in spare]) if spare else np.empty(0)
            ow = np.concatenate([b for _, b in spare]) if spare else np.empty(0, int)
            extra = ow[np.argsort(pr, kind="stable")[:shortfall]]
            for s, c_ in zip(*np.unique(extra, return_counts=True), strict=True):
                take[s] += int(c_)
            if len(extra) < shortfall:
                logger.warning("buildings: district %s has room for %d fewer buildings than "
                               "asked", ctx.adc[k], shortfall - len(extra))
        for s in idx:
            cx_, cy_, pr_ = cand[s]
            n_take = take[s]
            if n_take == 0:
                lots[s] = 0.0
                continue
            lx, ly = cx_[:n_take], cy_[:n_take]
            lots[s] = float(np.max(np.hypot(lx - S["x"][s], ly - S["y"][s])))
            chunks.append(_make_buildings(S, s, lx, ly, rng, k))
    layer = _assemble_buildings(ctx, chunks, townships)
    return Buildings(layer, lots, vcell)


def _lots(S, s, cellpoly, shrunk_dist, k_s, rng, otree, obst):
    """Valid lot centres of settlement ``s`` sorted by priority (near the centre first)."""
    c = float(S["cell"][s])
    cx, cy, th = S["x"][s], S["y"][s], S["theta"][s]
    shr = cellpoly.buffer(-0.71 * c, join_style="mitre")
    if shr.is_empty:
        return np.empty(0), np.empty(0), np.empty(0), True
    shapely.prepare(shr)
    vx, vy = shapely.get_coordinates(cellpoly).T
    rmax = float(np.max(np.hypot(vx - cx, vy - cy)))
    need = max(int(k_s), 1)
    r = max(float(S["r0"][s]), 1.5 * c)
    ct, st = np.cos(th), np.sin(th)
    while True:
        m = int(np.ceil(r / c)) + 1
        ii, jj = np.meshgrid(np.arange(-m, m), np.arange(-m, m), indexing="ij")
        lu = (ii.ravel() + 0.5) * c
        lv = (jj.ravel() + 0.5) * c
        dd = np.hypot(lu, lv)
        inside = dd <= r
        lu, lv, dd = lu[inside], lv[inside], dd[inside]
        x = cx + lu * ct - lv * st
        y = cy + lu * st + lv * ct
        ok = shapely.contains_xy(shr, x, y)
        ok[ok] = shapely.contains_xy(shrunk_dist, x[ok], y[ok])
        x, y, dd = x[ok], y[ok], dd[ok]
        if otree is not None and len(x):
            disk = shapely.Point(cx, cy).buffer(r + c, quad_segs=4)
            near = otree.query(disk, predicate="intersects")
            if len(near):
                blocked = shapely.geometrycollections(shapely.intersection(obst[near], disk))
                shapely.prepare(blocked)
                sq = shapely.polygons(rect_coords(x, y, np.full(len(x), c), np.full(len(x), c),
                                                  np.full(len(x), th)))
                bad = shapely.intersects(blocked, sq)
                x, y, dd = x[~bad], y[~bad], dd[~bad]
        if len(x) >= 1.05 * need or r >= rmax:
            break
        r = min(r * 1.5, rmax + c)
    pr = dd / max(r, 1.0) + rng.uniform(0, 0.15, len(dd))
    o = np.argsort(pr, kind="stable")
    return x[o], y[o], pr[o], bool(r >= rmax)


def _make_buildings(S, s, x, y, rng, k):
    """Attributes and footprints of the buildings of settlement ``s`` on lots ``(x, y)``."""
    st = S["stype"][s]
    c = float(S["cell"][s])
    mix = T.MIXES[st]
    n = len(x)
    shares = np.array([m[1] for m in mix])
    row = rng.choice(len(mix), size=n, p=shares / shares.sum())
    tab = np.array([m[2:9] for m in mix], dtype=float)
    flo, fhi, sto, wlo, whi, dlo, dhi = tab[row].T
    margin = max(2.0, (0.07 if st == "industrial" else 0.1) * c)
    room = c - 2 * margin
    w = np.minimum(rng.uniform(wlo, whi), room)
    dep = np.minimum(rng.uniform(dlo, dhi), room)
    shed = sto == 0
    if shed.any():
        need = 2000.0 / w[shed]
        dep[shed] = np.minimum(np.maximum(dep[shed], need), room)
    floors = rng.integers(flo.astype(np.int64), fhi.astype(np.int64) + 1)
    height = floors * sto
    height[shed] = rng.uniform(8.0, 15.0, int(shed.sum()))
    roofp = np.array([m[9] for m in mix], dtype=float)[row]
    ur = rng.random(n)
    roof_i = (ur > roofp[:, 0]).astype(int) + (ur > roofp[:, 0] + roofp[:, 1]).astype(int)
    roof = np.array(["flat", "gable", "hip"], dtype=object)[roof_i]
    # tall buildings have flat roofs
    roof[floors > 8] = "flat"
    ylo = np.array([m[10] for m in mix])[row]
    yhi = np.array([m[11] for m in mix])[row]
    year = rng.integers(ylo, yhi + 1)
    new = rng.random(n) < 0.03
    year[new] = rng.integers(2024, 2027, int(new.sum()))
    use = np.array([m[0] for m in mix], dtype=object)[row]
    public = np.isin(use, ["government", "education", "health", "public"]) & (
        rng.random(n) < 0.85)
    jx = (room - w) * rng.uniform(-0.5, 0.5, n)
    jy = (room - dep) * rng.uniform(-0.5, 0.5, n)
    th = S["theta"][s]
    bx = x + jx * np.cos(th) - jy * np.sin(th)
    by = y + jx * np.sin(th) + jy * np.cos(th)
    return {"x": bx, "y": by, "w": w, "d": dep, "theta": np.full(n, th), "floors": floors,
            "height": height, "roof": roof, "year": year, "new": new, "use": use,
            "public": public, "dist": np.full(n, k), "sett": np.full(n, s)}


def _assemble_buildings(ctx: Context, chunks, townships) -> gpd.GeoDataFrame:
    """The ``buildings`` layer from the per-settlement chunks of :func:`_make_buildings`."""
    if chunks:
        b = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
    else:
        b = {key: np.empty(0) for key in ("x", "y", "w", "d", "theta", "floors", "height",
                                          "roof", "year", "new", "use", "public", "dist")}
    n = len(b["x"])
    geom = shapely.polygons(rect_coords(b["x"], b["y"], b["w"], b["d"], b["theta"]))
    area = shapely.area(geom)
    floors = b["floors"].astype(np.int64)
    roof = b["roof"].astype(str)
    tw = locate(shapely.points(b["x"], b["y"]), townships.geom, townships.code)
    dist = b["dist"].astype(np.int64)
    return frame("buildings", {
        "building_id": [f"{ctx.cid}-b-{i:07d}" for i in range(n)],
        "height_m": np.round(b["height"].astype(float), 2),
        "name": [""] * n,
        "floors": floors,
        "use_class": b["use"].astype(str),
        "roof_type": roof,
        "year_built": b["year"].astype(np.int64),
        "gross_floor_area_m2": area * floors,
        "footprint_area_m2": area,
        "district_adcode": np.array(ctx.adc, dtype=object)[dist] if n else [],
        "township_code": tw,
        "height_source": ["synthetic"] * n,
        "cim_level": np.where(roof != "unknown", 3, 2),
        "is_new_build": b["new"].astype(bool),
        "is_public_institution": b["public"].astype(bool),
    }, geom, ctx.seed)
