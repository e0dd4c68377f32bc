"""The sink accounting engine: stocks, removals and indicators of land-cover patches and rasters.

:func:`load` reads a built twin; :func:`compute` returns (and the shell commits):

``sink_patches`` (result layer)
    One row per land-cover polygon: class, area, pools [t C], total stock with
    low/high bounds, growing stock, gain-loss CO2 removal [t CO2/yr], net volume
    increment, and the unverified factor rows the patch's values rest on.
``sink_indicators`` (table)
    Per city, district and township: every indicator of
    :data:`engines.sinks.indicators.INDICATORS` from the polygons (``input_kind =
    'polygons'``) and, when the twin has a land-cover raster, from the raster
    (``'raster'``), beside its seed targets and 2020 baselines with the gap.
    Stock-difference removals (``method = 'stock_difference'``) and the net change
    of the wetland area (``wetland_area_change_mu``, Huzhou's 占补平衡 rule) when a
    previous raster epoch is given.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from engines.sinks.calibration import carve_hidden_classes, split_raster_areas
from engines.sinks.change import merge_extra, wetland_change_rows
from engines.sinks.factors import FactorSet, read_factors
from engines.sinks.indicators import (
    WETLAND_CLASSES,
    ExtraRows,
    compute_indicators,
    ledger_from_class_areas,
    ledger_from_patches,
)
from engines.sinks.params import SinksParams
from engines.sinks.raster import ZonalCounts, zonal_class_counts
from engines.sinks.rates import gain_loss, ipcc_stock_change
from engines.sinks.scenarios import apply_scenario, compare_indicators, read_scenario
from engines.sinks.stocks import patch_stocks
from twin.config import CityConfig
from twin.engine import EngineResult, TwinSource
from twin.errors import DataWarning, SchemaError
from twin.params import to_dict

__all__ = ["STEPS", "SinksInputs", "account_patches", "compute", "load", "raster_ledger"]

logger = logging.getLogger(__name__)

#: Progress steps reported by :func:`compute`.
STEPS = ("polygons", "raster", "scenario")

_PATCH_COLS = ["landcover_id", "lc_class", "district_adcode", "township_code", "area_m2",
               "forest_age_class", "growing_stock_m3_per_ha", "is_tended"]


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


def account_patches(lc: gpd.GeoDataFrame, factors: FactorSet, water: gpd.GeoDataFrame | None = None
                    ) -> gpd.GeoDataFrame:
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
    flags = {c: "; ".join(factors.unverified([c], "stock") + factors.unverified([c], "uptake"))
             for c in set(res["lc_class"])}
    res["unverified_factors"] = res["lc_class"].map(flags).fillna("")
    return gpd.GeoDataFrame(res, geometry=lc.geometry.to_numpy(), crs=lc.crs)


def raster_ledger(raster_path: str | Path, townships: gpd.GeoDataFrame, class_table: dict[int, str],
                  factors: FactorSet, *, threads: int = 2, progress: Callable[[int, int], None] | None = None,
                  scheme: str = "modis_igbp", city: str = ""
                  ) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, ZonalCounts]:
    """Zonal raster accounting per township -> (ledger, township areas, unknown codes, counts).

    The township area is its mapped raster area (classified + unknown pixels; nodata excluded).
    Class codes are split into twin classes with the calibrated shares and stand volumes of
    ``factors.raster_classes`` (:func:`engines.sinks.calibration.split_raster_areas`), and the
    classes the raster cannot see (bamboo, tea) are carved out per district from
    ``factors.hidden`` for ``city`` (:func:`engines.sinks.calibration.carve_hidden_classes`).
    """
    zc = zonal_class_counts(raster_path, townships, "adcode", threads=threads, progress=progress)
    areas, unknown, nodata = split_raster_areas(zc.table, class_table, factors.raster_classes, scheme)
    parent = dict(zip(townships["adcode"], townships["parent_adcode"], strict=True))
    areas = areas.rename(columns={"zone": "township_code"})
    areas["district_adcode"] = areas["township_code"].map(parent).fillna("")
    areas = (areas.groupby(["district_adcode", "township_code", "lc_class", "growing_stock_m3_per_ha"],
                           as_index=False, dropna=False)["area_m2"].sum())
    areas, _ = carve_hidden_classes(areas, factors.hidden, city)
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
                           city_code: str, factors: FactorSet) -> ExtraRows:
    extra: ExtraRows = {}
    note = (f"stock difference over {years:g} yr between two land-cover epochs (IPCC Approach 1): "
            "growth of land remaining and converted, biomass lost at conversion, soil over "
            "20 yr; positive = removal")
    for level, key in (("city", None), ("district", "district_adcode"), ("township", "township_code")):
        if key is None:
            groups = [(city_code, now, before)]
        else:
            codes = sorted(set(now[key]) | set(before[key]))
            groups = [(c, now.loc[now[key] == c], before.loc[before[key] == c]) for c in codes]
        for code, a, b in groups:
            if not code:
                continue
            v = ipcc_stock_change(b, a, years, factors)
            extra.setdefault((level, code), {})["co2_uptake_t_per_yr"] = (
                v["central"], v["low"], v["high"], note, "stock_difference")
    return extra


@dataclass
class SinksInputs:
    """Everything the sink accounting reads from a built twin (see :func:`load`)."""

    config: CityConfig
    factors: FactorSet
    boundaries: gpd.GeoDataFrame
    landcover: gpd.GeoDataFrame
    water: gpd.GeoDataFrame | None
    raster: tuple[Path, dict] | None
    class_table: dict[int, str] | None
    previous_raster: str | None
    scenario: gpd.GeoDataFrame | None
    scenario_name: str | None
    threads: int = 2


def load(source: TwinSource, params: SinksParams, *, threads: int = 2) -> SinksInputs:
    """Read the accounting's inputs: boundaries, land cover, water, the raster path, factors, scenario.

    Parameters
    ----------
    threads : int
        Threads for the raster accounting (speed only; results do not depend on it).
    """
    from layers.landcover import read_class_table

    cfg = source.city
    factors = read_factors(params.factors_dir)
    bounds = source.read_layer("boundaries").to_crs(cfg.metric_crs)
    lc = source.read_layer("landcover").to_crs(cfg.metric_crs)
    water = (source.read_layer("water", columns=["is_protected"]).to_crs(cfg.metric_crs)
             if source.has_layer("water") else None)
    raster = source.raster("landcover_raster") if params.use_raster else None
    if params.use_raster and raster is None:
        logger.info("no land-cover raster in the twin; polygon accounting only")
    table = read_class_table(params.scheme or raster[1].get("scheme", "modis_igbp")) if raster else None
    scen = read_scenario(params.sink_scenario, crs=cfg.metric_crs) if params.sink_scenario else None
    return SinksInputs(cfg, factors, bounds, lc, water, raster, table, params.previous_raster, scen,
                       Path(params.sink_scenario).stem if params.sink_scenario else None, threads)


def compute(inputs: SinksInputs, params: SinksParams, *,
            progress: Callable[[str], None] | None = None) -> EngineResult:
    """Stocks, removals and indicators of the polygons (and the raster, and a scenario).

    Returns
    -------
    EngineResult
        Result ``sink_patches``; tables ``sink_indicators``, ``sink_factors`` and when
        present ``sink_unmapped_classes`` and ``sink_scenario``; meta ``sinks``. The
        land-cover rasters are read window by window from their files.
    """
    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    cfg, factors, threads = inputs.config, inputs.factors, inputs.threads
    special_shrubland_share = params.special_shrubland_share
    bounds = inputs.boundaries
    zones = _zones(bounds)
    townships = bounds.loc[bounds["level"] == "township"].reset_index(drop=True)
    townships["parent_adcode"] = townships["parent_adcode"].fillna("").astype(str)
    lc = _assign_zones(inputs.landcover, townships)
    water = inputs.water
    step("polygons")
    patches = account_patches(lc, factors, water)
    ledger = ledger_from_patches(patches)
    poly_zones = zones.copy()
    tols = factors.baseline_tolerance_pct
    indicators = [compute_indicators(ledger, poly_zones, cfg, input_kind="polygons",
                                     special_shrubland_share=special_shrubland_share,
                                     factors=factors, tolerances=tols)]
    out: dict = {"sink_patches": patches}

    step("raster")
    if inputs.raster is not None:
        rpath = inputs.raster[0]
        table = inputs.class_table
        assert table is not None  # load reads the class table with the raster

        def win_progress(done: int, total: int) -> None:
            step(f"raster {done}/{total}")

        scheme = params.scheme or str(inputs.raster[1].get("scheme", "modis_igbp"))
        r_ledger, mapped, unknown, _ = raster_ledger(rpath, townships, table, factors,
                                                     threads=threads, progress=win_progress,
                                                     scheme=scheme, city=cfg.id)
        rz = zones.copy()
        tmask = rz["level"] == "township"
        rz.loc[tmask, "zone_area_m2"] = rz.loc[tmask, "adcode"].map(mapped).fillna(0.0)
        extra = None
        if inputs.previous_raster is not None:
            assert params.years is not None  # SinksParams.problems: a previous epoch needs years
            p_ledger, _, p_unknown, _ = raster_ledger(inputs.previous_raster, townships, table,
                                                      factors, threads=threads, scheme=scheme,
                                                      city=cfg.id)
            city_code = str(zones.loc[zones["level"] == "city", "adcode"].iloc[0])
            extra = _stock_difference_rows(r_ledger, p_ledger, float(params.years), city_code,
                                           factors)
            extra = merge_extra(extra, wetland_change_rows(r_ledger, p_ledger, city_code))
            unknown = pd.concat([unknown.assign(epoch="current"),
                                 p_unknown.assign(epoch="previous")], ignore_index=True)
        hidden = (factors.hidden.loc[factors.hidden["city"] == cfg.id, "lc_class"].tolist()
                  if factors.hidden is not None else [])
        indicators.append(compute_indicators(
            r_ledger, rz, cfg, input_kind="raster",
            special_shrubland_share=special_shrubland_share, extra=extra, hidden_classes=hidden,
            factors=factors, tolerances=tols))
        unknown = unknown.rename(columns={"zone": "township_code", "code": "source_code"})
        out["sink_unmapped_classes"] = unknown.reset_index(drop=True)
    out["sink_indicators"] = pd.concat(indicators, ignore_index=True)

    step("scenario")
    if inputs.scenario is not None:
        lc2 = apply_scenario(lc, inputs.scenario)
        patches2 = account_patches(lc2, factors, water)
        after = compute_indicators(ledger_from_patches(patches2), poly_zones, cfg,
                                   input_kind="polygons",
                                   special_shrubland_share=special_shrubland_share,
                                   factors=factors, tolerances=tols)
        cmp_ = compare_indicators(indicators[0], after)
        cmp_.insert(0, "scenario", inputs.scenario_name)
        out["sink_scenario"] = cmp_

    tables = {k: v for k, v in out.items() if k != "sink_patches"}
    tables["sink_factors"] = factors.citations
    meta = {"sinks": {"scenario": params.sink_scenario,
                      "special_shrubland_share": special_shrubland_share,
                      "factors_dir": str(params.factors_dir or "data/sinks"),
                      "params": to_dict(params)}}
    return EngineResult({"sink_patches": out["sink_patches"]}, tables, meta)
