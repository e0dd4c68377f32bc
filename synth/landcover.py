"""Land cover: each MODIS cell split into 4 x 4 patches, most keeping the cell's class.

Up to 5 of a cell's 16 patches take admixed classes (by class and district:
:data:`synth.tables.ADMIX`, tea gardens in :data:`synth.tables.TEA_ADCODES`,
bamboo in :data:`synth.tables.BAMBOO_ADCODES`, wetland spots near
:data:`synth.tables.WETLAND_SPOTS`), so at least 11 (69 %) keep the cell's
class; patches are clipped to the districts, and a cell whose own class falls
under 60 % of its clipped area is reset to its class. Forest patches (not
bamboo) get an age class and a growing stock (:data:`synth.tables.STOCK_RANGE`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import synth.tables as T
from synth.context import Context, frame, locate, polygonal

__all__ = ["generic_igbp_grid", "landcover"]

#: patches per cell side
_K = 4


def landcover(ctx: Context, townships) -> gpd.GeoDataFrame:
    """Build the ``landcover`` layer from the MODIS cells over the city.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``("lc", 0)``).
    townships : synth.townships.Townships
        Townships, for the ``township_code`` of each patch.

    Returns
    -------
    geopandas.GeoDataFrame
        The ``landcover`` layer, ordered by district then cell and patch.
    """
    g = ctx.grid
    rng = ctx.rng("lc", 0)
    inter = shapely.STRtree(g.cell_poly).query(ctx.city, predicate="intersects")
    inter = np.sort(inter)
    rows, cols, codes = g.rows[inter], g.cols[inter], g.cell_code[inter]
    ncell = len(inter)
    K = _K
    sub = g.quads(rows, cols, K).reshape(ncell, K * K)
    base = g.lut[codes]
    cls = np.repeat(base[:, None], K * K, axis=1).astype(object)
    cx, cy = shapely.get_coordinates(shapely.centroid(g.cell_poly[inter])).T
    lon, lat = g.lonlat(cx, cy)
    dcell = locate(shapely.points(cx, cy), ctx.geoms, np.arange(len(ctx.geoms)), default=-1)
    dcell = dcell.astype(np.int64)
    for i in range(ncell):
        c0 = base[i]
        if c0 == "":
            continue
        adc = ctx.adc[dcell[i]] if dcell[i] >= 0 else ""
        admix = dict(T.ADMIX.get(c0, T.DEFAULT_ADMIX))
        admix.pop(c0, None)
        nmix = int(rng.integers(0, 6))
        if adc in T.TEA_ADCODES and c0 in (*T.FOREST_CLASSES, "shrubland", "cropland"):
            admix["tea_garden"] = 0.35 * sum(admix.values())
        bamboo = False
        if adc in T.BAMBOO_ADCODES and c0 in T.FOREST_CLASSES:
            side = T.BAMBOO_ADCODES[adc]
            k = dcell[i]
            west = cx[i] < ctx.geoms[k].centroid.x
            bamboo = (side is None or west) and rng.random() < 0.75
        if bamboo:
            nmix = 5
        pos = rng.permutation(K * K)[:nmix]
        if nmix:
            names = list(admix)
            p = np.array([admix[n_] for n_ in names])
            pick = rng.choice(names, size=nmix, p=p / p.sum())
            if bamboo:
                pick = np.where(rng.random(nmix) < 0.8, "bamboo_forest", pick)
            cls[i, pos] = pick
        for wl_lon, wl_lat in T.WETLAND_SPOTS:
            if abs(lon[i] - wl_lon) < 0.025 and abs(lat[i] - wl_lat) < 0.025 and c0 != "water":
                free = [q for q in range(K * K) if cls[i, q] == c0]
                take = max(0, min(3, len(free) - 11))
                cls[i, free[:take]] = "wetland"
    cell_i = np.repeat(np.arange(ncell), K * K)
    polys = sub.ravel()
    cls = cls.ravel()
    keep = cls != ""
    polys, cls, cell_i = polys[keep], cls[keep], cell_i[keep]
    geom, src, dk = _clip_to_districts(ctx, polys)
    lc = cls[src]
    area = shapely.area(geom)
    ci = cell_i[src]
    # enforce dominance of the cell class (>= 60 % of the cell's area in the city)
    base_cls = base[ci]
    df = pd.DataFrame({"cell": ci, "own": (lc == base_cls) * area, "a": area})
    agg = df.groupby("cell").sum()
    weak = agg.index[agg["own"] < 0.6 * agg["a"]].to_numpy()
    fix = np.isin(ci, weak)
    lc = np.where(fix, base_cls, lc)
    # order: by cell then patch for stable ids
    order = np.lexsort((src, dk))
    geom, lc, ci, dk, area = geom[order], lc[order], ci[order], dk[order], area[order]
    n = len(geom)
    forest = np.isin(lc, [c for c in T.FOREST_CLASSES if c != "bamboo_forest"])
    age = np.full(n, "", dtype=object)
    stock = np.full(n, np.nan)
    nf = int(forest.sum())
    ages = rng.choice(len(T.AGE_CLASSES), size=nf, p=T.AGE_P)
    age[forest] = np.array(T.AGE_CLASSES, dtype=object)[ages]
    lo = np.array([T.STOCK_RANGE[a][0] for a in T.AGE_CLASSES])[ages]
    hi = np.array([T.STOCK_RANGE[a][1] for a in T.AGE_CLASSES])[ages]
    stock[forest] = np.round(rng.uniform(lo, hi), 1)
    reps = shapely.point_on_surface(geom) if n else np.empty(0, object)
    return frame("landcover", {
        "landcover_id": [f"{ctx.cid}-lc-{i:06d}" for i in range(n)],
        "lc_class": lc, "source_scheme": ["modis_igbp"] * n,
        "source_class": codes[ci].astype(str) if n else [],
        "area_m2": area, "forest_age_class": age, "growing_stock_m3_per_ha": stock,
        "district_adcode": np.array(ctx.adc, dtype=object)[dk] if n else [],
        "township_code": locate(reps, townships.geom, townships.code)}, geom, ctx.seed)


def _clip_to_districts(ctx, polys):
    """Clip patches to the districts: pieces, index of their patch, district index."""
    tree = shapely.STRtree(polys)
    out_g, out_i, out_d = [], [], []
    for k, dist in enumerate(ctx.geoms):
        cand = tree.query(dist, predicate="intersects")
        if len(cand) == 0:
            continue
        inside = shapely.contains(dist, polys[cand])
        out_g.append(polys[cand[inside]])
        out_i.append(cand[inside])
        out_d.append(np.full(int(inside.sum()), k))
        bd = cand[~inside]
        if len(bd):
            clipped = shapely.intersection(polys[bd], dist)
            clipped = np.array([polygonal(c) for c in clipped], dtype=object)
            ok = np.array([c is not None and c.area > 1.0 for c in clipped], dtype=bool)
            out_g.append(clipped[ok])
            out_i.append(bd[ok])
            out_d.append(np.full(int(ok.sum()), k))
    geom = np.concatenate(out_g) if out_g else np.empty(0, object)
    src = np.concatenate(out_i) if out_i else np.empty(0, np.int64)
    dk = np.concatenate(out_d) if out_d else np.empty(0, np.int64)
    return geom, src, dk


def generic_igbp_grid(districts: gpd.GeoDataFrame, cell_deg: float = 0.05):
    """A stand-in MODIS IGBP grid for a city outside the shipped MODIS clip.

    Cells of ``cell_deg`` (the MCD12C1 0.05° grid) over the districts' lon/lat bounds
    plus one cell: IGBP 13 (urban and built-up) where the cell centre lies in an urban
    district (``is_urban``), 12 (cropland) elsewhere, 255 (fill) on no district. It only
    steers the generator (settlements, land-cover polygons); it is not stored as a raster.

    Parameters
    ----------
    districts : geopandas.GeoDataFrame
        Districts with ``is_urban``, in any CRS.
    cell_deg : float
        Cell size [°].

    Returns
    -------
    codes : numpy.ndarray
        2-D uint8 IGBP codes.
    transform : affine.Affine
        Geotransform (north-up, EPSG:4326).
    crs : str
        ``"EPSG:4326"``.
    """
    from affine import Affine

    d = districts.to_crs(4326)
    x0, y0, x1, y1 = d.total_bounds
    x0, y0 = np.floor(x0 / cell_deg) * cell_deg - cell_deg, np.floor(y0 / cell_deg) * cell_deg - cell_deg
    nc = int(np.ceil((x1 - x0) / cell_deg)) + 1
    nr = int(np.ceil((y1 - y0) / cell_deg)) + 1
    top = y0 + nr * cell_deg
    transform = Affine(cell_deg, 0.0, x0, 0.0, -cell_deg, top)
    cols, rows = np.meshgrid(np.arange(nc), np.arange(nr))
    cx, cy = x0 + (cols.ravel() + 0.5) * cell_deg, top - (rows.ravel() + 0.5) * cell_deg
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(cx, cy), crs=4326)
    hit = gpd.sjoin(pts, d[["is_urban", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated()]
    urban = hit["is_urban"].astype("boolean")
    codes = np.where(urban.isna(), 255, np.where(urban.fillna(False), 13, 12)).astype(np.uint8)
    return codes.reshape(nr, nc), transform, "EPSG:4326"
