"""Tests of engines.pv.yield_: ModelChain equivalence, invariants, horizon geometry, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.pv.weather import interval_middle, location_from_meta, read_epw
from engines.pv.yield_ import simulate_facets, sky_view_ratio
from twin.errors import ConfigError, SchemaError

WEATHER_DIR = Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
EPW = {
    "CSWD": WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_CSWD.epw",
    "SWERA": WEATHER_DIR / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw",
}
HCOLS = [f"horizon_elev_deg_{k * 10:03d}" for k in range(36)]
# (tilt, azimuth): flat, east, south, south-east, west, south-west, north-facing
ORIENTATIONS = [(0, 180), (15, 90), (30, 180), (45, 135), (60, 270), (35, 225), (20, 0),
                (60, 0)]


@pytest.fixture(scope="module")
def weathers():
    """Both EPWs, with the few CSWD hours of ghi > 0 but dhi = dni = 0 set to ghi = 0.

    pvlib's Perez model returns NaN for such (inconsistent) hours, which ModelChain then
    counts as 0 AC, while the engine keeps their ground reflection; with them removed the
    two must agree to rounding.
    """
    out = {}
    for name, path in EPW.items():
        df, meta = read_epw(path)
        dark = (df["dhi"] <= 0) & (df["dni"] <= 0)
        df.loc[dark, "ghi"] = 0.0
        out[name] = (df, location_from_meta(meta))
    return out


_CACHE = {}


def _weather(name="CSWD"):
    if name not in _CACHE:
        df, meta = read_epw(EPW[name])
        _CACHE[name] = (df, location_from_meta(meta))
    return _CACHE[name]


def _facets(orients, pdc0=None):
    tilt, az = zip(*orients, strict=True)
    pdc0 = pdc0 if pdc0 is not None else np.linspace(1.0, 9.0, len(orients))
    return pd.DataFrame({"surface_tilt": np.array(tilt, float),
                         "surface_azimuth": np.array(az, float), "pdc0_kw": pdc0},
                        index=[f"f{i}" for i in range(len(orients))])


def _modelchain(row, weather, loc, *, transposition_model="perez", aoi_model="physical",
                temperature_model="sapm", temperature_params="close_mount_glass_glass",
                gamma_pdc=-0.0035, losses_percent=None, dc_ac_ratio=1.2, eta_inv_nom=0.96,
                albedo=0.25):
    """ModelChain on the same sun: weather index moved to the interval middles."""
    if isinstance(temperature_params, str):
        temperature_params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][
            temperature_params]
    losses = {} if losses_percent is None else {
        "soiling": losses_percent, "shading": 0, "snow": 0, "mismatch": 0, "wiring": 0,
        "connections": 0, "lid": 0, "nameplate_rating": 0, "age": 0, "availability": 0}
    pdc0_w = row["pdc0_kw"] * 1000.0
    array = pvlib.pvsystem.Array(
        pvlib.pvsystem.FixedMount(row["surface_tilt"], row["surface_azimuth"]),
        module_parameters={"pdc0": pdc0_w, "gamma_pdc": gamma_pdc},
        temperature_model_parameters=temperature_params, albedo=albedo)
    system = pvlib.pvsystem.PVSystem(
        arrays=[array], losses_parameters=losses,
        inverter_parameters={"pdc0": pdc0_w / dc_ac_ratio, "eta_inv_nom": eta_inv_nom})
    mc = pvlib.modelchain.ModelChain(
        system, loc, dc_model="pvwatts", ac_model="pvwatts", aoi_model=aoi_model,
        spectral_model="no_loss", temperature_model=temperature_model, losses_model="pvwatts",
        transposition_model=transposition_model)
    mc.run_model(weather.set_axis(interval_middle(weather.index)))
    return mc.results.ac.sum() / 1000.0, mc.results.dc.sum() / 1000.0


# --- exactness against ModelChain -------------------------------------------------------------

@pytest.mark.parametrize("epw", ["CSWD", "SWERA"])
@pytest.mark.parametrize("transposition_model", ["isotropic", "haydavies", "perez"])
def test_matches_modelchain_orientations(weathers, epw, transposition_model):
    weather, loc = weathers[epw]
    facets = _facets(ORIENTATIONS)
    got = simulate_facets(facets, weather, loc, transposition_model=transposition_model)
    for label, row in facets.iterrows():
        ac, dc = _modelchain(row, weather, loc, transposition_model=transposition_model)
        assert got.loc[label, "ac_kwh"] == pytest.approx(ac, rel=1e-6), label
        assert got.loc[label, "dc_kwh"] == pytest.approx(dc, rel=1e-6), label


@pytest.mark.parametrize("aoi_model", ["ashrae", "no_loss"])
def test_matches_modelchain_aoi_models(weathers, aoi_model):
    weather, loc = weathers["SWERA"]
    facets = _facets([(30, 180), (60, 270), (20, 0)])
    got = simulate_facets(facets, weather, loc, aoi_model=aoi_model)
    for label, row in facets.iterrows():
        ac, _ = _modelchain(row, weather, loc, aoi_model=aoi_model)
        assert got.loc[label, "ac_kwh"] == pytest.approx(ac, rel=1e-6), label


@pytest.mark.parametrize(
    ("engine_opts", "mc_opts"),
    [
        ({"temperature_model": "faiman"},
         {"temperature_model": "faiman", "temperature_params": {"u0": 25.0, "u1": 6.84}}),
        ({"temperature_model_parameters": "open_rack_glass_polymer", "gamma_pdc": -0.0047},
         {"temperature_params": "open_rack_glass_polymer", "gamma_pdc": -0.0047}),
        # heavy inverter clipping, other losses, inverter efficiency and albedo
        ({"dc_ac_ratio": 1.6, "losses_percent": 9.0, "eta_inv_nom": 0.975, "albedo": 0.6},
         {"dc_ac_ratio": 1.6, "losses_percent": 9.0, "eta_inv_nom": 0.975, "albedo": 0.6}),
    ],
    ids=["faiman", "sapm-open-rack", "clipping-losses-albedo"],
)
def test_matches_modelchain_options(weathers, engine_opts, mc_opts):
    weather, loc = weathers["CSWD"]
    facets = _facets([(25, 180), (50, 100)])
    got = simulate_facets(facets, weather, loc, transposition_model="haydavies", **engine_opts)
    for label, row in facets.iterrows():
        ac, _ = _modelchain(row, weather, loc, transposition_model="haydavies", **mc_opts)
        assert got.loc[label, "ac_kwh"] == pytest.approx(ac, rel=1e-6), label


def test_label_middle_equals_shifted_start(weathers):
    weather, loc = weathers["CSWD"]
    facets = _facets([(30, 180), (45, 250)])
    a = simulate_facets(facets, weather, loc)
    b = simulate_facets(facets, weather.set_axis(interval_middle(weather.index)), loc,
                        label="middle")
    pd.testing.assert_frame_equal(a, b)
    # labelling the hours at their start without the shift would move the sun by 30 min
    c = simulate_facets(facets, weather, loc, label="middle")
    assert not np.allclose(a["ac_kwh"], c["ac_kwh"], rtol=1e-3)


def test_outputs_and_monthly_sum(weathers):
    weather, loc = weathers["CSWD"]
    facets = _facets(ORIENTATIONS)
    out = simulate_facets(facets, weather, loc, monthly=True)
    months = [f"ac_kwh_{m:02d}" for m in range(1, 13)]
    assert list(out.columns[:5]) == ["ac_kwh", "dc_kwh", "specific_yield_kwh_per_kwp",
                                     "shading_loss_fraction", "poa_global_kwh_per_m2"]
    assert list(out.columns[5:]) == months
    np.testing.assert_allclose(out[months].sum(axis=1), out["ac_kwh"], rtol=1e-12)
    np.testing.assert_allclose(out["specific_yield_kwh_per_kwp"],
                               out["ac_kwh"] / facets["pdc0_kw"], rtol=1e-12)
    assert (out["shading_loss_fraction"] == 0).all()
    # Hangzhou: a south-facing 30 deg roof beats a flat one, which beats a north-facing one
    sy = out["specific_yield_kwh_per_kwp"]
    assert sy["f2"] > sy["f0"] > sy["f7"]
    assert (out["ac_kwh_07"] > out["ac_kwh_01"]).loc[["f0", "f4"]].all()


# --- invariants (hypothesis) ------------------------------------------------------------------

facet_rows = st.tuples(st.floats(0, 90), st.floats(0, 360), st.floats(0.1, 500.0))
horizons = st.lists(st.floats(0, 80), min_size=36, max_size=36)
models = st.sampled_from(["isotropic", "haydavies", "perez"])
HSET = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _frame(rows, hz=None):
    tilt, az, pdc0 = (np.array(v, float) for v in zip(*rows, strict=True))
    df = pd.DataFrame({"surface_tilt": tilt, "surface_azimuth": az, "pdc0_kw": pdc0},
                      index=pd.Index([f"r{i}" for i in range(len(rows))]))
    if hz is not None:
        df = df.join(pd.DataFrame(np.asarray(hz, float), index=df.index, columns=HCOLS))
    return df


@HSET
@given(rows=st.lists(facet_rows, min_size=1, max_size=12), data=st.data(), model=models)
def test_order_chunks_and_nonnegative(rows, data, model):
    weather, loc = _weather()
    hz = [data.draw(horizons) for _ in rows]
    df = _frame(rows, hz)
    base = simulate_facets(df, weather, loc, transposition_model=model, monthly=True)
    assert np.isfinite(base.to_numpy()).all()
    assert (base.drop(columns="shading_loss_fraction") >= 0).all().all()
    assert base["shading_loss_fraction"].between(0, 1).all()
    perm = data.draw(st.permutations(list(df.index)))
    shuffled = simulate_facets(df.loc[perm], weather, loc, transposition_model=model,
                               monthly=True)
    pd.testing.assert_frame_equal(shuffled.loc[base.index], base, rtol=1e-12)
    chunk = data.draw(st.integers(1, 5))
    chunked = simulate_facets(df, weather, loc, transposition_model=model, monthly=True,
                              chunk_size=chunk)
    pd.testing.assert_frame_equal(chunked, base, rtol=1e-12)


@HSET
@given(rows=st.lists(facet_rows, min_size=1, max_size=8), data=st.data(), model=models)
def test_horizon_only_lowers_energy(rows, data, model):
    weather, loc = _weather()
    open_ = simulate_facets(_frame(rows), weather, loc, transposition_model=model)
    hz = [data.draw(horizons) for _ in rows]
    shaded = simulate_facets(_frame(rows, hz), weather, loc, transposition_model=model)
    for col in ("ac_kwh", "dc_kwh", "poa_global_kwh_per_m2"):
        assert (shaded[col] <= open_[col] * (1 + 1e-12)).all(), col
    expect = 1.0 - shaded["ac_kwh"] / open_["ac_kwh"]
    np.testing.assert_allclose(shaded["shading_loss_fraction"], expect, atol=1e-9)
    zero = simulate_facets(_frame(rows, np.zeros((len(rows), 36))), weather, loc,
                           transposition_model=model)
    pd.testing.assert_frame_equal(zero, open_, rtol=1e-12)


@HSET
@given(rows=st.lists(facet_rows, min_size=1, max_size=6), data=st.data(),
       model=st.sampled_from(["isotropic", "haydavies"]))
def test_higher_horizon_lowers_energy_without_negative_sky_terms(rows, data, model):
    # isotropic and Hay-Davies sky terms are >= 0, so energy falls with every horizon rise
    weather, loc = _weather()
    hz = np.array([data.draw(horizons) for _ in rows])
    rise = np.array([data.draw(st.lists(st.floats(0, 20), min_size=36, max_size=36))
                     for _ in rows])
    low = simulate_facets(_frame(rows, hz), weather, loc, transposition_model=model)
    high = simulate_facets(_frame(rows, np.minimum(hz + rise, 90.0)), weather, loc,
                           transposition_model=model)
    assert (high["ac_kwh"] <= low["ac_kwh"] * (1 + 1e-12)).all()


@HSET
@given(rows=st.lists(facet_rows, min_size=1, max_size=8), scale=st.floats(0.01, 100.0),
       model=models)
def test_energy_is_linear_in_pdc0(rows, scale, model):
    weather, loc = _weather()
    df = _frame(rows)
    a = simulate_facets(df, weather, loc, transposition_model=model)
    b = simulate_facets(df.assign(pdc0_kw=df["pdc0_kw"] * scale), weather, loc,
                        transposition_model=model)
    for col in ("ac_kwh", "dc_kwh"):
        np.testing.assert_allclose(b[col], a[col] * scale, rtol=1e-12)
    np.testing.assert_allclose(b["specific_yield_kwh_per_kwp"], a["specific_yield_kwh_per_kwp"],
                               rtol=1e-12)


# --- horizon geometry -------------------------------------------------------------------------

def _daylight_ground(weather, tilt, albedo=0.25):
    return (weather["ghi"] * albedo * (1 - np.cos(np.radians(tilt))) / 2).sum() / 1000.0


@pytest.mark.parametrize("model", ["isotropic", "haydavies", "perez"])
def test_full_90_degree_horizon_leaves_only_ground_reflection(weathers, model):
    weather, loc = weathers["CSWD"]
    orients = [(0, 180), (30, 180), (60, 90), (90, 0)]
    df = _frame([(t, a, 1.0) for t, a in orients], np.full((4, 36), 90.0))
    out = simulate_facets(df, weather, loc, transposition_model=model)
    expect = [_daylight_ground(weather, t) for t, _ in orients]
    np.testing.assert_allclose(out["poa_global_kwh_per_m2"], expect, rtol=1e-9, atol=1e-12)
    assert out["ac_kwh"].iloc[0] == 0.0  # a flat facet sees no ground
    np.testing.assert_array_equal(sky_view_ratio([0, 30, 60, 90], [180, 180, 90, 0],
                                                 np.full((4, 36), 90.0)), 0.0)


def test_horizon_sectors_and_sky_view_for_a_flat_facet(weathers):
    """Recompute a flat facet's POA with the horizon from solar position in the test."""
    weather, loc = weathers["CSWD"]
    hz = np.zeros(36)
    hz[3:15] = 25.0  # obstruction in the east: sectors centred 30..140 deg
    hz[20] = 60.0  # a tall object at 200 deg (covers [195, 205))
    df = _frame([(0.0, 180.0, 1.0)], hz[None, :])
    out = simulate_facets(df, weather, loc, transposition_model="isotropic")
    times = interval_middle(weather.index)
    sp = loc.get_solarposition(times, pressure=weather["pressure"].to_numpy(),
                               temperature=weather["temp_air"].to_numpy())
    elev = 90.0 - sp["apparent_zenith"].to_numpy()
    sector = np.floor((sp["azimuth"].to_numpy() + 5.0) / 10.0).astype(int) % 36
    visible = (hz[sector] <= 0) | (elev >= hz[sector])
    beam = np.maximum(weather["dni"].to_numpy() * np.cos(np.radians(90 - elev)), 0) * visible
    svf = np.mean(np.cos(np.radians(hz)) ** 2)  # horizontal facet: mean of cos^2(h)
    expect = (beam.sum() + svf * weather["dhi"].sum()) / 1000.0
    assert out["poa_global_kwh_per_m2"].iloc[0] == pytest.approx(expect, rel=1e-9)
    assert 0.0 < out["shading_loss_fraction"].iloc[0] < 0.2


def test_sky_view_ratio_tilted_closed_forms():
    # vertical wall, uniform horizon h: V_h / V_0 = (H - sin H cos H) / (pi / 2), H = 90 - h
    h = 20.0
    big_h = np.radians(90.0 - h)
    expect = (big_h - np.sin(big_h) * np.cos(big_h)) / (np.pi / 2)
    got = sky_view_ratio([90.0, 0.0], [180.0, 0.0], np.full((2, 36), h))
    assert got[0] == pytest.approx(expect, rel=1e-3)
    assert got[1] == pytest.approx(np.cos(np.radians(h)) ** 2, rel=1e-12)
    # a horizon behind a tilted facet that stays below its plane hides nothing
    hz = np.zeros((1, 36))
    hz[0, 0] = 20.0  # north, behind a 30 deg south-facing facet (its plane rises 60 deg)
    assert sky_view_ratio([30.0], [180.0], hz)[0] == 1.0


# --- input validation -------------------------------------------------------------------------

@pytest.fixture
def good():
    return _facets([(30, 180), (20, 90), (10, 270)])


def test_facet_errors_name_rows_and_columns(weathers, good):
    weather, loc = weathers["CSWD"]
    with pytest.raises(SchemaError, match=r"facets: missing required column\(s\) pdc0_kw"):
        simulate_facets(good.drop(columns="pdc0_kw"), weather, loc)
    bad = good.copy()
    bad.loc["f1", "surface_tilt"] = np.nan
    with pytest.raises(SchemaError, match=r"'surface_tilt' is NaN or outside \[0, 90\].*'f1'"):
        simulate_facets(bad, weather, loc)
    bad = good.copy()
    bad.loc["f2", "surface_azimuth"] = 400.0
    with pytest.raises(SchemaError, match=r"'surface_azimuth'.*'f2'"):
        simulate_facets(bad, weather, loc)
    bad = good.copy()
    bad.loc[["f0", "f2"], "pdc0_kw"] = [0.0, -1.0]
    with pytest.raises(SchemaError, match=r"'pdc0_kw' is NaN, zero or negative in 2 row.*'f0', "
                       r"'f2'"):
        simulate_facets(bad, weather, loc)


def test_horizon_and_albedo_errors(weathers, good):
    weather, loc = weathers["CSWD"]
    few = good.assign(**{f"horizon_elev_deg_{k * 20:03d}": 0.0 for k in range(18)})
    with pytest.raises(SchemaError, match="18 horizon column.*N >= 36"):
        simulate_facets(few, weather, loc)
    hz = good.join(pd.DataFrame(0.0, index=good.index, columns=HCOLS))
    hz.loc["f1", "horizon_elev_deg_090"] = np.nan
    with pytest.raises(SchemaError, match=r"horizon_elev_deg_090.*'f1'"):
        simulate_facets(hz, weather, loc)
    with pytest.raises(SchemaError, match="3-digit"):
        simulate_facets(good.assign(horizon_elev_deg_5=0.0), weather, loc)
    with pytest.raises(SchemaError, match=r"'albedo' is NaN or outside \[0, 1\].*'f0'"):
        simulate_facets(good.assign(albedo=[1.5, 0.2, 0.2]), weather, loc)


def test_facet_albedo_column_overrides_option(weathers, good):
    weather, loc = weathers["CSWD"]
    a = simulate_facets(good.assign(albedo=0.5), weather, loc, albedo=0.1)
    b = simulate_facets(good, weather, loc, albedo=0.5)
    pd.testing.assert_frame_equal(a, b)


def test_model_and_option_errors(weathers, good):
    weather, loc = weathers["CSWD"]
    with pytest.raises(ConfigError, match=r"transposition_model='klucher'.*'isotropic', "
                       r"'haydavies', 'perez'"):
        simulate_facets(good, weather, loc, transposition_model="klucher")
    with pytest.raises(ConfigError, match=r"aoi_model='sapm'.*'physical'"):
        simulate_facets(good, weather, loc, aoi_model="sapm")
    with pytest.raises(ConfigError, match=r"temperature_model='pvsyst'.*'sapm', 'faiman'"):
        simulate_facets(good, weather, loc, temperature_model="pvsyst")
    with pytest.raises(ConfigError, match="not a SAPM parameter set"):
        simulate_facets(good, weather, loc, temperature_model_parameters="roof")
    with pytest.raises(ConfigError, match=r"keys \['u0', 'u1'\]"):
        simulate_facets(good, weather, loc, temperature_model="faiman",
                        temperature_model_parameters={"a": 1})
    with pytest.raises(ConfigError, match=r"unknown model option\(s\) \['modules'\]"):
        simulate_facets(good, weather, loc, modules=3)
    with pytest.raises(ConfigError, match="losses_percent"):
        simulate_facets(good, weather, loc, losses_percent=120)
    with pytest.raises(ConfigError, match="chunk_size"):
        simulate_facets(good, weather, loc, chunk_size=0)


def test_weather_and_location_errors(weathers, good):
    weather, loc = weathers["CSWD"]
    with pytest.raises(SchemaError, match="8000 rows"):
        simulate_facets(good, weather.iloc[:8000], loc)
    with pytest.raises(SchemaError, match="timezone-naive"):
        simulate_facets(good, weather.tz_localize(None), loc)
    bad_loc = pvlib.location.Location(30.0, 120.0, altitude=10.0)
    bad_loc.latitude = 95.0
    with pytest.raises(ConfigError, match="latitude=95"):
        simulate_facets(good, weather, bad_loc)
    with pytest.raises(ConfigError, match="pvlib.location.Location"):
        simulate_facets(good, weather, (30.2, 120.2))


def test_empty_facets(weathers, good):
    weather, loc = weathers["CSWD"]
    out = simulate_facets(good.iloc[:0], weather, loc, monthly=True)
    assert out.empty and "ac_kwh_12" in out.columns


def test_facet_albedo_wins_over_weather_albedo():
    """A facets albedo column replaces the weather's albedo; the two are never multiplied."""
    import pandas as pd
    import pvlib

    from engines.pv.weather import read_epw
    from engines.pv.yield_ import simulate_facets
    from tests.conftest import DATA

    weather, meta = read_epw(DATA / "real/weather/CHN_Zhejiang.Hangzhou.584570_CSWD.epw")
    loc = pvlib.location.Location(meta["latitude"], meta["longitude"], tz="Asia/Shanghai",
                                  altitude=meta["altitude"])
    facet = pd.DataFrame({"surface_tilt": [40.0], "surface_azimuth": [180.0], "pdc0_kw": [1.0]})
    with_col = simulate_facets(facet.assign(albedo=0.07), weather.assign(albedo=0.5), loc)
    only_col = simulate_facets(facet.assign(albedo=0.07), weather, loc)
    assert with_col["ac_kwh"].iloc[0] == only_col["ac_kwh"].iloc[0]
