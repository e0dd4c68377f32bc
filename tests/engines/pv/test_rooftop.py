"""Rooftop PV on a built twin: totals are sums, results land in the catalog, targets line up."""

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shell.cli import main
from shell.runners import run_engine
from twin.store import TwinStore


@pytest.fixture(scope="module")
def pv_run(twin_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("pv-home")
    shutil.copytree(twin_home / "huzhou", home / "huzhou")
    res = run_engine("pv", "huzhou", home=home)
    out = {"buildings": res.results["pv_buildings"], "facets": res.results["pv_facets"],
           "districts": res.tables["pv_districts"], "townships": res.tables["pv_townships"],
           "city": res.tables["pv_city"], "targets": res.tables["pv_targets"], "meta": res.meta}
    return home, out


def test_district_totals_equal_sum_of_buildings(pv_run):
    _, out = pv_run
    b, d, city = out["buildings"], out["districts"], out["city"]
    tech = d.loc[d["scenario"] == "technical"].set_index("district_adcode")
    by_b = b.groupby("district_adcode")["pv_capacity_kwp"].sum() / 1000
    np.testing.assert_allclose(tech.loc[by_b.index, "pv_capacity_mw"], by_b, rtol=1e-12)
    c = city.set_index("scenario")
    for scen, grp in d.groupby("scenario"):
        assert grp["pv_capacity_mw"].sum() == pytest.approx(c.loc[scen, "pv_capacity_mw"], rel=1e-12)
        assert grp["pv_yield_mwh_per_yr"].sum() == pytest.approx(c.loc[scen, "pv_yield_mwh_per_yr"],
                                                                 rel=1e-12)
    t = out["townships"]
    assert t.loc[t["scenario"] == "technical", "pv_capacity_mw"].sum() == pytest.approx(
        c.loc["technical", "pv_capacity_mw"], rel=1e-12)


def test_facets_sum_to_buildings(pv_run):
    _, out = pv_run
    f, b = out["facets"], out["buildings"].set_index("building_id")
    viable = f.loc[f["is_viable"]]
    by = viable.groupby("building_id")["ac_kwh"].sum()
    np.testing.assert_allclose(b.loc[by.index, "pv_yield_kwh_per_yr"], by, rtol=1e-12)


def test_physics_is_sane(pv_run):
    _, out = pv_run
    b, f = out["buildings"], out["facets"]
    assert (f["ac_kwh"] >= 0).all() and (f["shading_loss_fraction"].between(0, 1)).all()
    sy = b.loc[b["pv_capacity_kwp"] > 0, "specific_yield_kwh_per_kwp"]
    assert 600 < sy.median() < 1300  # Hangzhou CSWD: GHI ~1200 kWh/m2/yr
    # scenarios only ever adopt part of the technical potential
    assert (b["adopted_capacity_kwp"] <= b["pv_capacity_kwp"] + 1e-9).all()
    assert b["is_synthetic"].all() and f["is_synthetic"].all()


def test_targets_and_catalog(pv_run):
    home, out = pv_run
    t = out["targets"]
    assert set(t["target_id"]) == {"PV-Z1", "PV-Z2"}
    row = t.loc[(t["target_id"] == "PV-Z1") & (t["scenario"] == "technical")].iloc[0]
    assert row["target_mw"] == 3600 and row["year"] == 2025
    assert row["potential_minus_needed_mw"] == pytest.approx(row["potential_mw"] - row["needed_mw"])
    store = TwinStore("huzhou", home)
    with store.connect() as con:
        n = con.execute("SELECT count(*) FROM pv_buildings WHERE pv_capacity_kwp > 0").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert n > 0 and {"pv_districts", "pv_townships", "pv_city", "pv_targets", "pv_facets"} <= tables
    meta = store.meta()["pv"]
    assert meta["scenario"] == "whole_county_2021"
    assert meta["params"]["scenario"] == "whole_county_2021"  # every parameter recorded as-is
    assert meta["params"]["model"]["transposition_model"] == "perez"


def test_cli_pv_unknown_scenario(pv_run, capsys, monkeypatch):
    home, _ = pv_run
    monkeypatch.setenv("TWIN_HOME", str(home))
    assert main(["pv", "--city", "huzhou", "--scenario", "nope"]) == 2
    assert "unknown PV scenario 'nope'" in capsys.readouterr().err


def test_demo_totals_say_they_are_a_sample_not_the_city(pv_run, capsys, monkeypatch):
    _, out = pv_run
    t = out["targets"]
    assert not t["is_citywide"].any()
    row = t.iloc[0]
    assert row["n_buildings"] >= len(out["buildings"]) and row["city_buildings_estimate"] == 700_000
    assert row["coverage_share"] == pytest.approx(row["n_buildings"] / 700_000)
    assert 0.9 < row["synthetic_share"] <= 1.0
    assert row["note"].startswith("demo: ") and "not comparable with the citywide target" in row["note"]
    c = out["city"]
    assert {"n_buildings", "coverage_share", "synthetic_share", "is_citywide"} <= set(c.columns)


def test_screener_outputs_on_the_demo(pv_run, capsys, monkeypatch):
    home, out = pv_run
    b, f, city = out["buildings"], out["facets"], out["city"].set_index("scenario")
    live = b.loc[b["pv_capacity_kwp"] > 0]
    losses = live[[c for c in live.columns if c.startswith("loss_") and c.endswith("_kwh")]]
    assert losses.shape[1] == 5
    np.testing.assert_allclose(live["nominal_kwh"] - losses.sum(axis=1), live["pv_yield_kwh_per_yr"],
                               rtol=1e-9, atol=1e-6)
    assert live["capacity_factor"].between(0.07, 0.16).all()
    assert live["lcoe_cny_per_kwh"].between(0.1, 1.0).all() and (live["simple_payback_yr"] > 0).all()
    # the quality flags: a building is flagged when any of its facets is
    for flag in ("height_defaulted", "roof_type_defaulted"):
        by = f.groupby("building_id")[flag].any()
        assert (b.set_index("building_id").loc[by.index, flag] == by).all()
    tech = city.loc["technical"]
    assert tech["co2_avoided_t_co2_per_yr"] == pytest.approx(
        b["pv_yield_kwh_per_yr"].sum() / 1000 * 0.5617, rel=1e-9)
    assert tech["median_lcoe_cny_per_kwh"] == pytest.approx(live["lcoe_cny_per_kwh"].median())
    var = out["meta"]["pv"]["weather_variability"]
    assert var["kind"] == "between-file" and var["n_files"] == 2 and var["spread_kwh_per_kwp"] >= 0
    monkeypatch.setenv("TWIN_HOME", str(home))
    assert main(["pv", "--city", "huzhou"]) == 0
    text = capsys.readouterr().out
    assert "capacity factor" in text and "median LCOE" in text and "between files" in text
    assert "scope: demo" in text


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=40), seed=st.integers(0, 2**31 - 1),
       shuffle=st.booleans(), with_nan=st.booleans())
def test_group_sums_bit_equal_to_pandas_groupby(sizes, seed, shuffle, with_nan):
    """Per-building sums without hashing strings per column equal pandas' group-by sums bit for bit."""
    from engines.pv.rooftop import _building_groups, _group_sums

    rng = np.random.default_rng(seed)
    ids = np.repeat([f"b{i}" for i in range(len(sizes))], sizes)
    if shuffle:  # facets not grouped by building: the compensated-sum path
        ids = ids[rng.permutation(len(ids))]
    n = len(ids)
    cols = {"a": rng.lognormal(3, 2, n), "b": rng.normal(0, 1e6, n) * (rng.random(n) > 0.3)}
    if with_nan:
        cols["b"][rng.integers(len(ids))] = np.nan
    facets = pd.DataFrame({"building_id": pd.array(ids, dtype="str")})
    codes, index = _building_groups(facets)
    got = _group_sums(codes, index, cols)
    frame = pd.DataFrame({"building_id": facets["building_id"], **cols})
    want = frame.groupby("building_id", sort=False).sum()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
