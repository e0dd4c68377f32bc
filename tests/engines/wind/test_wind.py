"""Distributed wind: turbine energy, resource, exclusions, placement and the run on a twin."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.wind import resource as wind
from engines.wind import screen as ws
from tests.conftest import X0, Y0
from twin.config import DATA_DIR
from twin.errors import ConfigError, DataWarning, SchemaError

EPW = DATA_DIR / "real/weather/CHN_Zhejiang.Hangzhou.584570_CSWD.epw"


@pytest.fixture(scope="module")
def station():
    return wind.read_station_wind(EPW)


def _modelchain_kwh(turbine_type, hub, v, station, density_correction):
    from windpowerlib import ModelChain, WindTurbine

    weather = pd.DataFrame({
        ("wind_speed", hub): v,
        ("temperature", 2): station["temp_air"].to_numpy() + 273.15,
        ("pressure", 0): station["atmospheric_pressure"].to_numpy(),
        ("roughness_length", 0): 0.1,
    }, index=station.index)
    weather.columns = pd.MultiIndex.from_tuples(weather.columns, names=["variable_name", "height"])
    mc = ModelChain(WindTurbine(hub_height=hub, turbine_type=turbine_type),
                    density_correction=density_correction).run_model(weather)
    return float(mc.power_output.sum()) / 1000.0


@pytest.mark.parametrize("turbine_type,hub", [("E-126/4200", 135.0), ("GE120/2500", 110.0)])
@pytest.mark.parametrize("density", [False, True])
def test_turbine_energy_equals_windpowerlib_modelchain(station, turbine_type, hub, density):
    # a realistic hourly series: the station wind scaled to about 6.5 m/s at hub height
    v = pd.Series(station["wind_speed"].to_numpy() * 3.1, index=station.index)
    rho = wind.air_density_hub(station["atmospheric_pressure"], station["temp_air"], hub)
    ours = wind.turbine_energy_kwh(turbine_type, v, rho if density else None)
    ref = _modelchain_kwh(turbine_type, hub, v.to_numpy(), station, density)
    assert ref > 1e6  # a real year of energy, not a trivial zero
    assert ours == pytest.approx(ref, rel=0.01)


def test_density_correction_lowers_energy_in_thin_air(station):
    v = pd.Series(station["wind_speed"].to_numpy() * 3.0, index=station.index)
    std = wind.turbine_energy_kwh("GE120/2500", v)
    thin = wind.turbine_energy_kwh("GE120/2500", v, air_density=1.0)
    assert thin < 0.95 * std


def test_time_step_taken_from_index():
    idx = pd.date_range("2024-01-01", periods=4, freq="30min")
    v = pd.Series([8.0] * 4, index=idx)
    hourly = wind.turbine_energy_kwh("GE120/2500", pd.Series([8.0] * 4))
    assert wind.turbine_energy_kwh("GE120/2500", v) == pytest.approx(hourly / 2)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(min_value=0.5, max_value=3.0))
def test_energy_for_mean_speeds_matches_scaled_series(station, scale):
    v = station["wind_speed"].to_numpy() * 1.4
    target = v.mean() * scale
    got = wind.energy_for_mean_speeds("GE120/2500", v, [target])[0]
    direct = wind.turbine_energy_kwh("GE120/2500", v * scale)
    assert got == pytest.approx(direct, rel=0.01, abs=1.0)


@settings(max_examples=30, deadline=None)
@given(v=st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=1, max_size=50),
       rho=st.floats(min_value=0.9, max_value=1.4))
def test_power_stays_between_zero_and_curve_maximum(v, rho):
    curve = wind.power_curve("E-126/4200")
    p = wind.turbine_power_w(curve["wind_speed"], curve["value"], v, rho)
    assert (p >= 0).all() and (p <= curve["value"].max() + 1e-6).all()


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad,match", [(-1.0, "negative"), (60.0, "above 50"),
                                      (np.nan, "missing")])
def test_bad_wind_speeds_are_refused_with_the_row(bad, match):
    v = pd.Series([5.0, 6.0, bad, 7.0], index=pd.date_range("2024-01-01", periods=4, freq="h"))
    with pytest.raises(SchemaError, match=match) as exc:
        wind.turbine_energy_kwh("GE120/2500", v)
    assert "2024-01-01 02:00" in str(exc.value)


def test_decreasing_power_curve_is_refused():
    curve = pd.DataFrame({"wind_speed": [3.0, 5.0, 7.0, 9.0, 11.0, 25.0],
                          "value": [0.0, 500e3, 1200e3, 900e3, 2000e3, 2000e3]})
    with pytest.raises(ConfigError, match="non-decreasing up to rated power"):
        wind.turbine_energy_kwh(curve, [8.0, 9.0])


def test_small_dip_in_power_curve_is_repaired_and_reported():
    curve = pd.DataFrame({"wind_speed": [3.0, 5.0, 7.0, 9.0, 11.0, 25.0],
                          "value": [0.0, 500e3, 1990e3, 1985e3, 2000e3, 2000e3]})
    with pytest.warns(DataWarning, match="running maximum"):
        fixed = wind.power_curve(curve)
    assert fixed["value"].is_monotonic_increasing


def test_unknown_turbine_and_bad_hub_height():
    with pytest.raises(ConfigError, match="no power curve"):
        wind.turbine_energy_kwh("X-999/1", [5.0])
    with pytest.raises(ConfigError, match=r"outside the hub heights \[110.0, 139.0\]"):
        wind.check_hub_height("GE120/2500", 60.0)
    assert wind.check_hub_height("GE120/2500", 120.0) == 120.0
    with pytest.raises(ConfigError, match="hub height"):
        ws.WindParams(hub_height_m=300.0).check()


def _raster(path, data, crs, transform, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype="float32", crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data.astype("float32"), 1)


def test_raster_in_other_crs_is_sampled_and_nodata_handled(tmp_path):
    from rasterio.transform import from_origin

    # a lon/lat raster (EPSG:4326) around the test point, sampled with EPSG:4549 points
    pt = gpd.GeoSeries([shapely.Point(X0, Y0), shapely.Point(X0 + 3000, Y0)], crs=4549).to_crs(4326)
    lon, lat = pt.x.iloc[0], pt.y.iloc[0]
    data = np.full((20, 80), 6.5)
    data[:, 20:] = -9999.0  # nodata from 0.01 deg east of the point on
    transform = from_origin(lon - 0.01, lat + 0.01, 0.001, 0.001)
    path = tmp_path / "gwa.tif"
    _raster(path, data, "EPSG:4326", transform, nodata=-9999.0)
    got = wind.sample_wind_raster(path, [X0, X0 + 3000, X0 + 1e6], [Y0, Y0, Y0], "EPSG:4549")
    assert got[0] == pytest.approx(6.5)
    assert np.isnan(got[1]) and np.isnan(got[2])  # nodata cell; outside the raster

    bad = tmp_path / "bad.tif"
    _raster(bad, np.full((20, 80), 65.0), "EPSG:4326", transform)
    with pytest.raises(SchemaError, match="outside 0-50 m/s"):
        wind.sample_wind_raster(bad, [X0], [Y0], "EPSG:4549")


# --- resource -------------------------------------------------------------------------------
def test_station_resource_is_low_and_rougher_sites_get_less_wind(station):
    v10 = station["wind_speed"]
    assert 1.8 < v10.mean() < 2.4  # Hangzhou 584570: about 2.1 m/s at 10 m
    open_ = wind.extrapolate_wind(v10, 110.0, 0.03)
    forest = wind.extrapolate_wind(v10, 110.0, 0.75)
    assert open_.mean() > forest.mean() > v10.mean()
    both = wind.extrapolate_wind(v10, 110.0, np.array([0.03, 0.75]))
    np.testing.assert_allclose(both[1], forest)
    # the log profile with the station's roughness everywhere is a plain log law
    np.testing.assert_allclose(open_, v10 * np.log(110 / 0.03) / np.log(10 / 0.03))
    k, c = wind.fit_weibull(open_)
    assert 1.2 < k < 3.5 and c > open_.mean()


# --- exclusions and placement -------------------------------------------------------------
def _toy():
    district = gpd.GeoDataFrame({"adcode": ["330102"], "name_zh": ["上城区"], "name_en": ["x"]},
                                geometry=[shapely.box(X0 - 5000, Y0 - 5000, X0 + 5000, Y0 + 5000)],
                                crs=4549)
    house = gpd.GeoDataFrame({"use_class": ["residential"]},
                             geometry=[shapely.box(X0 - 10, Y0 - 10, X0 + 10, Y0 + 10)], crs=4549)
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 5000, Y0 - 3000),
                                                          (X0 + 5000, Y0 - 3000)])], crs=4549)
    return district, ws.exclusion_sources(buildings=house, roads=road)


def test_site_inside_a_setback_is_excluded_with_that_reason():
    district, sources = _toy()
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 300, Y0),  # 290 m from the house
                                     shapely.Point(X0 + 2000, Y0),  # clear
                                     shapely.Point(X0, Y0 - 2900)],  # 100 m from the road
                           crs=4549)
    setbacks = ws.WindParams().effective_setbacks()
    # the cited formulas: 1.5 x (hub + rotor) to other buildings, one tip height to roads
    assert setbacks["other_building"] == pytest.approx(1.5 * (110.0 + 120.0))
    assert setbacks["road"] == pytest.approx(110.0 + 60.0)
    reason = ws.screen_points(pts, sources, setbacks)
    assert reason.tolist() == ["residential_building", "", "road"]
    grid = ws.eligibility_grid(district, sources, setbacks, cell_m=50.0)
    r, c, inside = grid.cell_of(pts.geometry.x, pts.geometry.y)
    assert inside.all()
    assert grid.masks["residential_building"][r[0], c[0]] and grid.eligible[r[1], c[1]]
    assert grid.masks["road"][r[2], c[2]]
    polys = ws.exclusion_polygons(grid, setbacks)
    res = polys.loc[polys["wind_exclusion_reason"] == "residential_building"]
    assert res.geometry.iloc[0].contains(pts.geometry.iloc[0])
    assert res["setback_m"].iloc[0] == 500.0
    # no placed turbine lies within a setback of the house or the road
    sites = ws.place_turbines(grid, 120.0, 30.0)
    assert len(sites) > 10
    d_house = sites.distance(sources["residential_building"].iloc[0])
    assert (d_house > 500.0 - 50.0).all()
    assert (ws.screen_points(sites, sources, setbacks) == "").mean() > 0.95


def test_lattice_spacing_is_five_by_three_rotor_diameters():
    district, _ = _toy()
    grid = ws.eligibility_grid(district, {}, {}, cell_m=100.0)
    sites = ws.place_turbines(grid, 100.0, 0.0)
    xs, ys = np.unique(np.round(sites.geometry.x, 3)), np.unique(np.round(sites.geometry.y, 3))
    assert np.allclose(np.diff(ys), 500.0) and np.allclose(np.diff(xs), 300.0)


def test_bad_parameters_are_named():
    with pytest.raises(ConfigError, match="wake_loss.*setbacks_m: unknown reason 'church'"):
        ws.WindParams(wake_loss=1.5, setbacks_m={"church": 10.0}).check()


# --- the run on a built twin ---------------------------------------------------------------
def test_twin_sites_command_and_district_totals_equal_sum_of_sites(twin_copy):
    from shell.cli import main
    from twin.store import TwinStore

    assert main(["sites", "--city", "hangzhou", "--cell", "200"]) == 0
    store = TwinStore("hangzhou", twin_copy)
    sites = store.read_layer("wind_sites")
    totals = store.table("wind_districts")
    assert len(sites) > 0 and sites["is_screening_estimate"].all()
    by = sites.groupby("district_adcode")
    t = totals.set_index("district_adcode")
    for col in ("capacity_mw", "energy_mwh_per_yr"):
        s = by[col].sum().reindex(t.index, fill_value=0.0)
        np.testing.assert_allclose(t[col].to_numpy(), s.to_numpy(), rtol=1e-9)
    assert (t["n_turbines"] == by.size().reindex(t.index, fill_value=0)).all()
    np.testing.assert_allclose(t["storage_power_mw"], 0.10 * t["capacity_mw"])
    np.testing.assert_allclose(t["storage_energy_mwh"], 2.0 * t["storage_power_mw"])
    assert ((sites["capacity_factor"] > 0) & (sites["capacity_factor"] < 0.5)).all()
    excl = store.read_layer("wind_exclusions")
    assert {"residential_building", "airport", "water_body"} <= set(excl["wind_exclusion_reason"])
    targets = store.table("wind_targets").set_index("target_id")
    assert targets.loc["W-H1", "target_mw"] == 50 and targets.loc["W-H2-draft", "target_mw"] == 200
    assert targets.loc["W-H1", "turbines_needed"] == 20
    assert targets.loc["W-H1", "storage_power_mw"] == pytest.approx(5.0)
    # no wind map: the screening estimate is shown, but counts for nothing, and says so
    assert not sites["is_viable"].any()
    assert (targets["potential_mw"] == 0).all() and not targets["meets_target"].any()
    assert (targets["technical_potential_mw"] > 0).all()
    assert targets["note"].str.contains("no wind map imported").all()
    assert (t["viable_capacity_mw"] == 0).all()
    zones = store.read_layer("wind_candidate_areas")
    assert zones["candidate_area"].tolist() == ["qiantang_mudflats"] and zones["is_synthetic"].all()
    with store.connect() as con:
        n = con.execute("SELECT count(*) FROM wind_sites").fetchone()[0]
    assert n == len(sites)
    assert main(["sites", "--city", "hangzhou", "--turbine", "NOPE/1"]) == 2


def test_site_energy_from_raster_with_nodata_fallback(station):
    sites = gpd.GeoDataFrame({"lc_class": ["cropland", "mixed_forest", "cropland"]},
                             geometry=[shapely.Point(X0 + i * 1000, Y0) for i in range(3)], crs=4549)
    params = ws.WindParams()
    out = ws.site_energy(sites, station, params, raster_mean_m_per_s=np.array([6.0, np.nan, 7.0]),
                         raster_height_m=params.hub_height_m)
    assert out["resource_source"].tolist() == ["raster", "station_screening", "raster"]
    assert out["is_screening_estimate"].tolist() == [False, True, False]
    assert out["wind_speed_hub_m_per_s"].iloc[0] == pytest.approx(6.0)
    assert out["energy_mwh_per_yr"].iloc[2] > out["energy_mwh_per_yr"].iloc[0] > \
        out["energy_mwh_per_yr"].iloc[1]
    net = out["gross_energy_mwh_per_yr"] * (1 - params.wake_loss) * params.availability
    np.testing.assert_allclose(out["energy_mwh_per_yr"], net)
    np.testing.assert_allclose(out["capacity_factor"], out["energy_mwh_per_yr"] / (2.5 * 8760))


@pytest.mark.parametrize("speed,counts", [(7.5, True), (3.0, False)])
def test_only_viable_sites_of_a_wind_map_count_and_never_the_draft_zone_for_final_targets(
        twin_copy, tmp_path, speed, counts):
    """A GWA-like map at 100 m: sites reaching the full-load-hour threshold count; a low-wind
    map (under the threshold) counts nothing; the draft-only mudflats never count for the
    final targets."""
    from rasterio.transform import from_origin

    from shell.cli import main
    from shell.runners import run_engine

    path = tmp_path / "gwa_100m.tif"
    _raster(path, np.full((140, 200), speed, dtype="float32"), "EPSG:4326",
            from_origin(118.3, 30.6, 0.0125, 0.0125), nodata=-9999.0)
    assert main(["import", "wind_speed", str(path), "--city", "hangzhou", "--height", "100"]) == 0
    res = run_engine("wind", "hangzhou", home=twin_copy, commit=False,
                     params={"cell_m": 400.0 if counts else 800.0})
    sites, targets = res.results["wind_sites"], res.tables["wind_targets"].set_index("target_id")
    assert not sites["is_screening_estimate"].any()
    flh = sites["full_load_hours"]
    np.testing.assert_allclose(flh, sites["capacity_factor"] * 8760.0)
    zone = sites["candidate_area"] != ""
    assert zone.any() and not sites.loc[zone, "is_viable"].any()
    viable = sites["is_viable"]
    assert (viable == (flh >= 1300.0) & ~zone).all()
    rated = 2.5
    assert targets.loc["W-H1", "potential_mw"] == pytest.approx(viable.sum() * rated)
    if counts:
        assert viable.any() and targets.loc["W-H1", "meets_target"]
        draft = targets.loc["W-H2-draft", "potential_mw"]  # the draft counts the zone's viable sites
        assert draft == pytest.approx(((flh >= 1300.0)).sum() * rated)
        assert draft > targets.loc["W-H1", "potential_mw"]
        assert "draft-only candidate areas excluded" in targets.loc["W-H1", "note"]
        assert targets.loc["W-H1", "synthetic_share"] == 1.0  # the demo's sites rest on synthetic layers
    else:
        assert not viable.any() and (targets["potential_mw"] == 0).all()
        assert targets["note"].str.contains("no site reaches 1,300 full-load hours").all()


def test_a_wind_map_covering_part_of_the_city_labels_each_site_and_the_share(twin_copy, tmp_path):
    """A GWA-like map of western Hangzhou only (accepted with --min-cover 0): the sites east of it
    fall back to the station estimate, and every output says so per site and as a share."""
    from rasterio.transform import from_origin

    from shell.cli import main
    from shell.runners import run_engine

    path = tmp_path / "gwa_west_100m.tif"  # 118.3-120.0 E, 28.85-30.6 N: the east (Qiantang) is outside
    _raster(path, np.full((140, 136), 7.5, dtype="float32"), "EPSG:4326",
            from_origin(118.3, 30.6, 0.0125, 0.0125), nodata=-9999.0)
    assert main(["import", "wind_speed", str(path), "--city", "hangzhou", "--height", "100",
                 "--min-cover", "0"]) == 0
    res = run_engine("wind", "hangzhou", home=twin_copy, commit=False, params={"cell_m": 800.0})
    sites, meta = res.results["wind_sites"], res.meta["wind_screen"]
    from_map = (sites["resource_source"] == "raster").to_numpy()
    assert from_map.any() and (~from_map).any()
    lon = sites.to_crs(4326).geometry.x.to_numpy()
    assert (lon[from_map] < 120.0).all() and (lon[~from_map] > 120.0 - 1e-6).all()
    assert (sites["is_screening_estimate"].to_numpy() == ~from_map).all()
    src = sites["source"]
    assert src[~from_map].str.contains("station screening estimate (outside the wind map)", regex=False).all()
    assert src[from_map].str.contains("wind atlas raster").all()
    assert not src[from_map].str.contains("station").any()
    n_map, n = int(from_map.sum()), len(sites)
    assert meta["resource_raster_share"] == pytest.approx(n_map / n, abs=1e-4)
    assert meta["n_sites_raster_resource"] == n_map
    assert meta["resource"].startswith(f"wind_speed raster at {n_map:,} of {n:,} sites")
    rest = f"station screening estimate (EPW 10 m wind extrapolated) at the other {n - n_map:,}"
    assert rest in meta["resource"]
    assert any(note.startswith(f"the wind map covers {n_map:,} of {n:,} sites") for note in meta["notes"])
    # sites off the map never count for a target (their resource is a screening estimate)
    assert not sites.loc[~from_map, "is_viable"].any()


def test_resource_label_names_the_share_of_sites_on_the_map():
    assert ws._resource_label(False, False, 0, 10).startswith("station screening estimate")
    assert ws._resource_label(False, True, 10, 10) == "wind_speed raster"
    assert ws._resource_label(True, True, 4, 4) == "Weibull A/k rasters and wind_speed raster"
    part = ws._resource_label(True, False, 3, 4)
    assert part.startswith("Weibull A/k rasters at 3 of 4 sites (75%)") and "at the other 1" in part
    assert "cover none of the 5 sites" in ws._resource_label(False, True, 0, 5)
