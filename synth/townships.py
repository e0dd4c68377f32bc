"""Townships: a seeded Voronoi tessellation of each district (rows of the ``boundaries`` layer).

The seeds of a district's tessellation are its main and town centres plus random
candidate points at a minimum spacing, up to a count drawn from
:data:`synth.tables.TOWNSHIP_RANGE`; the cells are clipped to the district. A
township is urban in dense cores, and in new towns when it holds a main or town
centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

import synth.tables as T
from synth.context import Context, frame, locate, polygonal

__all__ = ["Townships", "townships"]


@dataclass
class Townships:
    """The townships of the city.

    Attributes
    ----------
    layer : geopandas.GeoDataFrame
        Rows of the ``boundaries`` layer at level ``township``.
    geom, code, urban, dist : numpy.ndarray
        Polygon, 9-digit code, urban flag and district index of each township.
    settlement_code, settlement_urban : numpy.ndarray
        Township code and urban flag of each settlement centre.
    """

    layer: gpd.GeoDataFrame
    geom: np.ndarray
    code: np.ndarray
    urban: np.ndarray
    dist: np.ndarray
    settlement_code: np.ndarray
    settlement_urban: np.ndarray


def townships(ctx: Context, settlements, pools: list) -> Townships:
    """Tessellate every district into townships.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``"town"``, one per district).
    settlements : synth.settlements.Settlements
        Settlements; main and town centres seed the tessellation.
    pools : list of dict
        Candidate points per district (:func:`synth.settlements.candidate_pools`).

    Returns
    -------
    Townships
        The townships, and the township of each settlement.
    """
    S = settlements.table
    geoms, codes, nzh, nen, urban, dist_of = [], [], [], [], [], []
    for k, dist in enumerate(ctx.geoms):
        rng = ctx.rng("town", k)
        lo, hi = T.TOWNSHIP_RANGE[ctx.kind[k]]
        nt = int(rng.integers(lo, hi + 1))
        m = (S["dist"] == k) & np.isin(S["role"], ["main", "town"])
        sx, sy = list(S["x"][m][:nt]), list(S["y"][m][:nt])
        p = pools[k]
        order = rng.permutation(len(p["x"]))
        minsep = 0.4 * np.sqrt(ctx.area[k] / nt)
        for i in order:
            if len(sx) >= nt:
                break
            if np.min(np.hypot(np.array(sx) - p["x"][i], np.array(sy) - p["y"][i])) < minsep:
                continue
            sx.append(p["x"][i])
            sy.append(p["y"][i])
        pts = shapely.multipoints(np.column_stack([sx, sy]))
        if len(sx) == 1:
            cells = [dist]
        else:
            env = shapely.box(*dist.buffer(1000).bounds)
            vor = shapely.voronoi_polygons(pts, extend_to=env, ordered=True)
            cells = [polygonal(shapely.intersection(c, dist)) for c in shapely.get_parts(vor)]
        name_zh = ctx.d["name_zh"][k]
        name_en = str(ctx.d["name_en"][k]).replace(" District", "").replace(" County", "")
        kept = 0
        for c in cells:
            if c is None or c.area < 1.0:
                continue
            kept += 1
            geoms.append(c)
            codes.append(f"{ctx.adc[k]}{kept:03d}")
            nzh.append(f"{name_zh}合成街道{kept:02d}")
            nen.append(f"{name_en} synthetic township {kept:02d}")
            dist_of.append(k)
        # urban flag
        if ctx.kind[k] == "dense_core":
            urban.extend([True] * kept)
        elif ctx.kind[k] == "new_town":
            mm = (S["dist"] == k) & np.isin(S["role"], ["main", "town"])
            cpts = shapely.points(S["x"][mm], S["y"][mm])
            tc = np.array(geoms[-kept:], dtype=object)
            hit = np.zeros(kept, dtype=bool)
            _, j = shapely.STRtree(tc).query(cpts, predicate="intersects")
            hit[j] = True
            urban.extend(hit.tolist())
        else:
            urban.extend([False] * kept)
    t_geom = np.array(geoms, dtype=object)
    t_code = np.array(codes, dtype=object)
    t_urban = np.array(urban, dtype=bool)
    t_dist = np.array(dist_of)
    area = shapely.area(t_geom)
    layer = frame("boundaries", {
        "adcode": codes, "level": ["township"] * len(codes), "name_zh": nzh, "name_en": nen,
        "parent_adcode": [ctx.adc[k] for k in dist_of], "area_km2": area / 1e6,
        "is_urban": t_urban}, t_geom, ctx.seed)
    s_code = locate(shapely.points(S["x"], S["y"]), t_geom, t_code)
    tu = dict(zip(t_code, t_urban, strict=True))
    s_urban = np.array([tu[c] for c in s_code], dtype=bool)
    return Townships(layer, t_geom, t_code, t_urban, t_dist, s_code, s_urban)
