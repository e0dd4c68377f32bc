"""The yield engine's screener outputs (``details=True``): loss terms against pvlib, closure, invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.pv.weather import interval_middle, location_from_meta, read_epw
from engines.pv.yield_ import SUNSHINE_DNI_W_PER_M2, simulate_facets

WEATHER_DIR = Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
EPW = WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw"
HCOLS = [f"horizon_elev_deg_{k * 10:03d}" for k in range(36)]
LOSSES = ["loss_horizon_kwh", "loss_iam_kwh", "loss_temperature_kwh", "loss_system_kwh", "loss_inverter_kwh"]
MONTHS_POA = [f"poa_global_kwh_per_m2_{m:02d}" for m in range(1, 13)]
GAMMA = -0.0035
LOSS_PCT = float(pvlib.pvsystem.pvwatts_losses())


@pytest.fixture(scope="module")
def wx():
    """SWERA with hours of ghi > 0 but dhi = dni = 0 zeroed (pvlib's Perez gives NaN there)."""
    df, meta = read_epw(EPW)
    df.loc[(df["dhi"] <= 0) & (df["dni"] <= 0), "ghi"] = 0.0
    return df, location_from_meta(meta)


def _modelchain(tilt, azimuth, pdc0_kw, weather, loc):
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
    array = pvlib.pvsystem.Array(pvlib.pvsystem.FixedMount(tilt, azimuth),
                                 module_parameters={"pdc0": pdc0_kw * 1000.0, "gamma_pdc": GAMMA},
                                 temperature_model_parameters=temp, albedo=0.25)
    system = pvlib.pvsystem.PVSystem(arrays=[array], inverter_parameters={
        "pdc0": pdc0_kw * 1000.0 / 1.2, "eta_inv_nom": 0.96})
    mc = pvlib.modelchain.ModelChain(system, loc, dc_model="pvwatts", ac_model="pvwatts",
                                     aoi_model="physical", spectral_model="no_loss",
                                     temperature_model="sapm", losses_model="pvwatts",
                                     transposition_model="perez")
    w = weather.set_axis(interval_middle(weather.index))
    mc.run_model(w)
    return mc.results, w, temp


@pytest.mark.parametrize(("tilt", "azimuth"), [(25.0, 180.0), (60.0, 270.0), (15.0, 30.0)])
def test_each_loss_term_matches_pvlib(wx, tilt, azimuth):
    weather, loc = wx
    pdc0 = 7.0
    facets = pd.DataFrame({"surface_tilt": [tilt], "surface_azimuth": [azimuth], "pdc0_kw": [pdc0]})
    got = simulate_facets(facets, weather, loc, monthly=True, details=True).iloc[0]
    r, w, temp = _modelchain(tilt, azimuth, pdc0, weather, loc)
    poa = r.total_irrad["poa_global"].fillna(0.0)
    beam = r.total_irrad["poa_direct"].fillna(0.0)
    aoi = r.aoi
    # each term from pvlib's own component functions, not from the engine's algebra
    iam = pvlib.iam.physical(aoi).fillna(0.0)
    eff = beam * iam + (poa - beam)
    tcell = pvlib.temperature.sapm_cell(poa, w["temp_air"], w["wind_speed"], **temp)
    dc_pre = pvlib.pvsystem.pvwatts_dc(eff, tcell, pdc0 * 1000.0, GAMMA)
    dc = r.dc.fillna(0.0)
    ac = r.ac.fillna(0.0)
    assert got["nominal_kwh"] == pytest.approx(poa.sum() * pdc0 / 1000.0, rel=1e-9)
    assert got["loss_horizon_kwh"] == 0.0
    assert got["loss_iam_kwh"] == pytest.approx((beam * (1.0 - iam)).sum() * pdc0 / 1000.0, rel=1e-4)
    assert got["loss_temperature_kwh"] == pytest.approx(
        (eff * pdc0 - dc_pre).sum() / 1000.0, rel=1e-5)
    assert got["loss_system_kwh"] == pytest.approx(dc_pre.sum() * LOSS_PCT / 100.0 / 1000.0, rel=1e-6)
    assert got["loss_inverter_kwh"] == pytest.approx((dc - ac).sum() / 1000.0, rel=1e-6)
    assert got["capacity_factor"] == pytest.approx(ac.sum() / 1000.0 / (pdc0 * len(weather)), rel=1e-6)
    month = (w.index - pd.Timedelta("30min")).month
    np.testing.assert_allclose(got[MONTHS_POA].to_numpy(float),
                               poa.groupby(month).sum().to_numpy() / 1000.0, rtol=1e-9)
    sunny = (w["dni"] > SUNSHINE_DNI_W_PER_M2) & (aoi < 90.0)
    assert got["sunshine_h"] == sunny.sum()
    # and the cascade closes on ModelChain's AC
    assert got["nominal_kwh"] - got[LOSSES].sum() == pytest.approx(ac.sum() / 1000.0, rel=1e-6)


def test_details_change_nothing_else(wx):
    weather, loc = wx
    facets = pd.DataFrame({"surface_tilt": [0.0, 35.0], "surface_azimuth": [180.0, 100.0],
                           "pdc0_kw": [1.0, 3.0]})
    for k, h in enumerate(HCOLS):
        facets[h] = [0.0, 25.0 if 9 <= k <= 14 else 0.0]
    a = simulate_facets(facets, weather, loc, monthly=True)
    b = simulate_facets(facets, weather, loc, monthly=True, details=True)
    pd.testing.assert_frame_equal(a, b[a.columns])
    assert not set(MONTHS_POA) & set(simulate_facets(facets, weather, loc, details=True).columns)


def test_horizon_loss_is_the_lost_plane_of_array_irradiation(wx):
    weather, loc = wx
    base = pd.DataFrame({"surface_tilt": [30.0], "surface_azimuth": [160.0], "pdc0_kw": [2.0]})
    shaded = base.copy()
    for k, h in enumerate(HCOLS):
        shaded[h] = 30.0 if 8 <= k <= 12 else 5.0  # a block to the east-south-east
    o = simulate_facets(base, weather, loc, details=True).iloc[0]
    s = simulate_facets(shaded, weather, loc, details=True).iloc[0]
    assert s["nominal_kwh"] == pytest.approx(o["nominal_kwh"], rel=1e-12)
    assert s["poa_global_unshaded_kwh_per_m2"] == pytest.approx(o["poa_global_kwh_per_m2"], rel=1e-12)
    assert s["loss_horizon_kwh"] == pytest.approx(
        (o["poa_global_kwh_per_m2"] - s["poa_global_kwh_per_m2"]) * 2.0, rel=1e-9)
    assert s["loss_horizon_kwh"] > 0 and s["sunshine_h"] < o["sunshine_h"]
    # a wall all round: no sunshine, and only the ground-reflected light reaches the plane
    wall = base.copy()
    for h in HCOLS:
        wall[h] = 90.0
    w = simulate_facets(wall, weather, loc, details=True).iloc[0]
    assert w["sunshine_h"] == 0
    ground_only = w["poa_global_kwh_per_m2"] * 2.0
    assert w["loss_horizon_kwh"] == pytest.approx(w["nominal_kwh"] - ground_only, rel=1e-9)


facet_rows = st.tuples(st.floats(0, 90), st.floats(0, 360), st.floats(0.1, 500.0))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(facet_rows, min_size=1, max_size=6),
       hz=st.lists(st.floats(0, 70), min_size=36, max_size=36),
       losses=st.floats(0.0, 40.0), dcac=st.floats(0.8, 1.8))
def test_cascade_closes_and_horizon_only_removes(wx, rows, hz, losses, dcac):
    weather, loc = wx
    tilt, az, p = (np.array(v, float) for v in zip(*rows, strict=True))
    f = pd.DataFrame({"surface_tilt": tilt, "surface_azimuth": az, "pdc0_kw": p})
    g = f.copy()
    for h, v in zip(HCOLS, hz, strict=True):
        g[h] = v
    opts = {"details": True, "losses_percent": losses, "dc_ac_ratio": dcac}
    o = simulate_facets(f, weather, loc, **opts)
    s = simulate_facets(g, weather, loc, **opts)
    for out in (o, s):
        np.testing.assert_allclose(out["nominal_kwh"] - out[LOSSES].sum(axis=1), out["ac_kwh"],
                                   rtol=1e-9, atol=1e-9 * out["nominal_kwh"].max())
        assert (out[["loss_horizon_kwh", "loss_iam_kwh", "loss_system_kwh", "loss_inverter_kwh"]]
                >= -1e-9 * out["nominal_kwh"].max()).all().all()
        assert out["capacity_factor"].between(0, 1).all()
    assert (s["sunshine_h"] <= o["sunshine_h"]).all()
    assert (s["loss_horizon_kwh"] >= -1e-9).all()
    np.testing.assert_allclose(s["nominal_kwh"], o["nominal_kwh"], rtol=1e-12)


def test_details_keep_the_facets_index(wx):
    """A subset of facets (as the rooftop engine simulates per mounting) keeps its own index."""
    weather, loc = wx
    facets = pd.DataFrame({"surface_tilt": [10.0, 30.0, 20.0], "surface_azimuth": [90.0, 180.0, 270.0],
                           "pdc0_kw": [1.0, 5.0, 2.0]}, index=[17, 3, 8])
    got = simulate_facets(facets, weather, loc, monthly=True, details=True)
    assert list(got.index) == [17, 3, 8] and not got.isna().any().any()
    for i in facets.index:  # each row as if simulated alone
        alone = simulate_facets(facets.loc[[i]].reset_index(drop=True), weather, loc, monthly=True,
                                details=True).iloc[0]
        pd.testing.assert_series_equal(got.loc[i], alone, check_names=False, rtol=1e-12)
    losses = got[[c for c in got.columns if c.startswith("loss_")]].sum(axis=1)
    np.testing.assert_allclose(got["nominal_kwh"] - losses, got["ac_kwh"], rtol=1e-9)
