r"""Ground PV sites on other land: mines, landfills, forest / tea / farmland co-use.

:func:`screen_ground` builds candidate sites from two sources and screens them:

* **user polygon layers** (:func:`user_candidates`): a GeoDataFrame with a
  ``category`` column, e.g. ``abandoned_mine`` or ``closed_landfill``. The twin has no
  mine or landfill layer and ships none: these categories exist only when a user
  supplies real polygons;
* **land cover** (:func:`landcover_candidates`): patches of the classes listed per
  category in ``data/pv/sites.toml`` (``tea_garden`` -> 茶光互补, ``cropland`` ->
  农光互补 farmland, ``shrubland``/``grassland`` -> 林光互补 forest land; arbor and
  bamboo forest are barred by 自然资办发〔2023〕12号 and left out by default).

Screening, per candidate:

1. remove protected areas / ecological red lines (``protected_area``), permanent basic
   farmland when a layer is given (``basic_farmland``), water bodies of the water
   layer and water / wetland land cover (``water``), built-up land cover
   (``built_up``): each removal is geometric (polygon difference) and its area kept;
2. shrink by the category's edge setback;
3. where a slope grid (from a DEM) is given, remove the share of the site steeper than
   ``max_slope_deg`` (area share of the grid cells whose centres fall in the site);
4. exclude what is left under ``min_area_m2`` (the reason is the removal that took the
   most area, or ``too_small`` when the candidate was small to begin with);
5. capacity as for water sites: ``usable x array_coverage_ratio x GCR x density``
   with the GCR of the winter-solstice row rule, capped by the category's ``gcr_max``
   (wider agrivoltaic rows).

Yield, storage and totals use :func:`engines.pv.water.site_yield` and
:func:`engines.pv.water.district_totals` (the one yield engine).

References
----------
.. [1] Ministry of Natural Resources, National Forestry and Grassland Administration
   (2023). 自然资源部办公厅 国家林业和草原局办公室 国家能源局综合司《关于支持光伏发电产业发展
   规范用地管理有关工作的通知》(自然资办发〔2023〕12号): PV arrays may not occupy
   cultivated land or arbor / bamboo forest land; forest-PV only on other forest land with
   the lowest module edge 1 m above the shrubs.
.. [2] 中华人民共和国水土保持法 (Soil and Water Conservation Law), Art. 20: no
   reclamation on slopes above 25°.
.. [3] A. Lopez et al., U.S. Renewable Energy Technical Potentials, NREL/TP-6A20-51946,
   2012, :doi:`10.2172/1219777` (slope and land-use exclusions for utility PV).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from engines.pv.water import (
    align_crs,
    check_polygons,
    load_site_params,
    mounting_gcr,
    row_window,
)
from twin.errors import SchemaError, listing

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["GROUND_REMOVALS", "landcover_candidates", "screen_ground", "user_candidates"]

logger = logging.getLogger(__name__)

#: Removal steps, in order: reason -> meaning.
GROUND_REMOVALS = {
    "protected_area": "protected areas and ecological red lines (user layer)",
    "basic_farmland": "permanent basic farmland (user layer)",
    "water": "water bodies of the water layer and water/wetland land cover",
    "built_up": "built-up land cover",
    "slope": "grid cells steeper than max_slope_deg (only with a DEM)",
}
_WATER_LC = ("water", "wetland", "snow_ice")


def landcover_candidates(landcover: gpd.GeoDataFrame, params: dict | None = None) -> gpd.GeoDataFrame:
    """Candidate ground sites from land-cover patches of the configured classes.

    Parameters
    ----------
    landcover : geopandas.GeoDataFrame
        The twin's ``landcover`` layer (``landcover_id``, ``lc_class``).
    params : dict, optional
        From :func:`engines.pv.water.load_site_params`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``pv_site_id`` (``'lc-' + landcover_id``), ``site_category``, ``lc_class``,
        ``landcover_id``, ``district_adcode``, ``township_code``, ``is_synthetic``,
        ``source``, geometry.
    """
    p = params if params is not None else load_site_params()
    cats = p["ground"].get("categories", {})
    cls_to_cat: dict[str, str] = {}
    for cat, cp in cats.items():
        for c in cp.get("lc_classes", []):
            if c in cls_to_cat:
                msg = (f"[ground.categories]: lc_class {c!r} is listed by both "
                       f"{cls_to_cat[c]!r} and {cat!r}; give each class one category")
                raise SchemaError(msg)
            cls_to_cat[c] = cat
    if "lc_class" not in landcover.columns or "landcover_id" not in landcover.columns:
        msg = "landcover layer: columns 'landcover_id' and 'lc_class' are required"
        raise SchemaError(msg)
    lc = landcover["lc_class"].astype(str)
    sel = landcover.loc[lc.isin(list(cls_to_cat))]
    out = gpd.GeoDataFrame({
        "pv_site_id": ("lc-" + sel["landcover_id"].astype(str)).to_numpy(),
        "site_category": sel["lc_class"].astype(str).map(cls_to_cat).to_numpy(),
        "lc_class": sel["lc_class"].astype(str).to_numpy(),
        "landcover_id": sel["landcover_id"].astype(str).to_numpy(),
        "district_adcode": (sel["district_adcode"].fillna("").astype(str).to_numpy()
                            if "district_adcode" in sel else [""] * len(sel)),
        "township_code": (sel["township_code"].fillna("").astype(str).to_numpy()
                          if "township_code" in sel else [""] * len(sel)),
        "is_synthetic": (sel["is_synthetic"].astype(bool).to_numpy()
                         if "is_synthetic" in sel else False),
        "source": sel["source"].astype(str).to_numpy() if "source" in sel else "",
    }, geometry=sel.geometry.to_numpy(), crs=landcover.crs)
    return out


def user_candidates(sites: gpd.GeoDataFrame, params: dict | None = None, *,
                    districts: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Candidate ground sites from a user polygon layer with a ``category`` column.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Polygons with ``category`` (a key of ``[ground.categories]``, e.g.
        ``abandoned_mine``, ``closed_landfill``); optional ``site_id`` or ``name``,
        ``is_synthetic`` (default False), ``source``, ``district_adcode``.
    params : dict, optional
        From :func:`engines.pv.water.load_site_params`.
    districts : geopandas.GeoDataFrame, optional
        District polygons (``adcode``) to fill ``district_adcode`` by representative point.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns as :func:`landcover_candidates` (``lc_class``/``landcover_id`` empty);
        ``pv_site_id`` is ``'user-' + site_id`` (or the row number).

    Raises
    ------
    SchemaError
        No ``category`` column, unknown categories, or duplicate ``site_id``.
    """
    p = params if params is not None else load_site_params()
    cats = p["ground"].get("categories", {})
    if not isinstance(sites, gpd.GeoDataFrame) or "category" not in sites.columns:
        msg = ("user sites: expected a GeoDataFrame with a 'category' column (one of "
               f"{sorted(cats)})")
        raise SchemaError(msg)
    cat = sites["category"].astype(str).to_numpy()
    bad = ~np.isin(cat, list(cats))
    if bad.any():
        msg = (f"user sites: category {listing(sorted(set(cat[bad])), 5)} in {bad.sum()} row(s) "
               f"(rows {listing(sites.index[bad], 5)}) is not one of {sorted(cats)}; fix the "
               "values or add the category to [ground.categories] in data/pv/sites.toml")
        raise SchemaError(msg)
    n = len(sites)
    if "site_id" in sites.columns:
        sid = sites["site_id"].astype(str).to_numpy()
    else:
        sid = np.array([f"{i:05d}" for i in range(n)], dtype=object)
    dup = pd.Series(sid).duplicated(keep=False).to_numpy()
    if dup.any():
        msg = f"user sites: duplicate site_id {listing(sorted(set(sid[dup])), 5)}; make them unique"
        raise SchemaError(msg)
    adc = (sites["district_adcode"].fillna("").astype(str).to_numpy()
           if "district_adcode" in sites.columns else np.full(n, "", dtype=object))
    if districts is not None and n and (adc == "").any():
        d = align_crs(districts, sites.crs, "districts")
        reps = shapely.point_on_surface(np.asarray(sites.geometry.to_numpy(), dtype=object))
        tree = shapely.STRtree(np.asarray(d.geometry.to_numpy(), dtype=object))
        pi, di = tree.query(reps, predicate="within")
        codes = d["adcode"].astype(str).to_numpy()
        fill = adc.copy()
        fill[pi] = codes[di]
        adc = np.where(adc == "", fill, adc)
    return gpd.GeoDataFrame({
        "pv_site_id": np.char.add("user-", sid.astype(str)).astype(object),
        "site_category": cat,
        "lc_class": "", "landcover_id": "",
        "district_adcode": adc, "township_code": "",
        "is_synthetic": (sites["is_synthetic"].astype(bool).to_numpy()
                         if "is_synthetic" in sites else False),
        "source": sites["source"].astype(str).to_numpy() if "source" in sites else "user layer",
    }, geometry=sites.geometry.to_numpy(), crs=sites.crs)


def _remove(geom: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract ``others`` from each geometry; return new geometries and removed area [m²]."""
    removed = np.zeros(len(geom))
    if len(others) == 0 or len(geom) == 0:
        return geom, removed
    tree = shapely.STRtree(others)
    gi, oi = tree.query(geom, predicate="intersects")
    if len(gi) == 0:
        return geom, removed
    out = geom.copy()
    order = np.argsort(gi, kind="stable")
    gi, oi = gi[order], oi[order]
    starts = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]])
    ends = np.r_[starts[1:], len(gi)]
    for s, e in zip(starts, ends, strict=True):
        k = gi[s]
        cut = shapely.union_all(others[oi[s:e]])
        new = shapely.difference(geom[k], cut, grid_size=None)
        new = new if shapely.get_type_id(new) in (3, 6) else _poly_part(new)
        removed[k] = geom[k].area - new.area
        out[k] = new
    return out, removed


def _poly_part(g: shapely.Geometry) -> shapely.Geometry:
    parts = [q for q in shapely.get_parts(g) if shapely.get_type_id(q) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _steep_share(geom: np.ndarray, slope_deg: np.ndarray, transform: Affine, max_slope_deg: float
                 ) -> np.ndarray:
    """Share of each geometry's grid cells (by centre) steeper than ``max_slope_deg``."""
    from rasterio.features import rasterize

    share = np.zeros(len(geom))
    ok = ~shapely.is_empty(geom)
    if not ok.any():
        return share
    idx = np.flatnonzero(ok)
    labels = rasterize(((g, int(i) + 1) for g, i in zip(geom[idx], idx, strict=True)),
                       out_shape=slope_deg.shape, transform=transform, fill=0, dtype="int32")
    flat = labels.ravel()
    known = np.isfinite(slope_deg.ravel())
    steep = known & (slope_deg.ravel() > max_slope_deg)
    total = np.bincount(flat[known], minlength=len(geom) + 1)[1:]
    nsteep = np.bincount(flat[steep], minlength=len(geom) + 1)[1:]
    np.divide(nsteep, total, out=share, where=total > 0)
    return share


def screen_ground(candidates: gpd.GeoDataFrame, *, latitude_deg: float,
                  params: dict | None = None, water: gpd.GeoDataFrame | None = None,
                  landcover: gpd.GeoDataFrame | None = None,
                  protected_areas: gpd.GeoDataFrame | None = None,
                  basic_farmland: gpd.GeoDataFrame | None = None,
                  slope_deg: np.ndarray | None = None, slope_transform: Affine | None = None,
                  repair: bool = True) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Screen candidate ground sites: exclusions, setback, slope, minimum area, capacity.

    Parameters
    ----------
    candidates : geopandas.GeoDataFrame
        From :func:`landcover_candidates` and/or :func:`user_candidates` (concatenated).
    latitude_deg : float
        Latitude of the city [°] (row spacing).
    params : dict, optional
        From :func:`engines.pv.water.load_site_params`.
    water : geopandas.GeoDataFrame, optional
        Water layer; its polygons are removed (``water``).
    landcover : geopandas.GeoDataFrame, optional
        Land-cover layer; patches of ``[ground] exclude_lc_classes`` are removed
        (``built_up``; water, wetland and snow/ice as ``water``).
    protected_areas, basic_farmland : geopandas.GeoDataFrame, optional
        Polygons removed as ``protected_area`` / ``basic_farmland``.
    slope_deg : numpy.ndarray, optional
        Slope grid [°] in the candidates' CRS (NaN = unknown, kept), with
        ``slope_transform`` (affine); without it no slope exclusion is made.
    repair : bool
        Repair invalid candidate polygons (reported) instead of raising.

    Returns
    -------
    screened : geopandas.GeoDataFrame
        Candidates with the remaining geometry and ``area_m2`` (before removals),
        ``removed_<reason>_m2`` per removal, ``site_exclusion_reason``, ``mounting``,
        ``edge_setback_m``, ``usable_area_m2``, ``array_coverage_ratio``,
        ``ground_coverage_ratio``, ``module_area_m2``, ``capacity_mwp``,
        ``capacity_density_mwp_per_km2``, ``surface_tilt``, ``surface_azimuth``,
        ``albedo``.
    repairs : pandas.DataFrame
        Repaired candidate polygons.
    """
    p = params if params is not None else load_site_params()
    gp, common = p["ground"], p["common"]
    cats = gp.get("categories", {})
    cand, repairs = check_polygons(candidates, "pv_site_id", "ground candidates", repair=repair)
    crs = cand.crs
    n = len(cand)
    geom0 = np.asarray(cand.geometry.to_numpy(), dtype=object)
    area0 = shapely.area(geom0) if n else np.zeros(0)
    geom = geom0.copy()
    removed = {}

    def polys(gdf: gpd.GeoDataFrame | None, where: str,
              mask: Callable[[gpd.GeoDataFrame], np.ndarray] | None = None) -> np.ndarray:
        if gdf is None:
            return np.empty(0, dtype=object)
        g = align_crs(gdf, crs, where)
        if mask is not None:
            g = g.loc[mask(g)]
        g = g.loc[~g.geometry.isna()]
        return np.asarray(shapely.make_valid(g.geometry.to_numpy()), dtype=object)

    excl = [str(c) for c in gp.get("exclude_lc_classes", [])]

    def lc_mask(classes: list[str]) -> Callable[[gpd.GeoDataFrame], np.ndarray]:
        return lambda g: g["lc_class"].astype(str).isin(classes).to_numpy()

    water_lc = [c for c in excl if c in _WATER_LC]
    built_lc = [c for c in excl if c not in _WATER_LC]
    water_geoms = np.concatenate([polys(water, "water"),
                                  polys(landcover, "landcover", lc_mask(water_lc))])
    steps = [("protected_area", polys(protected_areas, "protected_areas")),
             ("basic_farmland", polys(basic_farmland, "basic_farmland")),
             ("water", water_geoms),
             ("built_up", polys(landcover, "landcover", lc_mask(built_lc)))]
    for why, others in steps:
        geom, removed[why] = _remove(geom, others)

    setback = np.zeros(n)
    cover = np.zeros(n)
    gcr = np.zeros(n)
    tilt = np.zeros(n)
    alb = np.zeros(n)
    mounting = np.full(n, "", dtype=object)
    catv = cand["site_category"].astype(str).to_numpy()
    for cat, cp in cats.items():
        m = catv == cat
        if not m.any():
            continue
        mp = p["mountings"][cp["mounting"]]
        setback[m] = float(cp["edge_setback_m"])
        cover[m] = float(cp["array_coverage_ratio"])
        gcr[m] = mounting_gcr(mp["tilt_deg"], latitude_deg, float(cp.get("gcr_max", 1.0)),
                              solar_window_h=row_window(common))
        tilt[m] = float(mp["tilt_deg"])
        alb[m] = float(mp["albedo"])
        mounting[m] = cp["mounting"]
    shrunk = shapely.buffer(geom, -setback, join_style="mitre") if n else geom
    usable = shapely.area(shrunk) if n else np.zeros(0)
    removed["slope"] = np.zeros(n)
    if slope_deg is not None and n:
        if slope_transform is None:
            msg = "screen_ground: slope_deg was given without slope_transform (its affine transform)"
            raise SchemaError(msg)
        share = _steep_share(shrunk, np.asarray(slope_deg, dtype=float), slope_transform,
                             float(gp["max_slope_deg"]))
        removed["slope"] = usable * share
        usable = usable * (1.0 - share)

    min_area = float(gp["min_area_m2"])
    reason = np.full(n, "", dtype=object)
    small0 = area0 < min_area
    reason[small0] = "too_small"
    short = (~small0) & (usable < min_area)
    if short.any():
        names = list(removed)
        mat = np.column_stack([removed[k] for k in names])
        worst = np.asarray(names, dtype=object)[np.argmax(mat, axis=1)]
        any_removed = mat.max(axis=1) > 0
        reason[short & any_removed] = worst[short & any_removed]
        reason[short & ~any_removed & (usable <= 0)] = "no_usable_area"
        reason[short & ~any_removed & (usable > 0)] = "too_small"
    keep = reason == ""
    dens = float(common["module_power_density_kw_per_m2"])
    density = np.where(keep, cover * gcr * dens * 1000.0, 0.0)
    out = cand.copy()
    out = out.set_geometry(gpd.GeoSeries(geom, index=cand.index, crs=crs))
    out["area_m2"] = area0
    for k, v in removed.items():
        out[f"removed_{k}_m2"] = v
    out["site_exclusion_reason"] = reason.astype(str)
    out["mounting"] = np.where(keep, mounting, "").astype(str)
    out["edge_setback_m"] = np.where(keep, setback, 0.0)
    out["usable_area_m2"] = np.where(keep, usable, 0.0)
    out["array_coverage_ratio"] = np.where(keep, cover, 0.0)
    out["ground_coverage_ratio"] = np.where(keep, gcr, 0.0)
    out["module_area_m2"] = out["usable_area_m2"] * out["array_coverage_ratio"] * gcr
    out["capacity_mwp"] = out["usable_area_m2"].to_numpy() * density / 1e6
    out["capacity_density_mwp_per_km2"] = density
    out["surface_tilt"] = np.where(keep, tilt, 0.0)
    out["surface_azimuth"] = np.where(keep, float(common["azimuth_deg"]), 0.0)
    out["albedo"] = np.where(keep, alb, 0.0)
    logger.info("ground PV: %d of %d candidates are sites, %.1f MWp", keep.sum(), n,
                out["capacity_mwp"].sum())
    return out, repairs
