"""Annual sequestration, two ways kept apart: gain-loss and stock difference.

Gain-loss (IPCC 2006 Vol. 4 Eq. 2.7, 2.9-2.11 [1]_): for forests with a growing
stock, the gain is the stand volume increment by forest class and age class
converted with the same chain as the stocks (Eq. 2.10, G = Iv x BCEF x (1 + R),
BCEF = BEF x D) times CF; the loss is an annual loss fraction (harvest and
disturbance) of the patch's biomass carbon. Other classes use a net carbon
accumulation rate [t C/ha/yr]. Unlike InVEST Carbon, land that keeps its class
still sequesters.

Stock difference (Eq. 2.5): (C(t2) - C(t1)) / (t2 - t1) of two stocks
(:func:`stock_difference`); between two land-cover epochs, :func:`ipcc_stock_change`
follows IPCC's land-use-change rules (growth of land remaining and converted, biomass
lost at conversion, soil over the 20-year transition). Sign convention for all:
**positive = net removal from the atmosphere (stock gain); negative = net emission**.

References
----------
.. [1] IPCC (2006). 2006 IPCC Guidelines for National Greenhouse Gas Inventories,
   Vol. 4, Ch. 2, Eq. 2.5, 2.7, 2.9-2.11. https://www.ipcc-nggip.iges.or.jp/public/2006gl/vol4.html
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from engines.sinks.factors import AGE_CLASSES, BOUNDS, FOREST_CLASSES, FactorSet
from engines.sinks.stocks import CO2_PER_C, M2_PER_HA, check_patches, patch_stocks
from twin.errors import ConfigError, SchemaError

__all__ = ["TRANSITION_YEARS", "gain_loss", "ipcc_stock_change", "stock_difference"]

logger = logging.getLogger(__name__)

_FLIP = {"low": "high", "central": "central", "high": "low"}


def _growth_rows(lc: np.ndarray, age: np.ndarray, factors: FactorSet) -> pd.DataFrame:
    idx = factors.growth.index
    keys = list(zip(lc, age, strict=True))
    have = np.array([k in idx for k in keys], dtype=bool)
    keys = [k if h else (k[0], "") for k, h in zip(keys, have, strict=True)]
    missing = sorted({k for k in keys if k not in idx})
    if missing:  # pragma: no cover - read_factors requires every default row
        msg = f"growth_rates.csv: no rate for {missing[:5]}; add rows with an empty forest_age_class"
        raise ConfigError(msg)
    return factors.growth.loc[keys]


def gain_loss(patches: pd.DataFrame, factors: FactorSet) -> pd.DataFrame:
    """Net annual CO2 removal of each patch by the gain-loss method.

    Parameters
    ----------
    patches : DataFrame
        ``lc_class``, ``area_m2`` [m²], optionally ``forest_age_class`` (one of
        :data:`engines.sinks.factors.AGE_CLASSES` or ``''``), ``growing_stock_m3_per_ha``
        and ``is_tended`` (bool: the increment is multiplied by the class's
        ``tending_gain_factor``).
    factors : FactorSet

    Returns
    -------
    DataFrame
        On the same index: ``co2_uptake_t_per_yr``, ``co2_uptake_low_t_per_yr``,
        ``co2_uptake_high_t_per_yr`` [t CO2/yr], positive = removal, and
        ``net_increment_m3_per_yr`` [m³/yr] (stand volume increment minus the loss, central,
        forests with a growing stock; 0 elsewhere). Every term carries its bound: the low
        bound is the low gain (low increment, low conversion factors, low tending gain)
        minus the high loss (high loss fraction x the high-bound biomass), the high bound the
        reverse, so low <= central <= high whenever each factor is ordered.

    Notes
    -----
    Gain (IPCC 2006 Vol. 4 Eq. 2.9-2.10): ``Iv x BEF x D x (1 + R) x CF``; loss (Eq. 2.11-2.14
    lumped): ``loss_fraction x biomass carbon``. In volume terms the net increment is
    ``Iv - loss_fraction x V``.
    """
    check_patches(patches)
    n = len(patches)
    lc = patches["lc_class"].astype(str).to_numpy()
    if "forest_age_class" in patches.columns:
        age = patches["forest_age_class"].fillna("").astype(str).to_numpy()
    else:
        age = np.full(n, "", dtype=object)
    bad = ~np.isin(age, ["", *AGE_CLASSES])
    if bad.any():
        msg = (f"forest_age_class has unknown values {sorted(set(age[bad]))[:5]} in rows "
               f"{list(patches.index[bad][:5])}; use one of {AGE_CLASSES} or ''")
        raise SchemaError(msg)
    tended = (patches["is_tended"].fillna(False).astype(bool).to_numpy()
              if "is_tended" in patches.columns else np.zeros(n, dtype=bool))
    ha = pd.to_numeric(patches["area_m2"]).to_numpy(dtype="float64") / M2_PER_HA
    gs = (pd.to_numeric(patches["growing_stock_m3_per_ha"], errors="coerce").to_numpy("float64")
          if "growing_stock_m3_per_ha" in patches.columns else np.full(n, np.nan))
    rows = _growth_rows(lc, age, factors)
    is_vol = (rows["unit"] == "m3_per_ha_per_yr").to_numpy()
    biomass = {b: np.zeros(n) for b in BOUNDS}  # biomass carbon density per bound [t C/ha]
    if is_vol.any():
        st = patch_stocks(patches.loc[is_vol], factors, by_pool_bounds=True)
        area = np.where(ha[is_vol] > 0, ha[is_vol], 1.0)
        for b in BOUNDS:
            sfx = "" if b == "central" else f"_{b}"
            biomass[b][is_vol] = (st[f"agb{sfx}_carbon_t_c"] + st[f"bgb{sfx}_carbon_t_c"]).to_numpy() / area
    out = {}
    net_m3 = np.zeros(n)
    for b in BOUNDS:
        rate = rows[b].to_numpy(dtype="float64", copy=True)  # t C/ha/yr or m3/ha/yr
        if is_vol.any():
            par = factors.forest[b].loc[lc[is_vol]]
            iv = rate[is_vol] * np.where(tended[is_vol], par["tending_gain_factor"].to_numpy(), 1.0)
            gain = (iv * par["bef"].to_numpy() * par["wood_density"].to_numpy()
                    * (1.0 + par["root_shoot"].to_numpy()) * par["carbon_fraction"].to_numpy())
            f_loss = factors.forest[_FLIP[b]].loc[lc[is_vol], "loss_fraction"].to_numpy()
            rate[is_vol] = gain - f_loss * biomass[_FLIP[b]][is_vol]
            if b == "central":
                v = np.nan_to_num(gs[is_vol], nan=0.0)
                net_m3[is_vol] = (iv - f_loss * v) * ha[is_vol]
        name = "co2_uptake_t_per_yr" if b == "central" else f"co2_uptake_{b}_t_per_yr"
        out[name] = rate * ha * CO2_PER_C
    out["net_increment_m3_per_yr"] = net_m3
    return pd.DataFrame(out, index=patches.index)[
        ["co2_uptake_t_per_yr", "co2_uptake_low_t_per_yr", "co2_uptake_high_t_per_yr",
         "net_increment_m3_per_yr"]]


def stock_difference(stock_before_t_c: float | np.ndarray | pd.Series,
                     stock_after_t_c: float | np.ndarray | pd.Series,
                     years: float) -> float | np.ndarray | pd.Series:
    """Annual CO2 removal from two carbon stocks (stock-difference method).

    Parameters
    ----------
    stock_before_t_c, stock_after_t_c : float, array or Series
        Carbon stocks at the earlier and the later epoch [t C], aligned.
    years : float
        Time between the epochs [yr], > 0.

    Returns
    -------
    Same type as the inputs
        ``(after - before) / years x 44/12`` [t CO2/yr]; positive = removal.
    """
    if not np.isfinite(years) or years <= 0:
        msg = f"stock difference needs a positive number of years between epochs, got {years!r}"
        raise ConfigError(msg)
    return (stock_after_t_c - stock_before_t_c) / years * CO2_PER_C


#: IPCC default transition time for soil carbon (and DOM gains) after a land-use change [yr]
#: (IPCC 2006 Vol. 4 Ch. 2, Eq. 2.25, D = 20 yr; Eq. 2.23 T_on = 20 yr for DOM gains).
TRANSITION_YEARS = 20.0
_WOODY_GROWTH = ("m3_per_ha_per_yr",)


def _class_sums(ledger: pd.DataFrame) -> pd.DataFrame:
    cols = ["area_m2", "forest_carbon_stock_t_c", "forest_carbon_stock_low_t_c",
            "forest_carbon_stock_high_t_c", "co2_uptake_t_per_yr", "co2_uptake_low_t_per_yr",
            "co2_uptake_high_t_per_yr"]
    have = [c for c in cols if c in ledger.columns]
    return ledger.groupby("lc_class")[have].sum().reindex(columns=cols).fillna(0.0)


def ipcc_stock_change(before: pd.DataFrame, after: pd.DataFrame, years: float, factors: FactorSet,
                      *, transition_years: float = TRANSITION_YEARS) -> dict[str, float]:
    """Annual CO2 removal of a zone between two land-cover epochs, per IPCC (Approach 1 areas).

    Only the net area change of each class is known (no transition matrix: IPCC 2006
    Vol. 4 Ch. 3, Approach 1). Per class, with A0 / A1 the areas [ha] before / after:

    * land remaining in the class, min(A0, A1), and land converted to it, max(A1 - A0, 0),
      gain its annual gain-loss removal per ha (the after epoch's ``co2_uptake`` / A1):
      forest remaining forest contributes through growth, and land converted to a class
      grows as that class does (Tier 1, Ch. 4.3.1) instead of jumping to its mature stock;
    * land converted to a class without growth rows in volume (grassland, cropland, ...)
      reaches that class's biomass in the first year (Eq. 2.16): + B x gain / years;
    * land converted away from a class loses its biomass at once (Eq. 2.16): - B x loss / years;
    * soil organic carbon changes over the transition time D = 20 yr (Eq. 2.25):
      (A1 - A0) x SOC / D; dead organic matter gains over 20 yr, losses at once (Eq. 2.23).

    Parameters
    ----------
    before, after : DataFrame
        Ledger rows of one zone (:func:`engines.sinks.indicators.ledger_from_class_areas`):
        ``lc_class``, ``area_m2``, ``forest_carbon_stock*_t_c``, ``co2_uptake*_t_per_yr``.
    years : float
        Years between the epochs (> 0).
    factors : FactorSet
    transition_years : float
        Soil (and DOM gain) transition time D [yr].

    Returns
    -------
    dict
        ``central``, ``low``, ``high`` [t CO2/yr]; positive = removal. Every term takes
        the bound that lowers (low) or raises (high) the removal, so low <= central <= high.
    """
    if not np.isfinite(years) or years <= 0:
        msg = f"stock difference needs a positive number of years between epochs, got {years!r}"
        raise ConfigError(msg)
    if not np.isfinite(transition_years) or transition_years <= 0:
        msg = f"transition_years must be positive, got {transition_years!r}"
        raise ConfigError(msg)
    b0, b1 = _class_sums(before), _class_sums(after)
    classes = sorted(set(b0.index) | set(b1.index))
    b0, b1 = b0.reindex(classes, fill_value=0.0), b1.reindex(classes, fill_value=0.0)
    a0, a1 = b0["area_m2"].to_numpy() / M2_PER_HA, b1["area_m2"].to_numpy() / M2_PER_HA
    gained, lost, remain = np.maximum(a1 - a0, 0.0), np.maximum(a0 - a1, 0.0), np.minimum(a0, a1)
    woody = np.array([(c, "") in factors.growth.index and factors.growth.loc[(c, ""), "unit"]
                      in _WOODY_GROWTH or c in ("bamboo_forest", "tea_garden", "orchard")
                      for c in classes])
    out = {}
    for b in BOUNDS:
        sfx = "" if b == "central" else f"_{b}"
        up, dn = b, _FLIP[b]  # bound of a term that adds to / takes from the removal
        # growth of land remaining and converted (t C/yr), from the after epoch's gain-loss
        rate_col = f"co2_uptake{sfx}_t_per_yr"
        per_ha = np.divide(b1[rate_col].to_numpy() / CO2_PER_C, a1, out=np.zeros(len(classes)),
                           where=a1 > 0)
        growth = per_ha * (remain + np.where(woody, gained, 0.0))

        def biomass(bound: str, frame: pd.DataFrame, area: np.ndarray) -> np.ndarray:
            s2 = "" if bound == "central" else f"_{bound}"
            forest = np.divide(frame[f"forest_carbon_stock{s2}_t_c"].to_numpy(), area,
                               out=np.zeros(len(classes)), where=area > 0)
            pools = factors.pools[bound].reindex(classes)
            dflt = (pools["agb"] + pools["bgb"]).to_numpy()
            return np.where(np.isin(classes, FOREST_CLASSES), forest, dflt)

        gain_b = np.where(woody, 0.0, gained * biomass(up, b1, a1)) / years
        loss_b = lost * biomass(dn, b0, a0) / years
        soc = np.where(a1 >= a0, factors.pools[up].reindex(classes)["soil"].to_numpy(),
                       factors.pools[dn].reindex(classes)["soil"].to_numpy())
        soil = (a1 - a0) * soc / transition_years
        dom_g = gained * factors.pools[up].reindex(classes)["dom"].to_numpy() / transition_years
        dom_l = lost * factors.pools[dn].reindex(classes)["dom"].to_numpy() / years
        total_c = float(np.sum(growth + gain_b - loss_b + soil + dom_g - dom_l))
        out[b] = total_c * CO2_PER_C
    return out
