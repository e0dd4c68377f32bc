"""Green space: city, community and pocket parks and green belts in settlements; country parks.

Every settlement except villages gets parks and green belts by its type (a city
park at each main centre, community parks, pocket parks and belts in cores, new
towns and county towns), placed near its centre clear of water and of each
other; mountain counties (2-4) and new towns (1) get country parks of 1-8 km²
on forest cells away from settlements.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

import synth.tables as T
from synth.context import Context, frame, locate, rect_coords

__all__ = ["GreenSpace", "green_layer", "green_space"]


@dataclass
class GreenSpace:
    """Parks and green belts.

    Attributes
    ----------
    items : list of tuple
        ``(geometry, green_type, park_tier, district index)`` per green space.
    polys : numpy.ndarray
        The geometries of ``items``.
    """

    items: list
    polys: np.ndarray


def green_space(ctx: Context, water, settlements, pools: list) -> GreenSpace:
    """Place parks and green belts in settlements, and country parks on forest cells.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``"green"``, one per district).
    water : synth.water.BigWater
        Big water; green space does not touch it.
    settlements : synth.settlements.Settlements
        Settlements, around whose centres parks are placed.
    pools : list of dict
        Candidate points per district (:func:`synth.settlements.candidate_pools`).

    Returns
    -------
    GreenSpace
        The green spaces, which do not overlap.
    """
    S = settlements.table
    out = []  # (poly, type, tier, district)
    obst = list(water.polys)
    otree = shapely.STRtree(np.array(obst, dtype=object)) if obst else None
    for k, dist in enumerate(ctx.geoms):
        rng = ctx.rng("green", k)
        placed = []
        idx = np.flatnonzero((S["dist"] == k) & (S["role"] != "village"))
        for s in idx:
            role, st = S["role"][s], S["stype"][s]
            r0 = max(S["r0"][s], 150.0)
            specs = []
            if role == "main":
                specs.append(("park", "city", rng.uniform(20e4, 60e4)))
            if st in ("core", "newtown", "county_town") or rng.random() < 0.6:
                specs.append(("park", "community", rng.uniform(1e4, 8e4)))
            if st in ("core", "newtown", "county_town"):
                specs += [("park", "pocket", rng.uniform(0.1e4, 1e4))
                          for _ in range(int(rng.integers(0, 4)))]
                specs += [("green_space", "", rng.uniform(0.5e4, 3e4))
                          for _ in range(int(rng.integers(1, 3)))]
            for gtype, tier, a in specs:
                for _try in range(4):
                    ang = rng.uniform(0, 2 * np.pi)
                    rr = rng.uniform(0.1, 0.7) * r0
                    px = S["x"][s] + rr * np.cos(ang)
                    py = S["y"][s] + rr * np.sin(ang)
                    asp = rng.uniform(1.0, 2.5) if gtype == "park" else rng.uniform(3, 8)
                    w = np.sqrt(a * asp)
                    h = a / w
                    poly = shapely.polygons(rect_coords(np.array([px]), np.array([py]),
                                                        np.array([w]), np.array([h]),
                                                        np.array([S["theta"][s]])))[0]
                    if tier == "city":
                        poly = shapely.affinity.scale(shapely.Point(px, py).buffer(1.0), w / 2, h / 2)
                    if not dist.contains(poly):
                        continue
                    if otree is not None and len(otree.query(poly, predicate="intersects")):
                        continue
                    if any(poly.intersects(q) for q in placed):
                        continue
                    placed.append(poly)
                    out.append((poly, gtype, tier, k))
                    break
        # country parks on forest cells of hill districts
        if ctx.kind[k] in ("mountain_county", "new_town"):
            ncp = int(rng.integers(2, 5)) if ctx.kind[k] == "mountain_county" else 1
            p = pools[k]
            fidx = np.flatnonzero(np.isin(p["cls"], T.FOREST_CLASSES))
            fidx = fidx[rng.permutation(len(fidx))][:200]
            skd = cKDTree(np.column_stack([S["x"], S["y"]]))
            got = 0
            for i in fidx:
                if got >= ncp:
                    break
                a = rng.uniform(100e4, 800e4)
                rad = np.sqrt(a / np.pi)
                dd, jj = skd.query([p["x"][i], p["y"][i]], k=3)
                if np.any(dd < S["r0"][jj] * 1.5 + rad + 300):
                    continue
                poly = shapely.Point(p["x"][i], p["y"][i]).buffer(rad, quad_segs=8)
                poly = shapely.affinity.scale(poly, 1.3, 0.77)
                if not dist.contains(poly):
                    continue
                if otree is not None and len(otree.query(poly, predicate="intersects")):
                    continue
                if any(poly.intersects(q) for q in placed):
                    continue
                placed.append(poly)
                out.append((poly, "park", "country", k))
                got += 1
    return GreenSpace(out, np.array([o[0] for o in out], dtype=object))


def green_layer(ctx: Context, green: GreenSpace, townships) -> gpd.GeoDataFrame:
    """Build the ``green_space`` layer.

    Parameters
    ----------
    ctx : Context
        The shared generation state.
    green : GreenSpace
        The parks and green belts.
    townships : synth.townships.Townships
        Townships, for the ``township_code`` of each green space.

    Returns
    -------
    geopandas.GeoDataFrame
        The ``green_space`` layer.
    """
    gr = green.items
    geoms = np.array([o[0] for o in gr], dtype=object)
    n = len(geoms)
    tier_zh = {"city": "市级", "community": "社区", "pocket": "口袋", "country": "郊野"}
    names = [f"合成{tier_zh[o[2]]}公园 synthetic {o[2]} park" if o[1] == "park" else ""
             for o in gr]
    reps = shapely.point_on_surface(geoms) if n else np.empty(0, object)
    return frame("green_space", {
        "green_id": [f"{ctx.cid}-g-{i:05d}" for i in range(n)],
        "green_type": [o[1] for o in gr], "name": names, "park_tier": [o[2] for o in gr],
        "area_m2": shapely.area(geoms) if n else [],
        "district_adcode": [ctx.adc[o[3]] for o in gr],
        "township_code": locate(reps, townships.geom, townships.code)}, geoms, ctx.seed)
