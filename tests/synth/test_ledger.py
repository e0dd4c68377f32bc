"""The demo's synthetic ledgers: seeded, passing the import gate, consistent with the 2020 baseline."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from layers.ledger import conform_ledger
from synth.ledger import synthetic_ledgers

CODES = ["330102", "330109", "330112", "330182"]
DISTRICTS = pd.DataFrame({"adcode": CODES, "name_zh": ["上城区", "萧山区", "临安区", "建德市"],
                          "name_en": ["Shangcheng", "Xiaoshan", "Lin'an", "Jiande"]})


def test_same_seed_same_ledger_other_seed_other():
    a = synthetic_ledgers("hangzhou", CODES, seed=1)
    b = synthetic_ledgers("hangzhou", CODES, seed=1)
    c = synthetic_ledgers("hangzhou", CODES, seed=2)
    pd.testing.assert_frame_equal(a["pv_installations"], b["pv_installations"])
    assert not a["pv_installations"].equals(c["pv_installations"])


def test_hangzhou_ledger_is_plausible_after_the_2020_baseline():
    raw = synthetic_ledgers("hangzhou", CODES, seed=7)
    pv = conform_ledger(raw["pv_installations"], "pv_installations", DISTRICTS, is_synthetic=True,
                        today=dt.date(2026, 1, 1))
    assert pv["is_synthetic"].all()
    assert pv["in_service_year"].between(2021, 2025).all()  # additions after the 2020 baseline
    solar = pv.loc[pv["install_kind"].isin(["rooftop", "water", "ground"])]
    yearly = solar.groupby("in_service_year")["capacity_mw"].sum()
    assert yearly.between(410, 830).all()  # data/ledger/ledger.toml ranges, summed over the PV kinds
    # 1,340 MW in 2020 (seed 001:51) + five years lands within 40 % of the 4,800 MW 2025 target
    assert 0.6 * 4800 < 1340 + yearly.sum() < 1.4 * 4800
    assert set(pv["district_adcode"]) <= set(CODES)
    ch = conform_ledger(raw["charging_installations"], "charging_installations", DISTRICTS,
                        is_synthetic=True, today=dt.date(2026, 1, 1))
    assert (ch["piles"] > 0).all()


def test_a_city_without_ranges_gets_no_ledger():
    assert synthetic_ledgers("nowhere", CODES, seed=1) == {}
