"""Settlements: per district a main centre, towns, industrial parks and villages.

Settlement counts and building shares follow the district kind
(:data:`synth.tables.PLANS`); centres are sampled by rejection from a pool of
random dry points of the district (:func:`candidate_pools`) with weights by the
MODIS class (:data:`synth.tables.CLASS_WEIGHT`: built-up 1.0, cropland 0.7,
forest 0.08, water 0) and a minimum spacing. Each settlement gets its share of
the district's buildings, a lot (grid cell) size and a street-grid angle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

import synth.tables as T
from synth.context import Context, class_weight, largest_remainder

__all__ = ["MAX_LOT_SHARE", "MIN_CELL_M", "MIN_SIZE", "Settlements", "candidate_pools", "settlements"]

logger = logging.getLogger(__name__)

#: largest share of a district's dry land covered by building lots, and the smallest lots [m]
MAX_LOT_SHARE = 0.35
MIN_CELL_M = {"core": 28.0, "newtown": 32.0, "industrial": 120.0, "county_town": 28.0,
              "town": 24.0, "village": 18.0}
#: smallest typical settlement [buildings] by role, used to cap counts at small n_buildings
MIN_SIZE = {"town": 60, "industrial": 8, "village": 20}


@dataclass
class Settlements:
    """The settlements of the city, one entry per settlement in every array of ``table``.

    Attributes
    ----------
    table : dict of str to numpy.ndarray
        ``x``, ``y`` (centre [m]), ``dist`` (district index), ``role`` (main,
        town, industrial, village), ``stype`` (settlement type of
        :data:`synth.tables.SETTLEMENT_TYPES`), ``k`` (buildings), ``cell`` (lot
        size [m]), ``theta`` (grid angle [rad]), ``r0`` (nominal radius [m]) and
        ``id``.
    per_district : numpy.ndarray
        Buildings per district.
    """

    table: dict
    per_district: np.ndarray


def candidate_pools(ctx: Context, water) -> list:
    """Per district: random candidate points inside, off water, with their MODIS class.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``("settle", k, 99)``).
    water : synth.water.BigWater
        Big water; no candidate lies on it.

    Returns
    -------
    list of dict
        Per district: ``x``, ``y``, ``code`` (IGBP), ``cls`` (twin class), ``w``
        (class weight) and ``u`` (a uniform draw for rejection sampling).
    """
    pool = []
    for k, dist in enumerate(ctx.geoms):
        rng = ctx.rng("settle", k, 99)
        minx, miny, maxx, maxy = dist.bounds
        n = int(np.clip(ctx.area[k] / 2e4, 4000, 60000))
        fill = ctx.area[k] / ((maxx - minx) * (maxy - miny))
        m = int(n / max(fill, 0.05))
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(dist, x, y)
        if not water.union[k].is_empty:
            ok &= ~shapely.contains_xy(water.union[k], x, y)
        x, y = x[ok], y[ok]
        code = ctx.grid.code_at(x, y)
        cls = ctx.grid.lut[code]
        u = rng.random(len(x))
        pool.append({"x": x, "y": y, "code": code, "cls": cls, "w": class_weight(cls), "u": u})
    return pool


def settlements(ctx: Context, water, pools: list) -> Settlements:
    """Plan and place the settlements of every district.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``"settle"``, one per district).
    water : synth.water.BigWater
        Big water (its area is not dry land for the lot sizes).
    pools : list of dict
        Candidate points per district (:func:`candidate_pools`).

    Returns
    -------
    Settlements
        The settlements, and the buildings of each district (``n_buildings``
        shared by :data:`synth.tables.KIND_DENSITY` x area).
    """
    dens = np.array([T.KIND_DENSITY[k] for k in ctx.kind]) * ctx.area
    per_d = largest_remainder(ctx.n, dens)
    S = {"x": [], "y": [], "dist": [], "role": [], "stype": [], "k": [], "cell": [],
         "theta": [], "r0": []}
    for k, dist in enumerate(ctx.geoms):
        rng = ctx.rng("settle", k)
        kind = ctx.kind[k]
        plan = T.PLANS[kind]
        a_km2 = ctx.area[k] / 1e6
        p = pools[k]
        x, y, w, u = p["x"], p["y"], p["w"], p["u"]
        acc = u < w
        xs, ys = x[acc], y[acc]
        if len(xs) == 0:
            xs, ys = x, y
        if len(xs) == 0:
            rp = dist.representative_point()
            xs, ys = np.array([rp.x]), np.array([rp.y])
        # settlement list (roles, building targets, lot sizes, radii) before placement
        roles = ["main"]
        n_d = int(per_d[k])
        for role in ("town", "industrial", "village"):
            if role in plan:
                _, sh, km2_per, lo, hi = plan[role]
                cnt = int(np.clip(round(a_km2 / km2_per), lo, hi))
                # at small n_buildings keep settlements of a plausible size
                cnt = min(cnt, max(1, int(sh * n_d / MIN_SIZE[role])))
                roles += [role] * cnt
        roles = np.array(roles)
        share = np.zeros(len(roles))
        for role, (_st, sh, *_r) in plan.items():
            m = roles == role
            if m.any():
                wr = rng.lognormal(0, 0.5, int(m.sum()))
                share[m] = sh * wr / wr.sum()
        ks = largest_remainder(n_d, share)
        stypes = np.array([plan[r][0] for r in roles])
        cell = np.array([T.SETTLEMENT_TYPES[s_]["cell_m"] for s_ in stypes])
        if kind == "dense_core" and n_d > 0:
            usable = ctx.area[k] - water.union[k].area
            c_core = float(np.clip(np.sqrt(0.45 * usable / n_d), 28.0, 110.0))
            cell[stypes == "core"] = c_core
        # crowded districts (large n_buildings): shrink the lots so that they cover at
        # most MAX_LOT_SHARE of the district's dry land
        lot_area = float(np.sum(ks * cell**2))
        dry = ctx.area[k] - water.union[k].area
        if lot_area > MAX_LOT_SHARE * dry > 0:
            f = max(np.sqrt(MAX_LOT_SHARE * dry / lot_area), 0.5)
            floor = np.array([MIN_CELL_M[s_] for s_ in stypes])
            cell = np.maximum(cell * f, np.minimum(cell, floor))
        r0 = np.sqrt(ks * cell**2 / (np.pi * 0.55))
        # main centre: best built-up / cropland point near the district's middle
        rp = dist.representative_point()
        cx0, cy0 = dist.centroid.x, dist.centroid.y
        if not dist.contains(shapely.Point(cx0, cy0)):
            cx0, cy0 = rp.x, rp.y
        wacc = class_weight(ctx.grid.class_at(xs, ys))
        dn = np.hypot(xs - cx0, ys - cy0) / np.sqrt(ctx.area[k])
        im = int(np.argmax(wacc - 1.5 * dn))
        pos = np.full(len(roles), -1)
        pos[0] = im
        used = np.zeros(len(xs), dtype=bool)
        used[im] = True
        base = np.where(roles == "village", 600.0, 1500.0)
        if kind == "dense_core":
            base[:] = 0.6 * np.sqrt(ctx.area[k] / len(roles))
        fac = 1.0
        for _attempt in range(4):
            todo = np.flatnonzero(pos < 0)
            if len(todo) == 0:
                break
            placed = np.flatnonzero(pos >= 0)
            px, py, pr = xs[pos[placed]], ys[pos[placed]], r0[placed]
            ti = 0
            for i in np.flatnonzero(~used):
                if ti >= len(todo):
                    break
                s_ = todo[ti]
                gap = np.hypot(px - xs[i], py - ys[i]) - fac * (pr + r0[s_])
                if gap.min() < fac * base[s_]:
                    continue
                pos[s_] = i
                used[i] = True
                px = np.append(px, xs[i])
                py = np.append(py, ys[i])
                pr = np.append(pr, r0[s_])
                ti += 1
            fac *= 0.5
        ok = pos >= 0
        if not ok.all():
            logger.info("settlements: district %s has room for %d of %d settlements",
                        ctx.adc[k], int(ok.sum()), len(ok))
            roles, stypes, cell, share = roles[ok], stypes[ok], cell[ok], share[ok]
            ks = largest_remainder(n_d, share)
            r0 = np.sqrt(ks * cell**2 / (np.pi * 0.55))
        sel = pos[ok]
        base_theta = rng.uniform(0, np.pi / 2)
        theta = np.where(rng.random(len(sel)) < 0.5, base_theta + rng.normal(0, 0.05, len(sel)),
                         rng.uniform(0, np.pi / 2, len(sel)))
        S["x"].append(np.round(xs[sel], 2))
        S["y"].append(np.round(ys[sel], 2))
        S["dist"].append(np.full(len(sel), k))
        S["role"].append(roles)
        S["stype"].append(stypes)
        S["k"].append(ks)
        S["cell"].append(cell)
        S["theta"].append(theta)
        S["r0"].append(r0)
    table = {key: np.concatenate(v) for key, v in S.items()}
    table["id"] = np.arange(len(table["x"]))
    return Settlements(table, per_d)
