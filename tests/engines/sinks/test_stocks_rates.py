"""Stocks and sequestration against hand-computed IPCC and volume-chain examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.sinks.factors import read_factors
from engines.sinks.rates import gain_loss, stock_difference
from engines.sinks.stocks import CO2_PER_C, patch_stocks, volume_to_carbon
from twin.errors import ConfigError, SchemaError
from twin.schema import LANDCOVER_CLASSES

F = read_factors()


def test_volume_to_carbon_worked_example():
    # Chinese fir, 100 m3/ha (AR-CM-001-V01 species parameters):
    # AGB = 100 x 1.634 x 0.307 x 0.52 = 26.0852 t C/ha; BGB = 26.0852 x 0.246 = 6.4170
    agb, bgb = volume_to_carbon(100.0, bef=1.634, wood_density=0.307, root_shoot=0.246,
                                carbon_fraction=0.52)
    assert agb == pytest.approx(26.0852, abs=1e-4)
    assert bgb == pytest.approx(6.4170, abs=1e-4)
    # total = V x BEF x D x (1 + R) x CF
    assert agb + bgb == pytest.approx(100 * 1.634 * 0.307 * 1.246 * 0.52)


def test_patch_stock_from_volume_uses_class_parameters():
    p = pd.DataFrame({"lc_class": ["mixed_forest"], "area_m2": [20_000.0],
                      "growing_stock_m3_per_ha": [80.0]})
    s = patch_stocks(p, F).iloc[0]
    # mixed_forest central: BEF 1.656, D 0.486, R 0.248, CF 0.498; 2 ha
    agb = 80 * 1.656 * 0.486 * 0.498 * 2
    assert s["agb_carbon_t_c"] == pytest.approx(agb)
    assert s["bgb_carbon_t_c"] == pytest.approx(agb * 0.248)
    assert s["dom_carbon_t_c"] == pytest.approx(1.6 * 2)  # measured Zhejiang forest litter
    assert s["soil_carbon_t_c"] == pytest.approx(63.0 * 2)  # Table 2.3 LAC warm temperate moist
    assert s["growing_stock_m3"] == pytest.approx(160.0)
    assert s["stock_method"] == "volume"
    assert s["carbon_stock_t_co2"] == pytest.approx(s["carbon_stock_t_c"] * 44 / 12)


def test_class_default_hand_example():
    # 1 ha of forest without growing stock: the city's 2020 arbor stand volume 5.05 m3/mu
    # (001:75) = 75.75 m3/ha through the class's chain (broadleaf: BEF 1.514, D 0.482,
    # CF 0.490, R 0.262); litter 1.6 (Zhejiang measured); SOC 63 (IPCC Table 2.3, 0-30 cm)
    p = pd.DataFrame({"lc_class": ["evergreen_broadleaf_forest", "cropland"],
                      "area_m2": [10_000.0, 10_000.0]})
    s = patch_stocks(p, F)
    agb = 75.75 * 1.514 * 0.482 * 0.490
    assert s.loc[0, "agb_carbon_t_c"] == pytest.approx(agb, abs=0.01)
    assert s.loc[0, "carbon_stock_t_c"] == pytest.approx(agb * 1.262 + 1.6 + 63, abs=0.02)
    assert s.loc[0, "stock_method"] == "class_default"
    # cropland: SOC_ref 63 x F_LU 0.69 (Table 5.5), no biomass at Tier 1
    assert s.loc[1, "carbon_stock_t_c"] == pytest.approx(63 * 0.69)
    assert s.loc[1, "forest_carbon_stock_t_c"] == 0.0


def test_gain_loss_hand_example():
    p = pd.DataFrame({"lc_class": ["mixed_forest", "bamboo_forest", "cropland"],
                      "area_m2": [10_000.0, 10_000.0, 10_000.0],
                      "forest_age_class": ["young", "", ""],
                      "growing_stock_m3_per_ha": [50.0, np.nan, np.nan]})
    r = gain_loss(p, F)
    gain = 5.0 * 1.656 * 0.486 * (1 + 0.248) * 0.498  # Iv young x BEF x D x (1+R) x CF
    biomass = 50 * 1.656 * 0.486 * 0.498 * (1 + 0.248)
    net = gain - 0.0315 * biomass  # loss fraction calibrated on 001:75 (calibration.toml)
    assert r.loc[0, "co2_uptake_t_per_yr"] == pytest.approx(net * 44 / 12)
    assert r.loc[0, "net_increment_m3_per_yr"] == pytest.approx(5.0 - 0.0315 * 50)
    assert r.loc[1, "co2_uptake_t_per_yr"] == pytest.approx(0.74 * 44 / 12)  # Moso, Xu et al. 2017
    assert r.loc[2, "co2_uptake_t_per_yr"] == 0.0  # cropland remaining cropland, Tier 1
    assert (r["co2_uptake_low_t_per_yr"] <= r["co2_uptake_t_per_yr"]).all()
    assert (r["co2_uptake_t_per_yr"] <= r["co2_uptake_high_t_per_yr"]).all()


def test_unknown_age_class_and_class_are_errors():
    p = pd.DataFrame({"lc_class": ["mixed_forest"], "area_m2": [1.0], "forest_age_class": ["old"]})
    with pytest.raises(SchemaError, match="forest_age_class"):
        gain_loss(p, F)
    p = pd.DataFrame({"lc_class": ["jungle"], "area_m2": [1.0]})
    with pytest.raises(SchemaError, match="jungle"):
        patch_stocks(p, F)


def test_stock_difference_sign_convention():
    # stock grows from 100 to 110 t C in 5 years -> removal of 2 t C/yr = 7.33 t CO2/yr (positive)
    assert stock_difference(100.0, 110.0, 5) == pytest.approx(2 * CO2_PER_C)
    # stock falls -> negative (emission)
    assert stock_difference(110.0, 100.0, 5) == pytest.approx(-2 * CO2_PER_C)
    assert stock_difference(100.0, 100.0, 5) == 0.0
    with pytest.raises(ConfigError, match="positive number of years"):
        stock_difference(1.0, 2.0, 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LANDCOVER_CLASSES),
                          st.floats(0, 1e6, allow_nan=False),
                          st.one_of(st.just(np.nan), st.floats(0, 1500, allow_nan=False))),
                min_size=1, max_size=20))
def test_stocks_are_non_negative_and_ordered(rows):
    p = pd.DataFrame(rows, columns=["lc_class", "area_m2", "growing_stock_m3_per_ha"])
    s = patch_stocks(p, F)
    for col in ("agb_carbon_t_c", "bgb_carbon_t_c", "dom_carbon_t_c", "soil_carbon_t_c",
                "carbon_stock_low_t_c"):
        assert (s[col] >= 0).all()
    assert (s["carbon_stock_low_t_c"] <= s["carbon_stock_t_c"] + 1e-9).all()
    assert (s["carbon_stock_t_c"] <= s["carbon_stock_high_t_c"] + 1e-9).all()
