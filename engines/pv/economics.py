r"""What a PV screener reports beyond energy: panels, CO2 avoided, LCOE and simple payback.

Pure functions on arrays (no files): the parameters are :class:`PVEconomics`, read from
``data/pv/economics.toml`` (every default cited there). All money is per kW of DC
nameplate, so results do not depend on a system's size; a system of ``P`` kWp with
first-year specific yield ``Y`` [kWh/kWp] has:

Levelised cost of energy (real, no taxes, no residual value)

.. math::

   \mathrm{LCOE} = \frac{c + o\,A}{Y\,D}, \qquad
   A = \sum_{t=1}^{N} (1 + r)^{-t}, \qquad
   D = \sum_{t=1}^{N} (1 - d)^{t-1} (1 + r)^{-t}

with capex ``c`` [CNY/kW], O&M ``o`` [CNY/kW/yr], discount rate ``r``, lifetime ``N``
[yr] and degradation ``d`` [1/yr] (NREL's simple LCOE with the capital recovered over the
discounted, degraded energy; W. Short, D. J. Packey and T. Holt, "A manual for the
economic evaluation of energy efficiency and renewable energy technologies",
NREL/TP-462-5173, 1995).

Simple payback (undiscounted, first year)

.. math::

   T = \frac{c}{Y\,v - o}, \qquad v = s\,p_\mathrm{retail} + (1 - s)\,p_\mathrm{feed\text{-}in}

with self-consumed share ``s``: infinite when the first-year net income is not positive.

CO2 avoided per year: ``E [MWh/yr] x EF [t CO2/MWh]``, the first-year energy times the
grid's average emission factor (a screening figure; a marginal factor would differ).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.config import DATA_DIR
from twin.params import Params, from_mapping, load_toml, param

__all__ = ["DEFAULT_ECONOMICS_PATH", "CostCase", "PVEconomics", "Panel", "Tariffs", "co2_avoided_t_per_yr",
           "default_economics", "energy_value_cny_per_kwh", "lcoe_cny_per_kwh", "panel_count",
           "simple_payback_yr", "system_economics"]

#: Shipped defaults, with their sources.
DEFAULT_ECONOMICS_PATH = DATA_DIR / "pv" / "economics.toml"


@dataclass(frozen=True)
class Panel(Params):
    """The module a panel count is made of."""

    power_w: float = param(400.0, unit="w", minimum=1.0, maximum=2000.0, help="Module STC power [W].")
    height_m: float = param(1.879, unit="m", minimum=0.1, maximum=5.0)
    width_m: float = param(1.045, unit="m", minimum=0.1, maximum=5.0)


@dataclass(frozen=True)
class Tariffs(Params):
    """Electricity prices [CNY/kWh] a PV system's energy is worth."""

    feed_in_cny_per_kwh: float = param(0.4153, unit="cny_per_kwh", minimum=0.0, maximum=10.0,
                                       help="Price of energy sold to the grid.")
    residential_cny_per_kwh: float = param(0.538, unit="cny_per_kwh", minimum=0.0, maximum=10.0)
    commercial_cny_per_kwh: float = param(0.70, unit="cny_per_kwh", minimum=0.0, maximum=10.0)


@dataclass(frozen=True)
class CostCase(Params):
    """Costs and self-consumption of one kind of system."""

    capex_cny_per_kw: float = param(3400.0, unit="cny_per_kw", minimum=0.0, maximum=1e5)
    om_cny_per_kw_yr: float = param(40.0, unit="cny_per_kw_yr", minimum=0.0, maximum=1e4)
    self_consumption_share: float = param(0.0, unit="fraction", minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class PVEconomics(Params):
    """Panels, CO2 and economics of PV systems (``data/pv/economics.toml``)."""

    schema_version: int = param(1, minimum=1, maximum=1)
    discount_rate: float = param(0.06, unit="fraction", minimum=0.0, maximum=0.5, cli="--discount-rate",
                                 help="Real discount rate of the LCOE.")
    lifetime_yr: int = param(25, unit="year", minimum=1, maximum=60, cli="--lifetime",
                             help="Economic life of a PV system [years].")
    degradation_per_yr: float = param(0.005, unit="fraction", minimum=0.0, maximum=0.1,
                                      help="Module power loss per year.")
    grid_emission_factor_t_co2_per_mwh: float = param(
        0.5617, unit="t_co2_per_mwh", minimum=0.0, maximum=2.0, cli="--grid-emission-factor",
        help="CO2 per MWh of grid electricity PV displaces (East China grid 2022, MEE).")
    residential_use_classes: tuple[str, ...] = param(("residential", "rural_residential"))
    panel: Panel = param(default_factory=Panel)
    tariffs: Tariffs = param(default_factory=Tariffs)
    residential: CostCase = param(default_factory=lambda: CostCase(3500.0, 45.0, 0.30))
    commercial: CostCase = param(default_factory=lambda: CostCase(3180.0, 45.0, 0.70))
    site: CostCase = param(default_factory=CostCase)

    def problems(self) -> list[str]:
        """Residential use classes must be known use classes."""
        from twin.schema import USE_CLASSES

        return [f"residential_use_classes: {c!r} is not a use class; use one of {', '.join(USE_CLASSES)}"
                for c in self.residential_use_classes if c not in USE_CLASSES]


@functools.lru_cache(maxsize=4)
def _economics_from(path: str) -> PVEconomics:
    return from_mapping(PVEconomics, load_toml(path), where=path)


def default_economics() -> PVEconomics:
    """The shipped parameters (``data/pv/economics.toml``), validated."""
    return _economics_from(str(DEFAULT_ECONOMICS_PATH))


def _annuity(rate: float, years: int, growth: float = 0.0) -> float:
    """``sum_{t=1..N} (1 - growth)^(t-1) / (1 + rate)^t``."""
    t = np.arange(1, years + 1, dtype=float)
    return float(np.sum((1.0 - growth) ** (t - 1.0) / (1.0 + rate) ** t))


def lcoe_cny_per_kwh(specific_yield_kwh_per_kwp: npt.ArrayLike, capex_cny_per_kw: npt.ArrayLike,
                     om_cny_per_kw_yr: npt.ArrayLike, *, discount_rate: float, lifetime_yr: int,
                     degradation_per_yr: float) -> np.ndarray:
    """Levelised cost of energy [CNY/kWh] (module docstring); NaN where the yield is not positive.

    Parameters
    ----------
    specific_yield_kwh_per_kwp : array-like
        First-year AC energy per kWp [kWh/kWp].
    capex_cny_per_kw, om_cny_per_kw_yr : array-like
        Investment [CNY/kW] and yearly O&M [CNY/kW/yr], per kW of DC nameplate.
    discount_rate, lifetime_yr, degradation_per_yr
        ``r``, ``N`` [yr] and ``d`` [1/yr].
    """
    y = np.asarray(specific_yield_kwh_per_kwp, dtype=float)
    a = _annuity(discount_rate, lifetime_yr)
    d = _annuity(discount_rate, lifetime_yr, degradation_per_yr)
    cost = np.asarray(capex_cny_per_kw, dtype=float) + np.asarray(om_cny_per_kw_yr, dtype=float) * a
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, cost / (y * d), np.nan)


def energy_value_cny_per_kwh(self_consumption_share: npt.ArrayLike, retail_cny_per_kwh: npt.ArrayLike,
                             feed_in_cny_per_kwh: float) -> np.ndarray:
    """What a kWh of PV is worth [CNY/kWh]: the self-consumed share at the retail tariff, the rest fed in."""
    s = np.asarray(self_consumption_share, dtype=float)
    return s * np.asarray(retail_cny_per_kwh, dtype=float) + (1.0 - s) * feed_in_cny_per_kwh


def simple_payback_yr(specific_yield_kwh_per_kwp: npt.ArrayLike, capex_cny_per_kw: npt.ArrayLike,
                      om_cny_per_kw_yr: npt.ArrayLike, value_cny_per_kwh: npt.ArrayLike) -> np.ndarray:
    """Simple payback [yr]: capex over the first year's income less O&M; inf when that is not positive."""
    y = np.asarray(specific_yield_kwh_per_kwp, dtype=float)
    net = y * np.asarray(value_cny_per_kwh, dtype=float) - np.asarray(om_cny_per_kw_yr, dtype=float)
    capex = np.broadcast_to(np.asarray(capex_cny_per_kw, dtype=float), net.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(net > 0, capex / net, np.inf)


def co2_avoided_t_per_yr(energy_kwh_per_yr: npt.ArrayLike,
                         emission_factor_t_co2_per_mwh: float) -> np.ndarray:
    """CO2 the grid would have emitted for this energy [t CO2/yr]."""
    return np.asarray(energy_kwh_per_yr, dtype=float) / 1000.0 * emission_factor_t_co2_per_mwh


def panel_count(module_area_m2: npt.ArrayLike, pdc0_kw: npt.ArrayLike, panel: Panel) -> np.ndarray:
    """Whole panels on a facet (int64): as many as fit both its module area and its DC nameplate.

    ``min(floor(area / (height x width)), floor(1000 pdc0_kw / power_w))``; with the
    shipped panel (204 W/m²) and the facets' 0.20 kW/m² the area bound is the larger by
    about 2 %, so the nameplate bound decides.
    """
    a = np.nan_to_num(np.asarray(module_area_m2, dtype=float), nan=0.0)
    p = np.nan_to_num(np.asarray(pdc0_kw, dtype=float), nan=0.0)
    by_area = np.floor(a / (panel.height_m * panel.width_m) + 1e-9)
    by_power = np.floor(p * 1000.0 / panel.power_w + 1e-9)
    return np.maximum(np.minimum(by_area, by_power), 0.0).astype("int64")


def system_economics(capacity_kwp: npt.ArrayLike, energy_kwh_per_yr: npt.ArrayLike,
                     case: CostCase | list[CostCase], retail_cny_per_kwh: npt.ArrayLike,
                     econ: PVEconomics) -> pd.DataFrame:
    """CO2 avoided, LCOE and simple payback of systems (rows) of one or several cost cases.

    Parameters
    ----------
    capacity_kwp, energy_kwh_per_yr : array-like
        DC nameplate [kWp] and first-year AC energy [kWh/yr] of each system.
    case : CostCase or list of CostCase
        One case for all rows, or one per row.
    retail_cny_per_kwh : array-like
        The tariff the self-consumed share saves, per row (or one value).
    econ : PVEconomics

    Returns
    -------
    pandas.DataFrame
        ``co2_avoided_t_co2_per_yr``, ``capex_cny``, ``lcoe_cny_per_kwh`` (NaN without
        energy) and ``simple_payback_yr`` (inf when never paid back, NaN without capacity).
    """
    cap = np.asarray(capacity_kwp, dtype=float)
    energy = np.asarray(energy_kwh_per_yr, dtype=float)
    cases = case if isinstance(case, list) else [case] * len(cap)
    capex = np.array([c.capex_cny_per_kw for c in cases], dtype=float)
    om = np.array([c.om_cny_per_kw_yr for c in cases], dtype=float)
    share = np.array([c.self_consumption_share for c in cases], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(cap > 0, energy / np.where(cap > 0, cap, 1.0), 0.0)
    value = energy_value_cny_per_kwh(share, retail_cny_per_kwh, econ.tariffs.feed_in_cny_per_kwh)
    lcoe = lcoe_cny_per_kwh(y, capex, om, discount_rate=econ.discount_rate, lifetime_yr=econ.lifetime_yr,
                            degradation_per_yr=econ.degradation_per_yr)
    payback = np.where(cap > 0, simple_payback_yr(y, capex, om, value), np.nan)
    return pd.DataFrame({
        "co2_avoided_t_co2_per_yr": co2_avoided_t_per_yr(energy, econ.grid_emission_factor_t_co2_per_mwh),
        "capex_cny": capex * cap,
        "lcoe_cny_per_kwh": lcoe,
        "simple_payback_yr": payback,
    })
