"""Point layers: service areas, charging stations and bus stops.

Service areas lie every 40-60 km along the merged motorways (90 % with
chargers); charging stations lie near settlement centres (more in main centres,
cores and new towns) and at the service areas with chargers; bus stops lie
every ~400 m (cores) or ~520 m along primary, secondary and tertiary roads in
settlements. The three layers draw, in that order, from one random stream
(``("point", 0)``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from synth.context import Context, frame, locate

__all__ = ["points"]


def points(ctx: Context, settlements, townships, buildings, road_layer: gpd.GeoDataFrame) -> dict:
    """Build the ``service_areas``, ``charging_stations`` and ``bus_stops`` layers.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``("point", 0)``).
    settlements : synth.settlements.Settlements
        Settlements (charging stations near their centres).
    townships : synth.townships.Townships
        Townships (urban flag of each settlement; ``township_code`` of the points).
    buildings : synth.buildings.Buildings
        Each settlement's lot radius (the extent of stations and stops).
    road_layer : geopandas.GeoDataFrame
        The ``roads`` layer.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Layers ``service_areas``, ``charging_stations`` and ``bus_stops``.
    """
    rng = ctx.rng("point", 0)
    geoms = np.asarray(road_layer.geometry.values, dtype=object)
    rcls = road_layer["road_class"].to_numpy(dtype=object)
    out = {}
    out["service_areas"], sa_pts, sa_ch = _service_areas(ctx, rng, geoms[rcls == "motorway"])
    out["charging_stations"] = _charging_stations(ctx, rng, settlements, townships, buildings.lots,
                                                  sa_pts, sa_ch)
    out["bus_stops"] = _bus_stops(ctx, rng, settlements, townships, buildings.lots,
                                  geoms[np.isin(rcls, ["primary", "secondary", "tertiary"])])
    return out


def _service_areas(ctx, rng, mw):
    """Service areas along the motorway segments ``mw``: the layer, points and charger flags.

    One every 40-60 km from 15-30 km on; a city whose motorway pieces are all too short
    for that gets one, with a charger, halfway along the longest piece.
    """
    sa_pts, sa_ch = [], []
    if len(mw):
        merged = shapely.line_merge(shapely.union_all(mw))
        for line in shapely.get_parts(merged):
            L = line.length
            pos = rng.uniform(15e3, 30e3)
            while pos < L - 5e3:
                sa_pts.append(line.interpolate(pos))
                sa_ch.append(bool(rng.random() < 0.9))
                pos += rng.uniform(40e3, 60e3)
        if not sa_pts:  # a small city: motorway pieces shorter than the first spacing
            longest = max(shapely.get_parts(merged), key=lambda g: g.length)
            sa_pts.append(longest.interpolate(0.5, normalized=True))
            sa_ch.append(True)
    sa_pts = np.array(sa_pts, dtype=object)
    nsa = len(sa_pts)
    sa_d = locate(sa_pts, ctx.geoms, ctx.adc)
    layer = frame("service_areas", {
        "service_area_id": [f"{ctx.cid}-sa-{i:04d}" for i in range(nsa)],
        "name": [f"合成服务区{i + 1:02d} synthetic service area" for i in range(nsa)],
        "has_charger": np.array(sa_ch, dtype=bool),
        "district_adcode": sa_d}, sa_pts, ctx.seed)
    return layer, sa_pts, sa_ch


def _charging_stations(ctx, rng, settlements, townships, lots, sa_pts, sa_ch):
    """Charging stations near settlement centres and at service areas with chargers."""
    S = settlements.table
    px, py, pub, site, piles, power = [], [], [], [], [], []
    for s in range(len(S["x"])):
        role, st = S["role"][s], S["stype"][s]
        urban = bool(townships.settlement_urban[s])
        if role == "main":
            n = int(rng.integers(6, 16)) if st in ("core", "newtown") else int(rng.integers(3, 7))
        elif st in ("core", "newtown"):
            n = int(rng.integers(2, 6))
        elif role in ("town", "industrial"):
            n = int(rng.integers(1, 4))
        else:
            n = int(rng.random() < 0.15)
        k = S["dist"][s]
        rad = max(lots.get(s, 0.0), 100.0)
        for _ in range(n):
            for f in (0.8, 0.4, 0.1, 0.0):
                ang = rng.uniform(0, 2 * np.pi)
                rr = rng.uniform(0, 1) * rad * f
                x, y = S["x"][s] + rr * np.cos(ang), S["y"][s] + rr * np.sin(ang)
                if ctx.geoms[k].contains(shapely.Point(x, y)):
                    break
            private = rng.random() < 0.15
            np_ = int(rng.integers(4, 41)) if urban else int(rng.integers(2, 13))
            dc = rng.random() < (0.7 if urban else 0.5)
            kw = (120.0 if rng.random() < 0.4 else 60.0) if dc else 7.0
            px.append(x)
            py.append(y)
            pub.append(not private)
            site.append("private" if private else ("urban_public" if urban else "rural_public"))
            piles.append(np_)
            power.append(np_ * kw)
    for p, ch in zip(sa_pts, sa_ch, strict=True):
        if ch:
            np_ = int(rng.integers(4, 17))
            px.append(p.x)
            py.append(p.y)
            pub.append(True)
            site.append("highway_service_area")
            piles.append(np_)
            power.append(np_ * 120.0)
    pts = shapely.points(px, py) if px else np.empty(0, object)
    n = len(pts)
    return frame("charging_stations", {
        "station_id": [f"{ctx.cid}-cs-{i:05d}" for i in range(n)],
        "is_public": np.array(pub, dtype=bool), "piles": np.array(piles, dtype=np.int64),
        "name": [""] * n, "power_kw": np.array(power, dtype=float), "site_type": site,
        "district_adcode": locate(pts, ctx.geoms, ctx.adc),
        "township_code": locate(pts, townships.geom, townships.code)}, pts, ctx.seed)


def _bus_stops(ctx, rng, settlements, townships, lots, lines):
    """Bus stops along the road segments ``lines`` that lie inside settlements."""
    S = settlements.table
    bx, by = [], []
    if len(lines) and len(S["x"]):
        mids = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.5, normalized=True))
        dd, jj = cKDTree(np.column_stack([S["x"], S["y"]])).query(mids)
        rad = np.array([lots.get(int(j), 0.0) for j in jj])
        inside = (dd <= rad * 1.1 + 50) & (rad > 0)
        spacing = np.where(S["stype"][jj] == "core", 400.0, 520.0)
        L = shapely.length(lines)
        cnt = np.floor(L / spacing + rng.random(len(L))).astype(np.int64) * inside
        li = np.repeat(np.arange(len(lines)), cnt)
        frac = rng.uniform(0.05, 0.95, len(li))
        pts = shapely.line_interpolate_point(lines[li], frac, normalized=True)
        c = shapely.get_coordinates(pts)
        bx, by = c[:, 0], c[:, 1]
    pts = shapely.points(bx, by) if len(bx) else np.empty(0, object)
    if len(pts):
        pts = pts[shapely.contains_xy(ctx.city, bx, by)]
    n = len(pts)
    return frame("bus_stops", {
        "stop_id": [f"{ctx.cid}-bs-{i:06d}" for i in range(n)],
        "name": [""] * n,
        "district_adcode": locate(pts, ctx.geoms, ctx.adc),
        "township_code": locate(pts, townships.geom, townships.code)}, pts, ctx.seed)
