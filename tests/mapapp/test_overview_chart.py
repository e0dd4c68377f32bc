"""The overview's progress chart: themes, full wrapped labels, values and gaps on the bars, cut bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st_h

from mapapp.i18n import t
from mapapp.pages.overview import (
    _WRAP_EN,
    _WRAP_ZH,
    BAR_CLIP_PCT,
    THEMES,
    _bars_long,
    _chart,
    progress_frame,
    theme_of,
    wrap_label,
)
from twin.config import load_city

LONG_EN = "Total installed photovoltaic capacity of the whole city including distributed rooftops"


def _frame(lang: str) -> pd.DataFrame:
    ids = ["PV-H1", "W-H1", "C-H1-5min", "K-H1", "B-H1", "E-H8"]
    targets = pd.DataFrame({
        "id": ids, "kind": "target", "is_governing": True,
        "year": pd.array([2025] * 6, dtype="Int64"),
        "metric": ["pv_capacity_mw", "wind_capacity_mw", "charging_circle_coverage_pct",
                   "forest_coverage_pct", "green_building_demo_projects_count",
                   "coal_boilers_closed_within_chp_radius_pct"],
        "value": [100.0, 10.0, 80.0, 60.0, 5.0, 100.0],
        "unit": ["mw", "mw", "pct", "pct", "count", "pct"], "comparator": ">=",
        "baseline_value": [20.0, np.nan, np.nan, np.nan, np.nan, np.nan],
        "indicator_en": [LONG_EN, "wind", "5-minute charging circle", "forest", "demo", "boilers"],
        "indicator_zh": ["全市光伏总装机容量（含分布式屋顶光伏及集中式电站）", "风电", "充电圈", "森林",
                         "示范", "锅炉"],
        "status": "final", "source": [f"002:{i}" for i in range(6)]})
    tracked = pd.DataFrame({"target_id": ["PV-H1", "W-H1", "C-H1-5min", "K-H1"],
                            "potential": [30.0, 23.0, 40.0, 61.0], "baseline_engine": np.nan,
                            "engine": ["pv", "wind", "coverage", "sinks"]})
    return progress_frame(targets, tracked, 2025, lang, "hangzhou",
                          {"pv", "wind", "coverage", "sinks"})


def test_every_target_of_both_cities_has_a_theme_and_the_five_themes_appear():
    themes = {th for th, _ in THEMES}
    seen = set()
    for city in ("hangzhou", "huzhou"):
        tf = load_city(city).targets_frame()
        seen |= {theme_of(i) for i in tf["id"]}
    assert seen <= themes
    assert {"pv", "wind_storage", "charging_transit", "sinks", "buildings"} <= seen
    assert theme_of("S-Z1-2025") == "wind_storage" and theme_of("T-H1") == "charging_transit"
    assert theme_of("PV-Z9") == "pv" and theme_of("XYZ") == "other"


@given(st_h.lists(st_h.sampled_from(["solar", "capacity", "of", "the", "photovoltaic", "城市",
                                     "a" * 50]), min_size=1, max_size=20))
def test_wrap_label_keeps_every_word_and_bounds_the_lines(words):
    text = "PV-H1 " + " ".join(words)
    en = wrap_label(text, "en")
    assert " ".join(en.split("\n")).replace(" ", "") == text.replace(" ", "")
    assert all(len(line) <= _WRAP_EN for line in en.split("\n"))
    zh = wrap_label(text, "zh")
    assert zh.replace("\n", "") == text
    assert all(len(line) <= _WRAP_ZH + 6 for line in zh.split("\n"))
    assert zh.startswith("PV-H1 ")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_has_a_panel_per_theme_full_labels_and_printed_values(lang):
    pf = _frame(lang)
    spec = _chart(pf, lang).to_dict()
    titles = [p["title"]["text"] for p in spec["vconcat"]]
    assert titles == [t(f"theme.{th}", lang) for th in
                      ("pv", "wind_storage", "charging_transit", "sinks", "buildings", "other")]
    data = next(v for v in spec["datasets"].values() if v and "series" in v[0])
    labels = {d["id"]: d["label"] for d in data}
    # full labels: nothing cut ("..."), the whole indicator is there once the lines are joined
    pv = labels["PV-H1"]
    assert "\n" in pv and "…" not in pv and "..." not in pv
    joined = pv.replace("\n", " " if lang == "en" else "")
    indicator = pf.set_index("id").loc["PV-H1", "indicator"]
    assert joined.replace(" ", "").endswith(indicator.replace(" ", ""))
    axis = spec["vconcat"][0]["layer"][0]["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False and "split" in axis["labelExpr"]  # every label, wrapped
    text = {d["id"]: d["bar_text"] for d in data if d["order"] == 1}
    assert text["PV-H1"].startswith("50 %")  # (20 baseline + 30 computed) / 100
    assert t("bar.gap", lang, gap="50", unit=pf.set_index("id").loc["PV-H1", "unit_label"]) \
        in text["PV-H1"]
    assert text["W-H1"].startswith("230 %") and t("bar.met", lang) in text["W-H1"]
    assert text["B-H1"] == t("state.not_tracked", lang)


def test_bars_past_the_cut_are_cut_and_say_their_true_value():
    pf = _frame("en")
    long = _bars_long(pf, "en").set_index(["id", "order"])
    wind = long.loc[("W-H1", 1)]
    assert wind["x1"] == BAR_CLIP_PCT and wind["is_cut"] and wind["pct"] == pytest.approx(230.0)
    pv_base, pv_pot = long.loc[("PV-H1", 0)], long.loc[("PV-H1", 1)]
    assert (pv_base["x0"], pv_base["x1"], pv_pot["x0"], pv_pot["x1"]) == (0.0, 20.0, 20.0, 50.0)
    assert not pv_pot["is_cut"] and pv_pot["text_x"] == 50.0
    assert (long["x1"] <= BAR_CLIP_PCT).all() and (long["x0"] <= long["x1"]).all()
