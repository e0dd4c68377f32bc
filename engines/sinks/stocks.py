"""Carbon stocks per land-cover patch, per pool, with low/central/high bounds.

Where a forest patch has a growing-stock volume, its biomass carbon comes from
the volume chain of China's forest inventory and the CCER afforestation
methodology [1]_ (IPCC 2006 Eq. 2.8 with BCEF = BEF x D [2]_)::

    AGB carbon [t C/ha] = V x BEF x D x CF
    BGB carbon [t C/ha] = V x BEF x D x R x CF
    biomass carbon      = V x BEF x D x (1 + R) x CF

with V the growing stock [m³/ha], BEF the biomass expansion factor, D the wood
density [t d.m./m³], R the root-to-shoot ratio and CF the carbon fraction.
Otherwise each pool is the class's Tier-1 density [t C/ha] times the area.
Dead organic matter and soil always come from the class table.

References
----------
.. [1] 碳汇造林项目方法学 AR-CM-001-V01 (CCER); Fang, J., Chen, A., Peng, C., Zhao, S.,
   Ci, L. (2001). Changes in forest biomass carbon storage in China between 1949 and
   1998. Science 292: 2320-2322. https://doi.org/10.1126/science.1058629
.. [2] IPCC (2006). 2006 IPCC Guidelines, Vol. 4, Ch. 2, Eq. 2.8; Ch. 4, Tables 4.3-4.5.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
import pandas as pd

from engines.sinks.factors import BOUNDS, FOREST_CLASSES, POOLS, VOLUME_CLASSES, FactorSet
from twin.errors import SchemaError, require_columns
from twin.schema import LANDCOVER_CLASSES

__all__ = ["CO2_PER_C", "M2_PER_HA", "M2_PER_MU", "check_patches", "patch_stocks",
           "volume_to_carbon"]

logger = logging.getLogger(__name__)

#: Mass ratio of CO2 to C (44/12) [t CO2 per t C].
CO2_PER_C = 44.0 / 12.0
#: Square metres per hectare.
M2_PER_HA = 10_000.0
#: Square metres per mu (亩 = 10000/15 m²).
M2_PER_MU = 10_000.0 / 15.0


def volume_to_carbon(volume_m3_per_ha: npt.ArrayLike, *, bef: float | np.ndarray,
                     wood_density: float | np.ndarray, root_shoot: float | np.ndarray,
                     carbon_fraction: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Biomass carbon density from growing-stock volume.

    Parameters
    ----------
    volume_m3_per_ha : float or array
        Growing stock [m³/ha].
    bef : float or array
        Biomass expansion factor (stem to above-ground biomass) [-].
    wood_density : float or array
        Basic wood density [t d.m./m³].
    root_shoot : float or array
        Below-ground to above-ground biomass ratio [-].
    carbon_fraction : float or array
        Carbon fraction of dry matter [t C/t d.m.].

    Returns
    -------
    agb, bgb : float or array
        Above- and below-ground biomass carbon [t C/ha].

    References
    ----------
    IPCC (2006) Vol. 4 Eq. 2.8; AR-CM-001-V01 (CCER).
    """
    agb = np.asarray(volume_m3_per_ha, dtype="float64") * bef * wood_density * carbon_fraction
    return agb, agb * root_shoot


def check_patches(patches: pd.DataFrame, *, what: str = "patches") -> None:
    """Raise a :class:`SchemaError` for unknown classes or bad areas, naming the rows."""
    require_columns(patches, ("lc_class", "area_m2"), what, "land-cover patches need lc_class and area_m2")
    bad = ~patches["lc_class"].isin(LANDCOVER_CLASSES)
    if bad.any():
        counts = patches.loc[bad, "lc_class"].astype(str).value_counts().to_dict()
        rows = list(patches.index[bad][:5])
        msg = (f"{what}: unknown lc_class values {counts} (rows {rows} ...); map them to a twin "
               f"class with a class table (data/landcover/*.csv)")
        raise SchemaError(msg)
    area = pd.to_numeric(patches["area_m2"], errors="coerce")
    bad = area.isna() | (area < 0)
    if bad.any():
        msg = f"{what}: area_m2 missing or negative in rows {list(patches.index[bad][:5])}"
        raise SchemaError(msg)


def patch_stocks(patches: pd.DataFrame, factors: FactorSet, *, by_pool_bounds: bool = False) -> pd.DataFrame:
    """Carbon stock of each patch by pool, with low/central/high totals.

    Parameters
    ----------
    patches : DataFrame
        ``lc_class``, ``area_m2`` [m²] and optionally ``growing_stock_m3_per_ha``
        [m³/ha] (NaN where unknown).
    factors : FactorSet
        From :func:`engines.sinks.factors.read_factors`.
    by_pool_bounds : bool
        Also return the pools at the low and high bounds (``agb_low_carbon_t_c`` ...).

    Returns
    -------
    DataFrame
        On the same index: ``agb_carbon_t_c``, ``bgb_carbon_t_c``, ``dom_carbon_t_c``,
        ``soil_carbon_t_c``, ``carbon_stock_t_c`` (+ ``_low``/``_high`` variants),
        ``carbon_stock_t_co2``, ``forest_carbon_stock_t_c`` (+ bounds; biomass carbon of
        forest classes, as the 森林植被碳储量), ``growing_stock_m3`` and ``stock_method``
        (``volume`` or ``class_default``).
    """
    check_patches(patches)
    lc = patches["lc_class"].astype(str).to_numpy()
    ha = pd.to_numeric(patches["area_m2"]).to_numpy(dtype="float64") / M2_PER_HA
    gs = (pd.to_numeric(patches["growing_stock_m3_per_ha"], errors="coerce").to_numpy("float64")
          if "growing_stock_m3_per_ha" in patches.columns else np.full(len(lc), np.nan))
    gs_bad = gs < 0
    if gs_bad.any():
        msg = f"growing_stock_m3_per_ha is negative in rows {list(patches.index[gs_bad][:5])}"
        raise SchemaError(msg)
    use_vol = np.isin(lc, VOLUME_CLASSES) & np.isfinite(gs)
    is_forest = np.isin(lc, FOREST_CLASSES)
    out = {}
    for b in BOUNDS:
        dens = factors.pools[b].loc[lc, list(POOLS)].to_numpy(dtype="float64", copy=True)  # t C/ha
        if use_vol.any():
            par = factors.forest[b].loc[lc[use_vol]]
            agb, bgb = volume_to_carbon(gs[use_vol], bef=par["bef"].to_numpy(),
                                        wood_density=par["wood_density"].to_numpy(),
                                        root_shoot=par["root_shoot"].to_numpy(),
                                        carbon_fraction=par["carbon_fraction"].to_numpy())
            dens[use_vol, 0] = agb
            dens[use_vol, 1] = bgb
        tc = dens * ha[:, None]
        sfx = "" if b == "central" else f"_{b}"
        if b == "central" or by_pool_bounds:
            for k, pool in enumerate(POOLS):
                out[f"{pool}{sfx}_carbon_t_c"] = tc[:, k]
        out[f"carbon_stock{sfx}_t_c"] = tc.sum(axis=1)
        out[f"forest_carbon_stock{sfx}_t_c"] = np.where(is_forest, tc[:, 0] + tc[:, 1], 0.0)
    res = pd.DataFrame(out, index=patches.index)
    res["carbon_stock_t_co2"] = res["carbon_stock_t_c"] * CO2_PER_C
    res["growing_stock_m3"] = np.where(np.isin(lc, VOLUME_CLASSES), gs * ha, np.nan)
    res["stock_method"] = np.where(use_vol, "volume", "class_default")
    order = ["agb_carbon_t_c", "bgb_carbon_t_c", "dom_carbon_t_c", "soil_carbon_t_c",
             "carbon_stock_t_c", "carbon_stock_low_t_c", "carbon_stock_high_t_c",
             "carbon_stock_t_co2", "forest_carbon_stock_t_c", "forest_carbon_stock_low_t_c",
             "forest_carbon_stock_high_t_c", "growing_stock_m3", "stock_method"]
    if by_pool_bounds:
        order += [f"{p}_{b}_carbon_t_c" for b in ("low", "high") for p in POOLS]
    return res[order]
