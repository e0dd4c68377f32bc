"""Annual sequestration, two ways kept apart: gain-loss and stock difference.

Gain-loss (IPCC 2006 Vol. 4 Eq. 2.7, 2.9-2.11 [1]_): for forests with a growing
stock, the gain is the stand volume increment by forest class and age class
converted with the same chain as the stocks (Eq. 2.10, G = Iv x BCEF x (1 + R),
BCEF = BEF x D) times CF; the loss is an annual loss fraction (harvest and
disturbance) of the patch's biomass carbon. Other classes use a net carbon
accumulation rate [t C/ha/yr]. Unlike InVEST Carbon, land that keeps its class
still sequesters.

Stock difference (Eq. 2.5): (C(t2) - C(t1)) / (t2 - t1) between two land-cover
epochs. Sign convention for both: **positive = net removal from the atmosphere
(stock gain); negative = net emission**.

References
----------
.. [1] IPCC (2006). 2006 IPCC Guidelines for National Greenhouse Gas Inventories,
   Vol. 4, Ch. 2, Eq. 2.5, 2.7, 2.9-2.11. https://www.ipcc-nggip.iges.or.jp/public/2006gl/vol4.html
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from engines.sinks.factors import AGE_CLASSES, BOUNDS, FactorSet
from engines.sinks.stocks import CO2_PER_C, M2_PER_HA, check_patches, patch_stocks
from twin.errors import ConfigError, SchemaError

__all__ = ["gain_loss", "stock_difference"]

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
        :data:`engines.sinks.factors.AGE_CLASSES` or ``''``) and ``growing_stock_m3_per_ha``.
    factors : FactorSet

    Returns
    -------
    DataFrame
        On the same index: ``co2_uptake_t_per_yr``, ``co2_uptake_low_t_per_yr``,
        ``co2_uptake_high_t_per_yr`` [t CO2/yr], positive = removal. The low bound
        uses the low growth factors with the high loss fraction (and the reverse).
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
    ha = pd.to_numeric(patches["area_m2"]).to_numpy(dtype="float64") / M2_PER_HA
    rows = _growth_rows(lc, age, factors)
    is_vol = (rows["unit"] == "m3_per_ha_per_yr").to_numpy()
    biomass = np.zeros(n)
    if is_vol.any():  # biomass carbon density for the loss term, central stock [t C/ha]
        st = patch_stocks(patches.loc[is_vol], factors)
        biomass[is_vol] = ((st["agb_carbon_t_c"] + st["bgb_carbon_t_c"]).to_numpy()
                           / np.where(ha[is_vol] > 0, ha[is_vol], 1.0))
    out = {}
    for b in BOUNDS:
        rate = rows[b].to_numpy(dtype="float64", copy=True)  # t C/ha/yr or m3/ha/yr
        if is_vol.any():
            par = factors.forest[b].loc[lc[is_vol]]
            gain = (rate[is_vol] * par["bef"].to_numpy() * par["wood_density"].to_numpy()
                    * (1.0 + par["root_shoot"].to_numpy()) * par["carbon_fraction"].to_numpy())
            loss = factors.forest[_FLIP[b]].loc[lc[is_vol], "loss_fraction"].to_numpy() * biomass[is_vol]
            rate[is_vol] = gain - loss
        name = "co2_uptake_t_per_yr" if b == "central" else f"co2_uptake_{b}_t_per_yr"
        out[name] = rate * ha * CO2_PER_C
    return pd.DataFrame(out, index=patches.index)[
        ["co2_uptake_t_per_yr", "co2_uptake_low_t_per_yr", "co2_uptake_high_t_per_yr"]]


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
