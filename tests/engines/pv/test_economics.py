"""LCOE, simple payback, CO2 avoided and panels: hand calculations, invariants, shipped parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engines.pv.economics import (
    CostCase,
    Panel,
    PVEconomics,
    co2_avoided_t_per_yr,
    default_economics,
    energy_value_cny_per_kwh,
    lcoe_cny_per_kwh,
    panel_count,
    simple_payback_yr,
    system_economics,
)
from twin.errors import ConfigError
from twin.params import from_mapping, to_dict


def test_lcoe_by_hand():
    # capex 1000 CNY/kW, O&M 20 CNY/kW/yr, 1000 kWh/kWp, r = 5 %, 2 years, 10 %/yr degradation:
    # A = 1/1.05 + 1/1.05^2 = 1.8594104, D = 1/1.05 + 0.9/1.05^2 = 1.7687075
    # LCOE = (1000 + 20 A) / (1000 D) = 1037.1882 / 1768.7075 = 0.5864099
    got = lcoe_cny_per_kwh(1000.0, 1000.0, 20.0, discount_rate=0.05, lifetime_yr=2, degradation_per_yr=0.1)
    assert float(got) == pytest.approx(0.5864099, rel=1e-6)
    # no discounting, no degradation: total cost over total energy
    got = lcoe_cny_per_kwh(1100.0, 3300.0, 50.0, discount_rate=0.0, lifetime_yr=25, degradation_per_yr=0.0)
    assert float(got) == pytest.approx((3300.0 + 25 * 50.0) / (25 * 1100.0), rel=1e-12)
    assert math.isnan(float(lcoe_cny_per_kwh(0.0, 3300.0, 50.0, discount_rate=0.06, lifetime_yr=25,
                                             degradation_per_yr=0.005)))


def test_payback_value_and_co2_by_hand():
    v = energy_value_cny_per_kwh(0.7, 0.70, 0.4153)
    assert float(v) == pytest.approx(0.7 * 0.70 + 0.3 * 0.4153, rel=1e-12)
    assert float(simple_payback_yr(1000.0, 3180.0, 45.0, v)) == pytest.approx(3180.0 / (1000.0 * v - 45.0))
    assert float(simple_payback_yr(100.0, 3180.0, 45.0, 0.4)) == math.inf  # income below O&M
    assert float(co2_avoided_t_per_yr(1_000_000.0, 0.5617)) == pytest.approx(561.7)


def test_panel_count_takes_the_tighter_bound():
    panel = Panel(power_w=400.0, height_m=2.0, width_m=1.0)
    # 10 m2 fits 5 panels, 1.8 kW of nameplate only 4; 0 and NaN areas give 0
    assert panel_count([10.0, 10.0, 0.0, float("nan")], [1.8, 3.0, 1.0, 1.0], panel).tolist() == [4, 5, 0, 0]


@given(y=st.floats(300, 2000), capex=st.floats(500, 10000), d_capex=st.floats(1, 5000), om=st.floats(0, 200),
       r=st.floats(0, 0.2), n=st.integers(1, 40), deg=st.floats(0, 0.03))
def test_lcoe_rises_with_capex_and_falls_with_yield(y, capex, d_capex, om, r, n, deg):
    kw = {"discount_rate": r, "lifetime_yr": n, "degradation_per_yr": deg}
    a = float(lcoe_cny_per_kwh(y, capex, om, **kw))
    assert float(lcoe_cny_per_kwh(y, capex + d_capex, om, **kw)) > a
    assert float(lcoe_cny_per_kwh(y * 1.1, capex, om, **kw)) < a
    assert a > 0


@given(y=st.floats(300, 2000), capex=st.floats(500, 10000), om=st.floats(0, 200),
       share=st.integers(0, 100).map(lambda k: k / 100),
       retail=st.floats(0.05, 2.0), feed=st.floats(0.05, 1.0), rise=st.floats(0.01, 1.0))
def test_payback_falls_when_a_tariff_rises(y, capex, om, share, retail, feed, rise):
    base = float(simple_payback_yr(y, capex, om, energy_value_cny_per_kwh(share, retail, feed)))
    more_feed = float(simple_payback_yr(y, capex, om, energy_value_cny_per_kwh(share, retail, feed + rise)))
    more_retail = float(simple_payback_yr(y, capex, om, energy_value_cny_per_kwh(share, retail + rise, feed)))
    assert more_feed <= base and more_retail <= base
    if math.isfinite(base):  # strictly, for the price of the share that is sold or used
        assert more_feed < base or share == 1.0
        assert more_retail < base or share == 0.0
        value = energy_value_cny_per_kwh(share, retail, feed)
        assert float(simple_payback_yr(y, capex * 1.5, om, value)) > base


@given(k=st.floats(0.01, 1e4))
def test_system_figures_do_not_depend_on_size(k):
    econ = default_economics()
    cases = [econ.residential, econ.commercial, econ.site]
    cap = np.array([5.0, 300.0, 20000.0])
    energy = cap * np.array([1050.0, 1100.0, 1160.0])
    retail = [0.538, 0.70, 0.4153]
    a = system_economics(cap, energy, cases, retail, econ)
    b = system_economics(cap * k, energy * k, cases, retail, econ)
    np.testing.assert_allclose(b["lcoe_cny_per_kwh"], a["lcoe_cny_per_kwh"], rtol=1e-9)
    np.testing.assert_allclose(b["simple_payback_yr"], a["simple_payback_yr"], rtol=1e-9)
    np.testing.assert_allclose(b["co2_avoided_t_co2_per_yr"], a["co2_avoided_t_co2_per_yr"] * k, rtol=1e-9)


def test_no_capacity_gives_nan_not_zero():
    econ = default_economics()
    out = system_economics([0.0, 10.0], [0.0, 11000.0], econ.commercial, 0.70, econ)
    assert math.isnan(out["lcoe_cny_per_kwh"].iloc[0]) and math.isnan(out["simple_payback_yr"].iloc[0])
    assert out["capex_cny"].tolist() == [0.0, 10.0 * econ.commercial.capex_cny_per_kw]


def test_shipped_parameters_and_their_checks():
    econ = default_economics()
    assert econ.tariffs.feed_in_cny_per_kwh == 0.4153  # Zhejiang coal benchmark price
    assert econ.grid_emission_factor_t_co2_per_mwh == 0.5617  # East China grid 2022, MEE/NBS
    assert econ.panel.power_w / (econ.panel.height_m * econ.panel.width_m) == pytest.approx(204, abs=1)
    assert from_mapping(PVEconomics, to_dict(econ)) == econ
    with pytest.raises(ConfigError, match="discount_rate"):
        from_mapping(PVEconomics, {"discount_rate": 2.0})
    with pytest.raises(ConfigError, match="self_consumption_share"):
        from_mapping(PVEconomics, {"commercial": {"self_consumption_share": 1.5}})
    with pytest.raises(ConfigError, match="villa"):
        PVEconomics(residential_use_classes=("villa",))
    assert CostCase().self_consumption_share == 0.0
