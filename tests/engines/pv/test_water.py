"""Water-surface PV: capacity arithmetic, exclusions, bad polygons, temperatures, totals."""

import shutil
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.pv.facets import row_spacing
from engines.pv.water import (
    check_polygons,
    district_totals,
    faiman_parameters,
    load_site_params,
    screen_water,
    site_yield,
    storage_for,
)
from engines.pv.weather import read_epw
from engines.pv.yield_ import simulate_facets
from twin.config import load_city
from twin.errors import ConfigError, DataWarning, SchemaError

LAT = 30.23
CRS = "EPSG:4549"


@pytest.fixture(scope="module")
def wx():
    city = load_city("hangzhou")
    weather, _ = read_epw(city.weather_path)
    loc = pvlib.location.Location(city.latitude, city.longitude, tz=city.timezone,
                                  altitude=city.altitude_m)
    return weather, loc


def rect(x, y, w, h):
    return shapely.box(x, y, x + w, y + h)


def water_frame(rows):
    """rows: (water_id, water_type, geometry, extra dict)."""
    data = {"water_id": [r[0] for r in rows], "water_type": [r[1] for r in rows]}
    extra_cols = {"name": "", "is_protected": False, "is_drinking_source": False,
                  "district_adcode": "330109"}
    for col, default in extra_cols.items():
        data[col] = [r[3].get(col, default) if len(r) > 3 else default for r in rows]
    data["is_synthetic"] = True
    return gpd.GeoDataFrame(data, geometry=[r[2] for r in rows], crs=CRS)


def test_pond_capacity_is_area_times_coverage_times_density():
    p = load_site_params(water={"types": {"pond": {"shoreline_setback_m": 0.0}}})
    w = water_frame([("p1", "pond", rect(0, 0, 200, 150))])
    out, _ = screen_water(w, latitude_deg=LAT, params=p)
    r = out.iloc[0]
    assert r["site_exclusion_reason"] == ""
    tilt = p["mountings"]["pile_fixed"]["tilt_deg"]
    gcr = row_spacing(tilt, LAT, solar_window_h=(9.0, 15.0))[1]  # GB 50797-2012 §6.6, data/pv/sites.toml
    cover = p["water"]["types"]["pond"]["array_coverage_ratio"]
    dens_mw_per_km2 = cover * gcr * p["common"]["module_power_density_kw_per_m2"] * 1000
    assert r["capacity_density_mwp_per_km2"] == pytest.approx(dens_mw_per_km2, rel=1e-12)
    area_km2 = 200 * 150 / 1e6
    assert r["capacity_mwp"] == pytest.approx(area_km2 * dens_mw_per_km2, rel=1e-12)
    assert r["module_area_m2"] == pytest.approx(30000 * cover * gcr, rel=1e-12)
    assert r["mounting"] == "pile_fixed" and r["albedo"] == pytest.approx(0.07)


def test_shoreline_setback_shrinks_the_usable_area():
    p = load_site_params(water={"types": {"pond": {"shoreline_setback_m": 5.0}}})
    w = water_frame([("p1", "pond", rect(0, 0, 200, 150))])
    out, _ = screen_water(w, latitude_deg=LAT, params=p)
    assert out["usable_area_m2"].iloc[0] == pytest.approx(190 * 140, rel=1e-9)
    assert out["capacity_mwp"].iloc[0] == pytest.approx(
        190 * 140 / 1e6 * out["capacity_density_mwp_per_km2"].iloc[0], rel=1e-12)


def test_exclusions_with_known_geometry():
    protected = gpd.GeoDataFrame(geometry=[rect(10_000, 0, 500, 500)], crs=CRS)
    w = water_frame([
        ("site", "pond", rect(0, 0, 120, 100)),                       # 1.2 ha: a site
        ("lone", "pond", rect(2000, 0, 50, 50)),                      # 0.25 ha alone: too small
        ("f1", "pond", rect(4000, 0, 80, 80)),                        # 0.64 ha each, 10 m dyke:
        ("f2", "pond", rect(4090, 0, 80, 80)),                        # a 1.28 ha field
        ("westlake", "lake", rect(6000, 0, 2000, 2000), {"name": "西湖 West Lake"}),
        ("river", "river", rect(0, 5000, 20_000, 300)),
        ("canal", "canal", rect(0, 6000, 20_000, 40)),
        ("drink", "reservoir", rect(0, 8000, 500, 500), {"is_drinking_source": True}),
        ("bigres", "reservoir", rect(0, 9000, 1500, 1000)),           # 1.5 km²
        ("smallres", "reservoir", rect(3000, 9000, 400, 300)),        # 12 ha: a site
        ("inred", "pond", rect(10_100, 100, 150, 100)),               # inside the red line
        ("flag", "pond", rect(12_000, 0, 150, 100), {"is_protected": True}),
        ("wet", "wetland_water", rect(14_000, 0, 300, 300)),
        ("strip", "pond", rect(16_000, 0, 2000, 8)),                  # 1.6 ha, 8 m wide
    ])
    out, _ = screen_water(w, latitude_deg=LAT, protected_areas=protected)
    got = dict(zip(out["water_id"], out["site_exclusion_reason"], strict=True))
    assert got == {
        "site": "", "lone": "too_small", "f1": "", "f2": "", "westlake": "large_lake",
        "river": "river_or_channel", "canal": "river_or_channel",
        "drink": "drinking_water_source", "bigres": "large_reservoir", "smallres": "",
        "inred": "protected_area", "flag": "protected_area", "wet": "wetland",
        "strip": "no_usable_area",
    }
    f = out.set_index("water_id")
    assert f.loc["f1", "pv_cluster_id"] == f.loc["f2", "pv_cluster_id"] == "f1"
    assert f.loc["f1", "cluster_area_m2"] == pytest.approx(2 * 6400)
    assert f.loc["smallres", "mounting"] == "floating"
    assert (f.loc[f["site_exclusion_reason"] != "", "capacity_mwp"] == 0).all()
    # the minimum area is configurable
    out2, _ = screen_water(w, latitude_deg=LAT, params=load_site_params(
        water={"min_area_m2": 2000.0}))
    assert out2.set_index("water_id").loc["lone", "site_exclusion_reason"] == ""


def test_self_intersecting_pond_is_repaired_and_reported():
    bowtie = shapely.Polygon([(0, 0), (200, 200), (200, 0), (0, 200), (0, 0)])
    w = water_frame([("bow", "pond", bowtie), ("ok", "pond", rect(1000, 0, 150, 100))])
    assert not bowtie.is_valid
    with pytest.warns(DataWarning, match="bow"):
        out, repairs = screen_water(w, latitude_deg=LAT)
    assert list(repairs["feature_id"]) == ["bow"]
    assert "Self-intersection" in repairs["issue"].iloc[0]
    assert repairs["area_m2"].iloc[0] == pytest.approx(20000.0)  # two triangles of 100 m
    assert out.geometry.is_valid.all()
    with pytest.raises(SchemaError, match="bow"):
        screen_water(w, latitude_deg=LAT, repair=False)


@pytest.mark.parametrize("case", ["null", "line", "geographic", "type"])
def test_bad_water_input_raises_clearly(case):
    w = water_frame([("a", "pond", rect(0, 0, 150, 100)), ("b", "pond", rect(500, 0, 150, 100))])
    match = "b"
    if case == "null":
        w.loc[1, "geometry"] = None
    elif case == "line":
        w = w.set_geometry([rect(0, 0, 150, 100), shapely.LineString([(0, 0), (1, 1)])], crs=CRS)
    elif case == "geographic":
        w = w.set_crs(4326, allow_override=True)
        match = "projected"
    else:
        w["water_type"] = ["pond", "fishpond"]
        match = "fishpond"
    with pytest.raises(SchemaError, match=match):
        screen_water(w, latitude_deg=LAT)


def test_check_polygons_passes_valid_layers_through():
    w = water_frame([("a", "pond", rect(0, 0, 150, 100))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, rep = check_polygons(w, "water_id", "water")
    assert out is w and rep.empty


def test_cell_temperatures_floating_below_pile_below_rooftop():
    """Same irradiance and weather: floating < pile-mounted (open rack) < rooftop close-mount."""
    p = load_site_params()
    poa = np.linspace(100, 1100, 11)[:, None] * np.ones((1, 9))
    ws = np.linspace(0, 8, 9)[None, :] * np.ones((11, 1))
    ta = 25.0
    t = {}
    for m in ("floating", "pile_fixed"):
        f = faiman_parameters(p["mountings"][m], p["common"])
        t[m] = pvlib.temperature.faiman(poa, ta, ws, **f)
    roof = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
    t["roof"] = pvlib.temperature.sapm_cell(poa, ta, ws, **roof)
    assert (t["floating"] < t["pile_fixed"]).all()
    assert (t["pile_fixed"] < t["roof"]).all()


def test_cooler_mountings_yield_more_at_equal_geometry(wx):
    """Through the one engine: same tilt, azimuth, albedo; only the thermal model differs."""
    weather, loc = wx
    p = load_site_params(mountings={"floating": {"tilt_deg": 20.0}})
    sites = pd.DataFrame({"mounting": ["floating", "pile_fixed"], "surface_tilt": 20.0,
                          "surface_azimuth": 180.0, "albedo": 0.07, "capacity_mwp": 1.0})
    y = site_yield(sites, weather, loc, p)["specific_yield_kwh_per_kwp"].to_numpy()
    roof = simulate_facets(pd.DataFrame({"surface_tilt": [20.0], "surface_azimuth": [180.0],
                                         "pdc0_kw": [1.0], "albedo": [0.07]}),
                           weather.drop(columns=["albedo"], errors="ignore"), loc)
    assert y[0] > y[1] > roof["specific_yield_kwh_per_kwp"].iloc[0] > 0


def test_class_scaling_is_exact(wx):
    """One 1-kWp facet per class, scaled by kWp, equals simulating each site itself."""
    weather, loc = wx
    p = load_site_params()
    sites = pd.DataFrame({"mounting": ["pile_fixed", "pile_fixed", "floating", "pile_fixed"],
                          "surface_tilt": [20.0, 20.0, 12.0, 20.0], "surface_azimuth": 180.0,
                          "albedo": 0.07, "capacity_mwp": [0.37, 12.5, 3.0, 0.0]})
    got = site_yield(sites, weather, loc, p)
    assert got["pv_energy_mwh_per_yr"].iloc[3] == 0.0
    for i in range(3):
        m = sites["mounting"].iloc[i]
        one = simulate_facets(
            pd.DataFrame({"surface_tilt": [sites["surface_tilt"].iloc[i]],
                          "surface_azimuth": [180.0], "albedo": [0.07],
                          "pdc0_kw": [sites["capacity_mwp"].iloc[i] * 1000]}),
            weather.drop(columns=["albedo"], errors="ignore"), loc, temperature_model="faiman",
            temperature_model_parameters=faiman_parameters(p["mountings"][m], p["common"]))
        assert got["pv_energy_mwh_per_yr"].iloc[i] == pytest.approx(
            one["ac_kwh"].iloc[0] / 1000, rel=1e-9)


def test_site_yield_refuses_a_global_temperature_model(wx):
    weather, loc = wx
    sites = pd.DataFrame({"mounting": ["floating"], "surface_tilt": [12.0],
                          "surface_azimuth": [180.0], "albedo": [0.07], "capacity_mwp": [1.0]})
    with pytest.raises(ConfigError, match="per mounting"):
        site_yield(sites, weather, loc, temperature_model="sapm")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["330109", "330110", ""]),
                          st.sampled_from(["pond", "pit_pond", "reservoir"]),
                          st.floats(0, 50, allow_subnormal=False), st.floats(0, 1500)),
                min_size=0, max_size=30),
       st.floats(0.1, 0.5), st.floats(0.5, 8))
def test_district_totals_equal_the_sum_of_sites(rows, ratio, hours):
    sites = pd.DataFrame(rows, columns=["district_adcode", "site_category", "capacity_mwp",
                                        "spec"]).astype({"capacity_mwp": float, "spec": float})
    sites["usable_area_m2"] = sites["capacity_mwp"] * 1e4
    sites["pv_energy_mwh_per_yr"] = sites["capacity_mwp"] * sites["spec"]
    d = district_totals(sites, storage={"ratio": ratio, "duration_h": hours})
    allr = d.loc[d["site_category"] == "all"].set_index("district_adcode")
    cats = d.loc[d["site_category"] != "all"]
    for col in ("capacity_mwp", "pv_energy_mwh_per_yr", "usable_area_m2", "sites_count"):
        by_site = sites.groupby("district_adcode")[col if col != "sites_count" else "spec"]
        ref = by_site.sum() if col != "sites_count" else by_site.size()
        np.testing.assert_allclose(np.asarray(allr.loc[ref.index, col], dtype=float),
                                   np.asarray(ref, dtype=float), rtol=1e-9, atol=1e-9)
        assert cats[col].sum() == pytest.approx(allr[col].sum(), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(d["storage_power_mw"], ratio * d["capacity_mwp"], rtol=1e-12)
    np.testing.assert_allclose(d["storage_energy_mwh"], hours * d["storage_power_mw"], rtol=1e-12)


def test_storage_is_at_least_ten_percent_by_default():
    p = load_site_params()
    power, energy = storage_for([100.0], p["storage"]["ratio"], p["storage"]["duration_h"])
    assert power[0] >= 10.0 and energy[0] == pytest.approx(power[0] * 2.0)


@pytest.mark.parametrize("over,match", [
    ({"water": {"types": {"pond": {"array_coverage_ratio": 1.5}}}}, "array_coverage_ratio"),
    ({"water": {"types": {"lake": {"mounting": "floating"}}}}, "lake"),
    ({"mountings": {"floating": {"u_c": -1}}}, "u_c"),
    ({"storage": {"duration_h": "two"}}, "duration_h"),
])
def test_bad_parameters_raise_config_error(over, match):
    with pytest.raises(ConfigError, match=match):
        load_site_params(**over)


def test_unknown_section_raises():
    with pytest.raises(ConfigError, match="section"):
        load_site_params(wind={"x": 1})


@pytest.fixture(scope="module")
def sites_run(twin_home, tmp_path_factory):
    from shell.runners import run_engine

    home = tmp_path_factory.mktemp("pv-sites-home")
    shutil.copytree(twin_home / "hangzhou", home / "hangzhou")
    steps = []
    res = run_engine("pv_sites", "hangzhou", home=home, progress=steps.append)
    out = {"water_sites": res.results["water_pv_sites"], "ground_sites": res.results["ground_pv_sites"]}
    return home, out, steps


def test_run_pv_sites_commits_layers_and_tables(sites_run):
    from engines.registry import PV_SITES
    from twin.store import TwinStore

    home, out, steps = sites_run
    assert tuple(steps) == ("read twin", *PV_SITES.steps, "commit")
    store = TwinStore("hangzhou", home)
    wd = store.table("water_pv_districts")
    ws = store.read_layer("water_pv_sites")
    assert len(ws) == len(out["water_sites"]) > 0
    assert wd.loc[wd["site_category"] == "all", "capacity_mwp"].sum() == pytest.approx(
        ws["capacity_mwp"].sum(), rel=1e-9)
    ex = store.read_layer("water_pv_exclusions")
    assert (ex["site_exclusion_reason"] != "").all()
    assert {"large_lake", "river_or_channel"} <= set(ex["site_exclusion_reason"])
    assert ws["is_synthetic"].all()
    city = store.table("pv_sites_city")
    allr = city.loc[(city["kind"] == "all") & (city["site_category"] == "all")]
    assert allr["capacity_mwp"].iloc[0] == pytest.approx(
        out["water_sites"]["capacity_mwp"].sum() + out["ground_sites"]["capacity_mwp"].sum(),
        rel=1e-9)
    stor = store.table("pv_sites_storage")
    assert set(stor["target_id"]) >= {"S-H1"}
    assert (stor["storage_power_mw"] >= 0.1 * stor["potential_mw"] - 1e-9).all()
    tg = store.table("pv_sites_targets")
    assert set(tg["target_id"]) >= {"PV-H1", "PV-H2"}
    # every total says how much of it rests on synthetic polygons (the demo: all of it)
    assert (city.loc[city["site_category"] == "all", "synthetic_share"] == 1.0).all()
    assert (tg["synthetic_share"] == 1.0).all() and tg["note"].str.contains("synthetic").all()


def test_sites_carry_co2_lcoe_and_payback(sites_run):
    from engines.pv.economics import default_economics, lcoe_cny_per_kwh

    _, out, _ = sites_run
    econ = default_economics()
    for frame in (out["water_sites"], out["ground_sites"]):
        live = frame.loc[frame["capacity_mwp"] > 0]
        assert len(live)
        np.testing.assert_allclose(live["co2_avoided_t_co2_per_yr"],
                                   live["pv_energy_mwh_per_yr"] * econ.grid_emission_factor_t_co2_per_mwh)
        site = econ.site
        np.testing.assert_allclose(live["lcoe_cny_per_kwh"], lcoe_cny_per_kwh(
            live["specific_yield_kwh_per_kwp"], site.capex_cny_per_kw, site.om_cny_per_kw_yr,
            discount_rate=econ.discount_rate, lifetime_yr=econ.lifetime_yr,
            degradation_per_yr=econ.degradation_per_yr), rtol=1e-9)
        # a site sells everything at the coal benchmark price
        income = live["specific_yield_kwh_per_kwp"] * econ.tariffs.feed_in_cny_per_kwh - site.om_cny_per_kw_yr
        np.testing.assert_allclose(live["simple_payback_yr"], site.capex_cny_per_kw / income, rtol=1e-9)
        assert live["capacity_factor"].between(0.08, 0.2).all()
