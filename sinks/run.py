"""Orchestrator: read a built twin, run the sink accounting, commit the results.

Results committed to the twin's catalog:

``sink_patches`` (result layer)
    One row per land-cover polygon: class, area, pools [t C], total stock with
    low/high bounds, growing stock, gain-loss CO2 removal [t CO2/yr].
``sink_indicators`` (table)
    Per city, district and township: every indicator of
    :data:`sinks.indicators.INDICATORS` from the polygons (``input_kind =
    'polygons'``) and, when the twin has a land-cover raster, from the raster
    (``'raster'``), beside its seed targets and 2020 baselines with the gap.
    Stock-difference removals (``method = 'stock_difference'``) when a previous
    raster epoch is given.
``sink_unmapped_classes`` (table)
    Raster class codes missing from the class table, with pixel counts and areas.
``sink_scenario`` (table)
    Before/after/change of every indicator when a scenario is given.
``sink_factors`` (table)
    Every factor used, with its citation.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sinks.factors import read_factors
from sinks.indicators import WETLAND_CLASSES, compute_indicators, ledger_from_class_areas, ledger_from_patches
from sinks.raster import class_areas, zonal_class_counts
from sinks.rates import gain_loss, stock_difference
from sinks.scenarios import apply_scenario, compare_indicators, read_scenario
from sinks.stocks import patch_stocks
from twin.errors import CatalogError, DataWarning, SchemaError

__all__ = ["STEPS", "account_patches", "raster_ledger", "run_sinks"]

logger = logging.getLogger(__name__)

#: Progress steps reported by :func:`run_sinks`.
STEPS = ("read", "polygons", "raster", "scenario", "commit")

_PATCH_COLS = ["landcover_id", "lc_class", "district_adcode", "township_code", "area_m2",
               "forest_age_class", "growing_stock_m3_per_ha"]


def _zones(boundaries: gpd.GeoDataFrame) -> pd.DataFrame:
    z = pd.DataFrame({
        "adcode": boundaries["adcode"].astype(str).to_numpy(),
        "level": boundaries["level"].astype(str).to_numpy(),
        "name_zh": boundaries["name_zh"].astype(str).to_numpy(),
        "parent_adcode": boundaries["parent_adcode"].fillna("").astype(str).to_numpy(),
        "zone_area_m2": boundaries.geometry.area.to_numpy(),
    })
    if not (z["level"] == "township").any():
        msg = "boundaries have no township level; sink accounting needs townships"
        raise SchemaError(msg)
    return z


def _assign_zones(lc: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill empty township/district codes from the township containing each patch."""
    lc = lc.copy()
    for col in ("township_code", "district_adcode"):
        lc[col] = lc[col].fillna("").astype(str) if col in lc.columns else ""
    miss = (lc["township_code"] == "") | (lc["district_adcode"] == "")
    if miss.any():
        pts = shapely.point_on_surface(lc.geometry.to_numpy()[miss.to_numpy()])
        tree = shapely.STRtree(townships.geometry.to_numpy())
        hit = tree.query(pts, predicate="within")
        code = np.full(int(miss.sum()), "", dtype=object)
        parent = np.full(int(miss.sum()), "", dtype=object)
        code[hit[0]] = townships["adcode"].to_numpy()[hit[1]]
        parent[hit[0]] = townships["parent_adcode"].to_numpy()[hit[1]]
        idx = lc.index[miss]
        lc.loc[idx, "township_code"] = np.where(lc.loc[idx, "township_code"] == "", code,
                                                lc.loc[idx, "township_code"])
        lc.loc[idx, "district_adcode"] = np.where(lc.loc[idx, "district_adcode"] == "", parent,
                                                  lc.loc[idx, "district_adcode"])
    lost = lc["district_adcode"] == ""
    if lost.any():
        warnings.warn(f"{int(lost.sum())} land-cover patches lie outside every township "
                      f"({lc.loc[lost, 'area_m2'].sum():.0f} m2); they count in the city total "
                      "under district ''", DataWarning, stacklevel=2)
    return lc


def _protected_area(lc: gpd.GeoDataFrame, water: gpd.GeoDataFrame | None) -> np.ndarray:
    """Area of each wetland-class patch inside a protected water body [m²]; NaN for other classes."""
    out = np.full(len(lc), np.nan)
    wet = lc["lc_class"].isin(WETLAND_CLASSES).to_numpy()
    out[wet] = 0.0
    if water is None or "is_protected" not in water.columns or not wet.any():
        return out
    prot = water.loc[water["is_protected"].fillna(False).astype(bool)].geometry.to_numpy()
    if not len(prot):
        return out
    geoms = lc.geometry.to_numpy()
    wi = np.flatnonzero(wet)
    tree = shapely.STRtree(prot)
    pairs = tree.query(geoms[wi], predicate="intersects")
    if pairs.shape[1]:
        inter = shapely.area(shapely.intersection(geoms[wi][pairs[0]], prot[pairs[1]]))
        np.add.at(out, wi[pairs[0]], inter)
        out[wi] = np.minimum(out[wi], shapely.area(geoms[wi]))
    return out


def account_patches(lc: gpd.GeoDataFrame, factors, water=None) -> gpd.GeoDataFrame:
    """Stocks and gain-loss removals of every land-cover patch (the ``sink_patches`` layer).

    Parameters
    ----------
    lc : GeoDataFrame
        Land-cover layer in a metric CRS with ``district_adcode`` and ``township_code``.
    factors : FactorSet
    water : GeoDataFrame, optional
        Water layer (``is_protected``) for the wetland protection rate.
    """
    if lc.crs is None or not lc.crs.is_projected:
        msg = "land-cover polygons must be in a projected CRS (metres) for areas; reproject first"
        raise SchemaError(msg)
    df = pd.DataFrame({c: lc[c] for c in _PATCH_COLS if c in lc.columns}, index=lc.index)
    df["lc_class"] = df["lc_class"].astype(str)
    df["forest_age_class"] = (df["forest_age_class"].astype(object).where(
        df["forest_age_class"].notna(), "").astype(str) if "forest_age_class" in df.columns else "")
    df["area_m2"] = lc.geometry.area.to_numpy()
    res = pd.concat([df, patch_stocks(df, factors), gain_loss(df, factors)], axis=1)
    res["protected_area_m2"] = _protected_area(lc, water)
    res["is_synthetic"] = (lc["is_synthetic"].fillna(False).astype(bool)
                           if "is_synthetic" in lc.columns else False)
    res["source"] = lc["source"].astype(str) if "source" in lc.columns else ""
    return gpd.GeoDataFrame(res, geometry=lc.geometry.to_numpy(), crs=lc.crs)


def raster_ledger(raster_path, townships: gpd.GeoDataFrame, class_table: dict, factors, *,
                  threads: int = 2, progress=None):
    """Zonal raster accounting per township -> (ledger, township areas, unknown codes, counts).

    The township area is its mapped raster area (classified + unknown pixels; nodata excluded).
    """
    zc = zonal_class_counts(raster_path, townships, "adcode", threads=threads, progress=progress)
    areas, unknown, nodata = class_areas(zc.table, class_table)
    parent = dict(zip(townships["adcode"], townships["parent_adcode"], strict=True))
    areas = areas.rename(columns={"zone": "township_code"})
    areas["district_adcode"] = areas["township_code"].map(parent).fillna("")
    ledger = ledger_from_class_areas(areas, factors)
    mapped = pd.concat([areas.rename(columns={"township_code": "zone"})[["zone", "area_m2"]],
                        unknown[["zone", "area_m2"]]]).groupby("zone")["area_m2"].sum()
    if len(unknown):
        summary = unknown.groupby("code")[["n_pixels", "area_m2"]].sum()
        warnings.warn(f"{raster_path}: class codes missing from the class table: "
                      + ", ".join(f"{c} ({int(r.n_pixels)} px, {r.area_m2 / 1e6:.3f} km2)"
                                  for c, r in summary.iterrows())
                      + "; they count in the zone area but in no class (table sink_unmapped_classes)",
                      DataWarning, stacklevel=2)
    if len(nodata):
        logger.info("%d nodata pixels inside the zones", int(nodata["n_pixels"].sum()))
    return ledger, mapped, unknown, zc


def _stock_difference_rows(now: pd.DataFrame, before: pd.DataFrame, years: float,
                           city_code: str) -> dict:
    extra = {}
    for level, key in (("city", None), ("district", "district_adcode"), ("township", "township_code")):
        cols = ["carbon_stock_t_c", "carbon_stock_low_t_c", "carbon_stock_high_t_c"]
        if key is None:
            a = now[cols].sum().to_frame(city_code).T
            b = before[cols].sum().to_frame(city_code).T
        else:
            a = now.groupby(key)[cols].sum()
            b = before.groupby(key)[cols].sum()
        a, b = a.align(b, fill_value=0.0)
        for code in a.index:
            if not code:
                continue
            v = [float(stock_difference(b.loc[code, c], a.loc[code, c], years)) for c in cols]
            extra.setdefault((level, code), {})["co2_uptake_t_per_yr"] = (
                v[0], min(v[1], v[2]), max(v[1], v[2]),
                f"stock difference over {years:g} yr between two land-cover epochs; positive = removal",
                "stock_difference")
    return extra


def run_sinks(
    city: str,
    *,
    home=None,
    scenario: str | Path | None = None,
    use_raster: bool = True,
    previous_raster: str | Path | None = None,
    years: float | None = None,
    scheme: str | None = None,
    special_shrubland_share: float = 0.0,
    factors_dir: str | Path | None = None,
    threads: int = 2,
    commit: bool = True,
    progress=None,
) -> dict:
    """Run the sink accounting on a built twin and commit the results.

    Parameters
    ----------
    city : str
        City id of a built twin.
    home : path-like, optional
        TWIN_HOME.
    scenario : path-like, optional
        Scenario polygons (:mod:`sinks.scenarios`).
    use_raster : bool
        Also account the twin's ``landcover_raster`` by district and township.
    previous_raster : path-like, optional
        Land-cover raster of an earlier epoch (same class scheme) for stock-difference removals.
    years : float, optional
        Years between ``previous_raster`` and the twin's raster (required with it).
    scheme : str, optional
        Class table for the rasters (default: the raster's metadata ``scheme``).
    special_shrubland_share : float
        Share of shrubland counted as forest (see :mod:`sinks.indicators`).
    factors_dir : path-like, optional
        Folder with the factor tables (default ``data/sinks``).
    threads : int
        Threads for raster accounting.
    commit : bool
        Write the results into the twin.
    progress : callable, optional
        Called with a step name of :data:`STEPS` (and ``"raster i/n"`` for windows).

    Returns
    -------
    dict
        ``sink_patches`` (GeoDataFrame), ``sink_indicators``, and when present
        ``sink_unmapped_classes`` and ``sink_scenario`` (DataFrames).
    """
    from layers.landcover import read_class_table
    from twin.config import load_city
    from twin.store import TwinStore

    def step(name):
        if progress is not None:
            progress(name)

    step("read")
    cfg = load_city(city)
    store = TwinStore(city, home)
    store.require()
    factors = read_factors(factors_dir)
    bounds = store.read_layer("boundaries").to_crs(cfg.metric_crs)
    zones = _zones(bounds)
    townships = bounds.loc[bounds["level"] == "township"].reset_index(drop=True)
    townships["parent_adcode"] = townships["parent_adcode"].fillna("").astype(str)
    lc = store.read_layer("landcover").to_crs(cfg.metric_crs)
    lc = _assign_zones(lc, townships)
    try:
        water = store.read_layer("water", columns=["is_protected"]).to_crs(cfg.metric_crs)
    except CatalogError:
        water = None

    step("polygons")
    patches = account_patches(lc, factors, water)
    ledger = ledger_from_patches(patches)
    poly_zones = zones.copy()
    indicators = [compute_indicators(ledger, poly_zones, cfg, input_kind="polygons",
                                     special_shrubland_share=special_shrubland_share)]
    out: dict = {"sink_patches": patches}

    step("raster")
    if use_raster:
        try:
            rpath, rmeta = store.raster_path("landcover_raster")
        except CatalogError:
            rpath = None
            logger.info("no land-cover raster in the twin; polygon accounting only")
        if rpath is not None:
            table = read_class_table(scheme or rmeta.get("scheme", "modis_igbp"))

            def win_progress(done, total):
                step(f"raster {done}/{total}")

            r_ledger, mapped, unknown, _ = raster_ledger(rpath, townships, table, factors,
                                                         threads=threads, progress=win_progress)
            rz = zones.copy()
            tmask = rz["level"] == "township"
            rz.loc[tmask, "zone_area_m2"] = rz.loc[tmask, "adcode"].map(mapped).fillna(0.0)
            extra = None
            if previous_raster is not None:
                if years is None:
                    msg = "--previous-raster needs --years (time between the two epochs)"
                    raise SchemaError(msg)
                p_ledger, _, p_unknown, _ = raster_ledger(previous_raster, townships, table,
                                                          factors, threads=threads)
                city_code = str(zones.loc[zones["level"] == "city", "adcode"].iloc[0])
                extra = _stock_difference_rows(r_ledger, p_ledger, float(years), city_code)
                unknown = pd.concat([unknown.assign(epoch="current"),
                                     p_unknown.assign(epoch="previous")], ignore_index=True)
            indicators.append(compute_indicators(
                r_ledger, rz, cfg, input_kind="raster",
                special_shrubland_share=special_shrubland_share, extra=extra))
            unknown = unknown.rename(columns={"zone": "township_code", "code": "source_code"})
            out["sink_unmapped_classes"] = unknown.reset_index(drop=True)
    out["sink_indicators"] = pd.concat(indicators, ignore_index=True)

    step("scenario")
    if scenario is not None:
        scen = read_scenario(scenario, crs=cfg.metric_crs)
        lc2 = apply_scenario(lc, scen)
        patches2 = account_patches(lc2, factors, water)
        after = compute_indicators(ledger_from_patches(patches2), poly_zones, cfg,
                                   input_kind="polygons",
                                   special_shrubland_share=special_shrubland_share)
        cmp_ = compare_indicators(indicators[0], after)
        cmp_.insert(0, "scenario", Path(scenario).stem)
        out["sink_scenario"] = cmp_

    step("commit")
    if commit:
        tables = {k: v for k, v in out.items() if k != "sink_patches"}
        tables["sink_factors"] = factors.citations
        store.commit(results={"sink_patches": patches}, tables=tables,
                     meta={"sinks": {"scenario": str(scenario) if scenario else None,
                                     "special_shrubland_share": special_shrubland_share,
                                     "factors_dir": str(factors_dir or "data/sinks")}})
    return out
