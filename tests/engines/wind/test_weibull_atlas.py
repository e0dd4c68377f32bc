"""Wind energy from a wind atlas's Weibull A/k (Global Wind Atlas combined-Weibull files)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from engines.wind import resource as wind
from engines.wind import screen as ws
from tests.conftest import X0, Y0
from twin.config import DATA_DIR
from twin.errors import SchemaError

EPW = DATA_DIR / "real/weather/CHN_Zhejiang.Hangzhou.584570_CSWD.epw"
TURBINE = ws.WindParams().turbine_type


def test_weibull_energy_matches_the_power_curve_over_a_large_weibull_sample():
    rng = np.random.default_rng(7)
    v = stats.weibull_min.rvs(2.1, scale=7.0, size=400_000, random_state=rng)
    sampled = wind.turbine_energy_kwh(TURBINE, v)  # hourly steps: 400,000 h
    integrated = wind.energy_for_weibull(TURBINE, [7.0], [2.1], hours=400_000)[0]
    assert integrated == pytest.approx(sampled, rel=0.01)


@settings(max_examples=25, deadline=None)
@given(st.floats(3.0, 11.0), st.floats(1.3, 3.5))
def test_weibull_energy_grows_with_scale_and_stays_under_rated_power(a, k):
    e = wind.energy_for_weibull(TURBINE, [a, a * 1.1], [k, k], hours=8760.0)
    assert 0 < e[0] < e[1]
    rated_kw = wind.turbine_spec(TURBINE)["nominal_power_kw"]
    assert e[1] <= rated_kw * 8760.0 * 1.0001


def test_weibull_energy_refuses_bad_parameters():
    with pytest.raises(SchemaError, match="A must lie"):
        wind.energy_for_weibull(TURBINE, [-1.0], [2.0], hours=8760.0)
    with pytest.raises(SchemaError, match="align"):
        wind.energy_for_weibull(TURBINE, [7.0, 8.0], [2.0], hours=8760.0)


def test_site_energy_uses_weibull_rasters_where_valid():
    station = wind.read_station_wind(EPW)
    params = ws.WindParams()
    sites = gpd.GeoDataFrame({"lc_class": ["cropland"] * 3},
                             geometry=[shapely.Point(X0 + i * 1000, Y0) for i in range(3)], crs=4549)
    a = np.array([7.0, np.nan, 7.0])
    k = np.array([2.0, 2.0, 3.0])
    out = ws.site_energy(sites, station, params, raster_weibull=(a, k, params.hub_height_m))
    assert out["resource_source"].tolist() == ["raster", "station_screening", "raster"]
    np.testing.assert_allclose(out["weibull_c_m_per_s"].iloc[[0, 2]], 7.0)
    np.testing.assert_allclose(out["weibull_k"].iloc[[0, 2]], [2.0, 3.0])
    np.testing.assert_allclose(out["wind_speed_hub_m_per_s"].iloc[0], 7.0 * np.exp(special.gammaln(1.5)))
    # same A, larger k: fewer calms and gales; energy is the integral over the atlas's own k
    hours = len(station) * 1.0
    expect = wind.energy_for_weibull(TURBINE, [7.0, 7.0], [2.0, 3.0], hours,
                                     float(np.mean(wind.air_density_hub(station["atmospheric_pressure"],
                                                                        station["temp_air"],
                                                                        params.hub_height_m))))
    np.testing.assert_allclose(out["gross_energy_mwh_per_yr"].iloc[[0, 2]], expect / 1000.0 * 8760.0 / hours)


def test_weibull_height_is_carried_to_hub_height():
    station = wind.read_station_wind(EPW)
    params = ws.WindParams()
    sites = gpd.GeoDataFrame({"lc_class": ["cropland"]}, geometry=[shapely.Point(X0, Y0)], crs=4549)
    low = ws.site_energy(sites, station, params, raster_weibull=(np.array([6.0]), np.array([2.0]), 50.0))
    z0 = wind.roughness_length_m(["cropland"])[0]
    expect = 6.0 * np.log(params.hub_height_m / z0) / np.log(50.0 / z0)
    assert low["weibull_c_m_per_s"].iloc[0] == pytest.approx(expect)
