"""Sink indicators per township, district and city, each beside its seed target and 2020 baseline.

The engines first reduce their input (land-cover polygons or raster pixels) to
a *ledger*: one row per (district, township, class) with sums of area, carbon
stock, forest vegetation carbon, growing stock and annual CO2 removal. Every
indicator is computed from ledger sums, so district values add up to the city's.

Definitions
-----------
forest_coverage_pct (森林覆盖率)
    Forest area / zone area x 100. Forest = every ``*_forest`` class, bamboo
    included (竹林 is 有林地 in the Chinese inventory). Shrubland counts only as
    "special shrubland" (国家特别规定灌木林地), which a land-cover class cannot tell
    apart: ``special_shrubland_share`` (default 0) sets the share of shrubland that
    counts. Tea gardens and orchards are not counted. The zone area is the
    administrative area (polygons) or the mapped raster area (raster).
wetland_rate_pct (湿地率), wetland_stock_mu (湿地保有量)
    Wetland area / zone area, and wetland area in mu. Wetland = the ``wetland``
    and ``water`` classes (rivers, lakes and reservoirs are wetlands in China's
    wetland resource survey and the Ramsar definition).
wetland_protection_rate_pct (湿地保护率)
    Protected wetland area / wetland area, where "protected" is the overlap with
    water bodies flagged ``is_protected``; NaN where unknown (raster input).
forest_stock_m3 (森林蓄积量)
    Sum of growing stock x area over forest patches that carry a growing stock;
    NaN when none does (raster input).
tea_garden_area_mu
    All tea-garden area; the Huzhou target (K-Z1) counts only certified
    low-carbon demonstration bases, so the twin's value is an upper bound.

References
----------
.. [1] GB/T 26424-2010 森林资源规划设计调查技术规程 (forest land classes, 特殊灌木林).
.. [2] 杭州市应对气候变化“十四五”规划 (seed 001, line 75: 2020 forest area 1689万亩,
   forest vegetation carbon 5087万 t).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from engines.sinks.factors import FOREST_CLASSES, VOLUME_CLASSES, FactorSet
from engines.sinks.rates import gain_loss
from engines.sinks.stocks import CO2_PER_C, M2_PER_MU, patch_stocks
from twin.config import CityConfig
from twin.errors import SchemaError

__all__ = [
    "INDICATORS",
    "LEDGER_COLUMNS",
    "WETLAND_CLASSES",
    "ExtraRows",
    "compute_indicators",
    "ledger_from_class_areas",
    "ledger_from_patches",
    "zone_values",
]

logger = logging.getLogger(__name__)

#: Classes counted as wetland for the wetland rate and wetland stock.
WETLAND_CLASSES = ("wetland", "water")
#: Summed columns of a ledger.
LEDGER_COLUMNS = (
    "area_m2", "carbon_stock_t_c", "carbon_stock_low_t_c", "carbon_stock_high_t_c",
    "forest_carbon_stock_t_c", "forest_carbon_stock_low_t_c", "forest_carbon_stock_high_t_c",
    "co2_uptake_t_per_yr", "co2_uptake_low_t_per_yr", "co2_uptake_high_t_per_yr",
    "growing_stock_m3", "volume_known_area_m2", "protected_area_m2", "net_increment_m3_per_yr",
    "synthetic_area_m2",
)
#: Indicator -> (unit, method) in output order.
INDICATORS = {
    "forest_coverage_pct": ("pct", ""),
    "forest_area_mu": ("mu", ""),
    "forest_stock_m3": ("m3", ""),
    "forest_carbon_stock_t_c": ("t_c", ""),
    "wetland_rate_pct": ("pct", ""),
    "wetland_stock_mu": ("mu", ""),
    "wetland_protection_rate_pct": ("pct", ""),
    "forest_net_increment_m3_per_ha_per_yr": ("m3_per_ha_per_yr", "gain_loss"),
    "bamboo_forest_area_mu": ("mu", ""),
    "tea_garden_area_mu": ("mu", ""),
    "tea_garden_total_area_mu": ("mu", ""),
    "carbon_stock_t_c": ("t_c", ""),
    "carbon_stock_t_co2": ("t_co2", ""),
    "co2_uptake_t_per_yr": ("t_per_yr", "gain_loss"),
}
#: Extra indicator rows of :func:`compute_indicators`:
#: ``{(level, adcode): {indicator: (value, low, high, note, method)}}``.
ExtraRows: TypeAlias = dict[tuple[str, str], dict[str, tuple[Any, ...]]]
_NOTES = {
    "tea_garden_area_mu": ("certified low-carbon tea demonstration bases (K-Z1, 003:232) are a "
                           "certification, not a land cover: not in the twin; all tea-garden area "
                           "is an upper bound"),
    "tea_garden_total_area_mu": "all tea-garden area (an upper bound of the demonstration bases)",
    "forest_coverage_pct": "forest = *_forest classes incl. bamboo; shrubland x special_shrubland_share",
    "wetland_rate_pct": "wetland = wetland + water classes",
    "forest_carbon_stock_t_c": "above + below-ground biomass carbon of forest classes (植被碳储量)",
    "co2_uptake_t_per_yr": "positive = removal; t CO2 per year",
}
_KEY = ["district_adcode", "township_code", "lc_class"]


def ledger_from_patches(patches: pd.DataFrame) -> pd.DataFrame:
    """Sum patch-level results to one row per (district, township, class).

    Parameters
    ----------
    patches : DataFrame
        ``district_adcode``, ``township_code``, ``lc_class``, ``area_m2`` and the
        columns of :func:`engines.sinks.stocks.patch_stocks` and :func:`engines.sinks.rates.gain_loss`;
        optionally ``growing_stock_m3_per_ha`` and ``protected_area_m2``.

    Returns
    -------
    DataFrame
        Columns ``district_adcode``, ``township_code``, ``lc_class`` and :data:`LEDGER_COLUMNS`.
    """
    df = pd.DataFrame({k: patches[k].fillna("").astype(str) for k in _KEY}, index=patches.index)
    for col in LEDGER_COLUMNS:
        if col in patches.columns:
            df[col] = pd.to_numeric(patches[col], errors="coerce").astype("float64")
    known = (patches["lc_class"].isin(VOLUME_CLASSES)
             & np.isfinite(pd.to_numeric(patches.get("growing_stock_m3_per_ha", np.nan),
                                         errors="coerce")))
    df["volume_known_area_m2"] = np.where(known, df["area_m2"], 0.0)
    if "protected_area_m2" not in df.columns:
        df["protected_area_m2"] = np.nan
    syn = (patches["is_synthetic"].fillna(True).astype(bool).to_numpy()
           if "is_synthetic" in patches.columns else np.zeros(len(df), dtype=bool))
    df["synthetic_area_m2"] = np.where(syn, df["area_m2"], 0.0)
    return _group(df)


def _group(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in LEDGER_COLUMNS if c in df.columns]
    g = df.groupby(_KEY, as_index=False, sort=True)[cols].sum(min_count=1)
    return g.reindex(columns=[*_KEY, *LEDGER_COLUMNS])


def ledger_from_class_areas(areas: pd.DataFrame, factors: FactorSet) -> pd.DataFrame:
    """Ledger from class areas per zone (raster accounting): calibrated stand volumes or class densities.

    Parameters
    ----------
    areas : DataFrame
        ``district_adcode``, ``township_code``, ``lc_class``, ``area_m2`` and optionally
        ``growing_stock_m3_per_ha`` (the calibrated stand volume of a raster class,
        :mod:`engines.sinks.calibration`); rows without it use the Tier-1 class densities.
    factors : FactorSet

    Returns
    -------
    DataFrame
        As :func:`ledger_from_patches`; the growing stock sums the rows with a stand volume;
        the protected area is NaN.
    """
    cols = [*_KEY, "area_m2"] + (["growing_stock_m3_per_ha"] if "growing_stock_m3_per_ha" in areas
                                 else [])
    df = areas[cols].reset_index(drop=True)
    df = pd.concat([df, patch_stocks(df, factors), gain_loss(df, factors)], axis=1)
    gs = (pd.to_numeric(df["growing_stock_m3_per_ha"], errors="coerce").to_numpy("float64")
          if "growing_stock_m3_per_ha" in df else np.full(len(df), np.nan))
    known = np.isin(df["lc_class"].to_numpy(), VOLUME_CLASSES) & np.isfinite(gs)
    df["growing_stock_m3"] = np.where(known, df["growing_stock_m3"], 0.0)
    df["volume_known_area_m2"] = np.where(known, df["area_m2"], 0.0)
    df["protected_area_m2"] = np.nan
    df["synthetic_area_m2"] = 0.0
    return _group(df)


def zone_values(ledger: pd.DataFrame, zone_area_m2: float, *,
                special_shrubland_share: float = 0.0) -> dict:
    """Indicator values of one zone from its ledger rows.

    Returns
    -------
    dict
        Indicator name -> (central, low, high, note); low/high are NaN where not applicable.
    """
    if not 0.0 <= special_shrubland_share <= 1.0:
        msg = f"special_shrubland_share must be in [0, 1], got {special_shrubland_share}"
        raise SchemaError(msg)
    by = ledger.groupby("lc_class")["area_m2"].sum()

    def area(classes: Iterable[str]) -> float:
        return float(by.reindex(list(classes)).fillna(0.0).sum())

    forest = area(FOREST_CLASSES) + special_shrubland_share * area(["shrubland"])
    wet = area(WETLAND_CLASSES)
    wet_rows = ledger["lc_class"].isin(WETLAND_CLASSES)
    prot = ledger.loc[wet_rows, "protected_area_m2"]
    prot_v = float(prot.sum()) if wet_rows.any() and prot.notna().all() else np.nan
    vol_area = float(ledger["volume_known_area_m2"].sum())
    forest_vol_area = area(VOLUME_CLASSES)
    gs = float(ledger["growing_stock_m3"].sum()) if vol_area > 0 else np.nan
    nan = np.nan
    s = {c: float(ledger[c].sum()) for c in LEDGER_COLUMNS if c.endswith(("_t_c", "_t_per_yr"))}
    pct = 100.0 / zone_area_m2 if zone_area_m2 > 0 else nan
    gs_note = (f"growing stock known for {100 * vol_area / forest_vol_area:.0f} % of the forest area"
               if forest_vol_area > 0 and vol_area > 0 else "no growing stock in the input")
    net_inc = (float(ledger["net_increment_m3_per_yr"].sum()) / (vol_area / 1e4)
               if vol_area > 0 else nan)
    tea = area(["tea_garden"]) / M2_PER_MU
    return {
        "forest_coverage_pct": (forest * pct, nan, nan, _NOTES["forest_coverage_pct"]),
        "forest_area_mu": (forest / M2_PER_MU, nan, nan, ""),
        "forest_stock_m3": (gs, nan, nan, gs_note + "; bamboo not in m3"),
        "forest_carbon_stock_t_c": (s["forest_carbon_stock_t_c"], s["forest_carbon_stock_low_t_c"],
                                    s["forest_carbon_stock_high_t_c"],
                                    _NOTES["forest_carbon_stock_t_c"]),
        "wetland_rate_pct": (wet * pct, nan, nan, _NOTES["wetland_rate_pct"]),
        "wetland_stock_mu": (wet / M2_PER_MU, nan, nan, _NOTES["wetland_rate_pct"]),
        "wetland_protection_rate_pct": (100.0 * prot_v / wet if wet > 0 else nan, nan, nan,
                                        "overlap with water bodies flagged is_protected"
                                        if np.isfinite(prot_v) else "protection unknown"),
        "forest_net_increment_m3_per_ha_per_yr": (
            net_inc, nan, nan, "stand volume increment - harvest and mortality, per ha of forest "
                               "with a growing stock (gain-loss, central factors)"),
        "bamboo_forest_area_mu": (area(["bamboo_forest"]) / M2_PER_MU, nan, nan, ""),
        "tea_garden_area_mu": (nan, nan, nan, f"{_NOTES['tea_garden_area_mu']}: {tea:,.0f} mu"),
        "tea_garden_total_area_mu": (tea, nan, nan, _NOTES["tea_garden_total_area_mu"]),
        "carbon_stock_t_c": (s["carbon_stock_t_c"], s["carbon_stock_low_t_c"],
                             s["carbon_stock_high_t_c"], "all pools, all classes"),
        "carbon_stock_t_co2": (s["carbon_stock_t_c"] * CO2_PER_C,
                               s["carbon_stock_low_t_c"] * CO2_PER_C,
                               s["carbon_stock_high_t_c"] * CO2_PER_C, "t C x 44/12"),
        "co2_uptake_t_per_yr": (s["co2_uptake_t_per_yr"], s["co2_uptake_low_t_per_yr"],
                                s["co2_uptake_high_t_per_yr"], _NOTES["co2_uptake_t_per_yr"]),
    }


def _target_rows(city: CityConfig | None, metric: str, scope: str) -> list[dict]:
    if city is None:
        return [{}]
    from twin.metrics import METRICS

    if metric not in METRICS:
        return [{}]
    recs = city.targets_for(metric=metric, scope=scope)
    actual = [t for t in recs if t.kind == "actual"]
    base = {}
    if actual:
        a = max(actual, key=lambda t: t.year or 0)
        base = {"baseline_value": a.value, "baseline_year": a.year, "baseline_id": a.id}
    governing = {t.id for t in city.governing_targets()}
    rows = []
    for t in (t for t in recs if t.kind == "target"):
        row = {"target_id": t.id, "target_status": t.status, "comparator": t.comparator,
               "target_value": t.value, "target_year": t.year, "is_governing": t.id in governing,
               **base}
        if t.baseline_value is not None:
            row.update(baseline_value=t.baseline_value, baseline_year=t.baseline_year,
                       baseline_id=t.id)
        rows.append(row)
    return rows or [base]


#: Indicator -> kind of factors it rests on (for :meth:`FactorSet.unverified`).
_FACTOR_KIND = {"forest_carbon_stock_t_c": "forest_carbon", "carbon_stock_t_c": "stock",
                "carbon_stock_t_co2": "stock", "co2_uptake_t_per_yr": "uptake",
                "forest_net_increment_m3_per_ha_per_yr": "uptake"}
#: Tolerance [%] of the twin against a reported baseline when none is given
#: (data/sinks/calibration.toml [baseline_tolerance_pct] gives them per indicator).
DEFAULT_BASELINE_TOLERANCE_PCT = 10.0


def compute_indicators(ledger: pd.DataFrame, zones: pd.DataFrame, city: CityConfig | None = None, *,
                       input_kind: str = "polygons", special_shrubland_share: float = 0.0,
                       extra: ExtraRows | None = None, factors: FactorSet | None = None,
                       tolerances: dict[str, float] | None = None,
                       hidden_classes: Iterable[str] = ()) -> pd.DataFrame:
    """Indicators for every township, district and the city, beside targets and baselines.

    Parameters
    ----------
    ledger : DataFrame
        From :func:`ledger_from_patches` or :func:`ledger_from_class_areas`.
    zones : DataFrame
        Townships: ``adcode`` (9 digits), ``parent_adcode`` (district), ``name_zh``,
        ``zone_area_m2`` [m²]; and districts/city rows (``level``) for names. District
        and city areas are the sums of their townships' areas.
    city : CityConfig, optional
        For the seed targets (``targets_for``); without it target columns stay empty.
    input_kind : str
        ``polygons`` or ``raster`` (kept in the ``input_kind`` column).
    special_shrubland_share : float
        Share of shrubland counted as forest [0-1].
    extra : dict, optional
        ``{(level, adcode): {indicator: (value, low, high, note, method)}}`` extra rows
        (e.g. stock-difference removals).
    factors : FactorSet, optional
        To list the unverified factor rows each value rests on (``unverified_factors``).
    tolerances : dict, optional
        Indicator -> tolerance [%] against the reported baseline
        (default :data:`DEFAULT_BASELINE_TOLERANCE_PCT`).
    hidden_classes : iterable of str
        Classes whose area came from ``hidden_classes.csv`` (raster path): their area
        indicators list the unverified rows of that table.

    Returns
    -------
    DataFrame
        Long table: ``level``, ``adcode``, ``name_zh``, ``indicator``, ``unit``,
        ``input_kind``, ``method``, ``value``, ``value_low``, ``value_high``, ``target_id``,
        ``target_status``, ``comparator``, ``target_value``, ``target_year``,
        ``is_governing``, ``baseline_value``, ``baseline_year``, ``baseline_id``,
        ``baseline_ratio`` (value / baseline), ``baseline_tolerance_pct``, ``is_off_baseline``
        (the ratio is off 1 by more than the tolerance; NA without a baseline),
        ``gap`` (target_value - value; positive = short of the target, as in
        the coverage engine), ``synthetic_share`` (share of the zone's area from synthetic
        input), ``unverified_factors`` (unverified factor rows the value rests on, '' when
        none) and ``note``.
    """
    tship = zones.loc[zones["level"] == "township"]
    names = dict(zip(zones["adcode"], zones["name_zh"], strict=True))
    t_area = dict(zip(tship["adcode"], tship["zone_area_m2"], strict=True))
    d_area = tship.groupby("parent_adcode")["zone_area_m2"].sum().to_dict()
    city_code = zones.loc[zones["level"] == "city", "adcode"]
    city_code = str(city_code.iloc[0]) if len(city_code) else "city"
    units = []
    units.append(("city", city_code, ledger, float(tship["zone_area_m2"].sum()), "city"))
    for d, g in ledger.groupby("district_adcode", sort=True):
        units.append(("district", d, g, float(d_area.get(d, np.nan)), d))
    for t, g in ledger.groupby("township_code", sort=True):
        if t:
            units.append(("township", t, g, float(t_area.get(t, np.nan)), t))
    rows = []
    extra = extra or {}
    tolerances = tolerances or {}
    hidden = set(hidden_classes)
    for level, code, g, a, scope in units:
        vals = zone_values(g, a, special_shrubland_share=special_shrubland_share)
        tot = float(g["area_m2"].sum())
        syn = float(g["synthetic_area_m2"].sum()) / tot if tot > 0 else np.nan
        present = set(g.loc[g["area_m2"] > 0, "lc_class"])
        unver: dict[str, str] = {}
        if factors is not None:
            for ind, kind in _FACTOR_KIND.items():
                unver[ind] = "; ".join(factors.unverified(present, kind))
            if hidden & present:
                h = "; ".join(factors.unverified(hidden & present, "hidden"))
                for ind in ("forest_coverage_pct", "forest_area_mu", "bamboo_forest_area_mu",
                            "tea_garden_total_area_mu", "forest_carbon_stock_t_c"):
                    unver[ind] = "; ".join(x for x in (unver.get(ind, ""), h) if x)
        items = [(k, (*v, INDICATORS[k][1])) for k, v in vals.items()]
        items += list(extra.get((level, code), {}).items())
        for ind, (v, lo, hi, note, method) in items:
            unit = INDICATORS.get(ind, ("", ""))[0] or ind.rsplit("_", 1)[-1]
            tol = float(tolerances.get(ind, DEFAULT_BASELINE_TOLERANCE_PCT))
            for tgt in _target_rows(city, ind, scope):
                tv = tgt.get("target_value")
                bv = tgt.get("baseline_value")
                ratio = v / bv if bv not in (None, 0) and np.isfinite(v) else np.nan
                rows.append({
                    "level": level, "adcode": code, "name_zh": names.get(code, ""),
                    "indicator": ind, "unit": unit, "input_kind": input_kind, "method": method,
                    "value": v, "value_low": lo, "value_high": hi,
                    "target_id": tgt.get("target_id", ""),
                    "target_status": tgt.get("target_status", ""),
                    "comparator": tgt.get("comparator", ""),
                    "target_value": tv, "target_year": tgt.get("target_year"),
                    "is_governing": bool(tgt.get("is_governing", False)),
                    "baseline_value": tgt.get("baseline_value"),
                    "baseline_year": tgt.get("baseline_year"),
                    "baseline_id": tgt.get("baseline_id", ""),
                    "baseline_ratio": ratio,
                    "baseline_tolerance_pct": tol if np.isfinite(ratio) else np.nan,
                    "is_off_baseline": (bool(abs(ratio - 1.0) * 100.0 > tol)
                                        if np.isfinite(ratio) else pd.NA),
                    "gap": tv - v if tv is not None else np.nan,
                    "synthetic_share": syn, "unverified_factors": unver.get(ind, ""),
                    "note": note,
                })
    out = pd.DataFrame(rows)
    out["is_off_baseline"] = out["is_off_baseline"].astype("boolean")
    for col in ("value", "value_low", "value_high", "target_value", "baseline_value", "gap",
                "baseline_ratio", "baseline_tolerance_pct", "synthetic_share"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("target_year", "baseline_year"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out
