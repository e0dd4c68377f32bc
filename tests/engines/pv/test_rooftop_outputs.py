"""Per-building screener columns and the weather spread, on buildings the test builds."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from engines.pv.economics import default_economics, lcoe_cny_per_kwh
from engines.pv.params import RooftopParams
from engines.pv.rooftop import RooftopInputs, rooftop_potential, weather_variability
from engines.pv.scenarios import load_scenarios
from engines.pv.weather import location_from_meta, read_epw

WEATHER_DIR = Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
EPW = WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw"


@pytest.fixture(scope="module")
def run():
    weather, meta = read_epw(EPW)
    loc = location_from_meta(meta)
    b = gpd.GeoDataFrame(
        {"building_id": ["home", "works", "shaded", "odd"], "height_m": [9.0, 15.0, 6.0, 12.0],
         "roof_type": ["gable", "flat", "flat", "unknown"],
         "use_class": ["residential", "industrial", "residential", "office"],
         "is_new_build": [False] * 4, "is_public_institution": [False] * 4},
        geometry=[box(0, 0, 12, 10), box(100, 0, 160, 40), box(0, -30, 10, -20), box(300, 0, 320, 15)],
        crs=4549)
    facets, pb = rooftop_potential(b, weather, loc, load_scenarios())
    return weather, loc, b, facets, pb


def test_building_cascade_flags_and_money(run):
    weather, _, _, facets, pb = run
    econ = default_economics()
    live = pb.loc[pb["pv_capacity_kwp"] > 0]
    assert {"home", "works", "odd"} <= set(live.index)
    losses = [c for c in pb.columns if c.startswith("loss_")]
    np.testing.assert_allclose(live["nominal_kwh"] - live[losses].sum(axis=1), live["pv_yield_kwh_per_yr"],
                               rtol=1e-9)
    assert (live["loss_horizon_kwh"] >= 0).all()
    np.testing.assert_allclose(live["capacity_factor"],
                               live["pv_yield_kwh_per_yr"] / (live["pv_capacity_kwp"] * len(weather)))
    assert pb.loc["odd", "roof_type_defaulted"] and not pb.loc["works", "roof_type_defaulted"]
    viable = facets.loc[facets["is_viable"]]
    assert (pb.loc[live.index, "panel_count"] == viable.groupby("building_id")["panel_count"].sum()
            .loc[live.index]).all()
    # homes take the residential case, the works and the office the commercial one
    for bid, case in (("home", econ.residential), ("works", econ.commercial), ("odd", econ.commercial)):
        want = lcoe_cny_per_kwh(live.loc[bid, "specific_yield_kwh_per_kwp"], case.capex_cny_per_kw,
                                case.om_cny_per_kw_yr, discount_rate=econ.discount_rate,
                                lifetime_yr=econ.lifetime_yr, degradation_per_yr=econ.degradation_per_yr)
        assert live.loc[bid, "lcoe_cny_per_kwh"] == pytest.approx(float(want), rel=1e-12)
    months = [f"poa_global_kwh_per_m2_{m:02d}" for m in range(1, 13)]
    w = viable["pdc0_kw"]
    for bid, grp in viable.groupby("building_id"):
        mean = (grp[months].mul(w.loc[grp.index], axis=0).sum() / w.loc[grp.index].sum()).to_numpy()
        np.testing.assert_allclose(pb.loc[bid, months].to_numpy(float), mean, rtol=1e-9)


def _inputs(weather, loc, other):
    return RooftopInputs(None, weather, "a.epw", loc, {}, pd.DataFrame(), pd.DataFrame(), other_weather=other)


def test_weather_spread_between_files(run):
    weather, loc, _, facets, _ = run
    params = RooftopParams()
    same = weather_variability(facets, _inputs(weather, loc, {"b.epw": weather.copy()}), params)
    assert same["kind"] == "between-file" and same["spread_kwh_per_kwp"] == 0.0
    dim = weather.copy()
    dim[["ghi", "dni", "dhi"]] *= 0.9
    other = {"b.epw": dim, "c.epw": "c.epw: no file"}
    out = weather_variability(facets, _inputs(weather, loc, other), params)
    a, b = (out["files"][n]["specific_yield_kwh_per_kwp"] for n in ("a.epw", "b.epw"))
    assert b < a and out["spread_kwh_per_kwp"] == pytest.approx(a - b, abs=0.11)
    assert 0.08 < out["relative_spread"] < 0.12  # about 10 % less light, about 10 % less energy
    assert out["files"]["c.epw"] == {"error": "c.epw: no file"} and "not year-to-year" in out["note"]
    assert weather_variability(facets, _inputs(weather, loc, {}), params)["kind"] == "none"


def test_weather_spread_reuses_the_runs_own_yields(run):
    """With own_yields the facets' ac_kwh stand for the run's own file (not simulated again)."""
    weather, loc, _, facets, _ = run
    params = RooftopParams()
    other = {"b.epw": weather.copy()}
    scaled = facets.assign(ac_kwh=facets["ac_kwh"] * 2.0)
    base = weather_variability(facets, _inputs(weather, loc, other), params)
    own = weather_variability(scaled, _inputs(weather, loc, other), params, own_yields=True)
    assert own["files"]["b.epw"] == base["files"]["b.epw"]  # other files simulated as before
    a = own["files"]["a.epw"]["specific_yield_kwh_per_kwp"]
    assert a == pytest.approx(2.0 * float(facets.loc[facets["is_viable"], "ac_kwh"].sum()
                                          / facets.loc[facets["is_viable"], "pdc0_kw"].sum()), rel=0.2)
