"""Wetland no net loss (Huzhou 占补平衡, target K-Z2) from two land-cover epochs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engines.sinks.change import merge_extra, wetland_change_rows
from engines.sinks.indicators import compute_indicators
from engines.sinks.stocks import M2_PER_MU
from twin.config import load_city

CITY = "330500"
ZONES = pd.DataFrame({
    "adcode": [CITY, "330502", "330503", "330502001", "330503001"],
    "level": ["city", "district", "district", "township", "township"],
    "name_zh": ["湖州市", "吴兴区", "南浔区", "", ""],
    "parent_adcode": ["", CITY, CITY, "330502", "330503"],
    "zone_area_m2": [0.0, 0.0, 0.0, 1e6, 1e6],
})


def ledger(rows):
    """(township, class, area m2) -> a ledger with the columns the indicators read."""
    df = pd.DataFrame(rows, columns=["township_code", "lc_class", "area_m2"])
    df.insert(0, "district_adcode", df["township_code"].str[:6])
    for col in ("carbon_stock_t_c", "carbon_stock_low_t_c", "carbon_stock_high_t_c",
                "forest_carbon_stock_t_c", "forest_carbon_stock_low_t_c",
                "forest_carbon_stock_high_t_c", "co2_uptake_t_per_yr", "co2_uptake_low_t_per_yr",
                "co2_uptake_high_t_per_yr", "growing_stock_m3", "volume_known_area_m2",
                "synthetic_area_m2"):
        df[col] = 0.0
    df["protected_area_m2"] = np.nan
    return df


BEFORE = ledger([("330502001", "wetland", 30_000.0), ("330502001", "cropland", 70_000.0),
                 ("330503001", "water", 50_000.0), ("330503001", "cropland", 50_000.0)])
# Wuxing loses 2 ha of wetland to cropland; Nanxun gains 1 ha of water from cropland
NOW = ledger([("330502001", "wetland", 10_000.0), ("330502001", "cropland", 90_000.0),
              ("330503001", "water", 60_000.0), ("330503001", "cropland", 40_000.0)])


def test_net_change_per_zone_in_mu():
    extra = wetland_change_rows(NOW, BEFORE, CITY)
    got = {k: v["wetland_area_change_mu"][0] for k, v in extra.items()}
    assert got == pytest.approx({
        ("city", CITY): -10_000.0 / M2_PER_MU,             # -1 ha = -15 mu
        ("district", "330502"): -20_000.0 / M2_PER_MU,     # -30 mu
        ("district", "330503"): 10_000.0 / M2_PER_MU,      # +15 mu
        ("township", "330502001"): -30.0,
        ("township", "330503001"): 15.0,
    })
    assert extra[("city", CITY)]["wetland_area_change_mu"][4] == "epoch_difference"


def test_no_change_is_zero_and_swapping_epochs_flips_the_sign():
    same = wetland_change_rows(BEFORE, BEFORE, CITY)
    assert all(v["wetland_area_change_mu"][0] == 0.0 for v in same.values())
    fwd = wetland_change_rows(NOW, BEFORE, CITY)
    back = wetland_change_rows(BEFORE, NOW, CITY)
    assert {k: -v["wetland_area_change_mu"][0] for k, v in fwd.items()} == pytest.approx(
        {k: v["wetland_area_change_mu"][0] for k, v in back.items()})


@given(moved=st.floats(min_value=0.0, max_value=50_000.0))
def test_moving_land_between_non_wetland_classes_changes_nothing(moved):
    now = ledger([("330502001", "wetland", 30_000.0), ("330502001", "cropland", 70_000.0 - moved),
                  ("330502001", "mixed_forest", moved), ("330503001", "water", 50_000.0),
                  ("330503001", "cropland", 50_000.0)])
    extra = wetland_change_rows(now, BEFORE, CITY)
    assert abs(extra[("city", CITY)]["wetland_area_change_mu"][0]) < 1e-9


def test_the_huzhou_target_k_z2_is_compared_and_missed_on_a_net_loss():
    out = compute_indicators(NOW, ZONES, load_city("huzhou"), input_kind="raster",
                             extra=wetland_change_rows(NOW, BEFORE, CITY))
    row = out.loc[(out["indicator"] == "wetland_area_change_mu") & (out["level"] == "city")]
    assert len(row) == 1
    r = row.iloc[0]
    assert (r["target_id"], r["comparator"], r["target_value"], r["unit"]) == ("K-Z2", ">=", 0.0, "mu")
    assert r["value"] == pytest.approx(-15.0)
    assert r["gap"] == pytest.approx(15.0)  # short of no net loss by the 15 mu lost


def test_merge_extra_keeps_every_indicator():
    a = {("city", CITY): {"co2_uptake_t_per_yr": (1.0,)}}
    b = wetland_change_rows(NOW, BEFORE, CITY)
    merged = merge_extra(a, None, b)
    assert set(merged[("city", CITY)]) == {"co2_uptake_t_per_yr", "wetland_area_change_mu"}
    assert set(merged) == set(b)
