"""Air density at the hub from the site's elevation, and slope from a DEM in metres."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from windpowerlib import density, temperature

import engines.wind.resource as wind
import engines.wind.screen as ws
from twin.errors import ConfigError, SourceError

EPW = (Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
       / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw")
X0, Y0 = 540_000.0, 3_400_000.0  # Huzhou, EPSG:4549


@pytest.fixture(scope="module")
def station():
    return wind.read_station_wind(EPW)


@settings(max_examples=200, deadline=None)
@given(p=st.floats(85_000, 105_000), t=st.floats(-20, 40), hub=st.floats(40, 200),
       site=st.floats(-50, 2500), stn=st.floats(-50, 2500))
def test_density_equals_windpowerlib_barometric(p, t, hub, site, stn):
    ours = wind.air_density_hub([p], [t], hub, site_elevation_m=site, station_elevation_m=stn)[0]
    # windpowerlib with heights above sea level: pressure at the station's ground, the
    # temperature 2 m above it, the hub ``hub`` above the site's ground
    t_hub = temperature.linear_gradient(np.array([t + 273.15]), stn + 2.0, site + hub)
    ref = density.barometric(np.array([p]), stn, site + hub, t_hub)[0]
    assert ours == pytest.approx(ref, rel=1e-9, abs=0)
    # the ideal-gas law on the same pressure and temperature differs only by its gas constant
    ideal = density.ideal_gas(np.array([p]), stn, site + hub, t_hub)[0]
    assert ours == pytest.approx(ideal, rel=1e-4)


def test_density_of_many_sites_is_one_row_each(station):
    p, t = station["atmospheric_pressure"], station["temp_air"]
    z = np.array([43.0, 500.0, 1000.0])
    rho = wind.air_density_hub(p, t, 110.0, site_elevation_m=z, station_elevation_m=43.0)
    assert rho.shape == (3, len(station))
    np.testing.assert_allclose(rho[0], wind.air_density_hub(p, t, 110.0), rtol=1e-12)
    for k in range(3):
        np.testing.assert_allclose(rho[k], wind.air_density_hub(p, t, 110.0, site_elevation_m=z[k],
                                                                station_elevation_m=43.0), rtol=1e-12)
    assert (np.diff(rho.mean(axis=1)) < 0).all()  # higher ground, thinner air
    # about 10 % per 1,000 m, as in the standard atmosphere (1.225 -> 1.112 kg/m3 from 0 to 1 km)
    assert 0.87 < rho[2].mean() / rho[0].mean() < 0.93


def test_density_refuses_elevations_that_are_not_numbers():
    with pytest.raises(ConfigError, match="finite"):
        wind.air_density_hub([101325.0], [15.0], 100.0, site_elevation_m=[np.nan])


def test_station_elevation_from_the_epw_header(station):
    assert wind.station_elevation_m(station) == pytest.approx(43.0)
    bad = station.iloc[:5].copy()
    bad.attrs = {"path": "x.epw", "altitude": None}
    with pytest.raises(SourceError, match="no station elevation"):
        wind.station_elevation_m(bad)


def test_a_site_at_1000_m_yields_less_than_one_at_sea_level(station):
    params = ws.WindParams()
    sites = gpd.GeoDataFrame({"lc_class": ["cropland"] * 3},
                             geometry=[shapely.Point(X0 + i * 1000, Y0) for i in range(3)], crs=4549)
    out = ws.site_energy(sites, station, params, elevation_m=np.array([0.0, 1000.0, 43.0]))
    sea, high, stn = out["gross_energy_mwh_per_yr"].to_numpy()
    assert high < sea  # same wind, thinner air
    assert 0.85 < high / sea < 0.99
    rho = out["air_density_hub_kg_per_m3"].to_numpy()
    assert rho[1] < rho[2] < rho[0]
    np.testing.assert_allclose(out["site_elevation_m"], [0.0, 1000.0, 43.0])
    # no DEM: every site at the station's 43 m, exactly the site given 43 m
    flat = ws.site_energy(sites, station, params)
    np.testing.assert_allclose(flat["gross_energy_mwh_per_yr"], stn, rtol=1e-12)
    np.testing.assert_allclose(flat["site_elevation_m"], 43.0)
    # the same holds for a wind-map resource
    r = np.array([6.5, 6.5, 6.5])
    m = ws.site_energy(sites, station, params, raster_mean_m_per_s=r, raster_height_m=params.hub_height_m,
                       elevation_m=np.array([0.0, 1000.0, 43.0]))
    assert m["gross_energy_mwh_per_yr"].iloc[1] < m["gross_energy_mwh_per_yr"].iloc[0]


def _grid(shape=(60, 60), cell=100.0):
    tr = from_origin(X0, Y0 + shape[0] * cell, cell, cell)
    return ws.EligibilityGrid(transform=tr, shape=shape, crs="EPSG:4549", cell_m=cell,
                              district=np.ones(shape, "int32"), adcodes=["330502"], masks={})


def _lonlat_plane(path, grade_east: float) -> None:
    """A lon/lat DEM (1 arc-second) over the test grid rising ``grade_east`` metres per metre eastwards."""
    from pyproj import Transformer

    to_ll = Transformer.from_crs(4549, 4326, always_xy=True)
    to_m = Transformer.from_crs(4326, 4549, always_xy=True)
    lon0, lat1 = to_ll.transform(X0 - 2000, Y0 + 8000)
    lon1, lat0 = to_ll.transform(X0 + 8000, Y0 - 2000)
    d = 1 / 3600
    w, h = int((lon1 - lon0) / d), int((lat1 - lat0) / d)
    lon = lon0 + (np.arange(w) + 0.5) * d
    lat = lat1 - (np.arange(h) + 0.5) * d
    x, _ = to_m.transform(*np.meshgrid(lon, lat))
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float64",
                       crs="EPSG:4326", transform=from_origin(lon0, lat1, d, d), nodata=-9999.0) as dst:
        dst.write(100.0 + grade_east * (x - X0), 1)


def test_slope_and_elevation_of_a_lonlat_dem_on_the_metric_grid(tmp_path):
    path = tmp_path / "plane.tif"
    _lonlat_plane(path, 0.15)  # 15 % grade = 8.53 deg, in degrees of lon/lat on disk
    grid = _grid()
    dem = ws.grid_dem_m(path, grid)
    slope = ws.slope_pct(dem, grid.cell_m)
    assert np.nanmedian(slope[2:-2, 2:-2]) == pytest.approx(15.0, rel=0.01)
    np.testing.assert_allclose(ws.grid_slope_pct(path, grid), slope)
    # sites read their ground elevation from the grid; off the DEM the station's stands in
    x = np.array([X0 + 1050.0, X0 + 4050.0, X0 + 1e6])
    y = np.array([Y0 + 3000.0, Y0 + 3000.0, Y0])
    z, from_dem = ws.site_elevation_m(x, y, grid, dem, 43.0)
    assert from_dem.tolist() == [True, True, False] and z[2] == 43.0
    assert z[0] == pytest.approx(100.0 + 0.15 * 1050.0, abs=2.0)
    assert z[1] - z[0] == pytest.approx(0.15 * 3000.0, rel=0.01)
    z_none, got = ws.site_elevation_m(x, y, grid, None, 43.0)
    assert (z_none == 43.0).all() and not got.any()


def test_ground_pv_slope_of_a_lonlat_dem_is_in_degrees(tmp_path):
    from engines.pv.sites import read_slope

    path = tmp_path / "plane.tif"
    _lonlat_plane(path, 0.5)  # 50 % grade = 26.57 deg: steeper than the 25 deg ground-PV limit
    slope, tr = read_slope(path, "EPSG:4549")
    assert 20 < abs(tr.a) < 35  # metres after the warp, not degrees
    assert np.nanmedian(slope[2:-2, 2:-2]) == pytest.approx(np.degrees(np.arctan(0.5)), abs=0.3)


def test_air_density_note_says_whether_terrain_was_used():
    assert "terrain not used" in ws.air_density_terrain_note(43.0, False, 0, 10)
    assert "from the DEM for all 10 sites" in ws.air_density_terrain_note(43.0, True, 10, 10)
    assert "for 7 of 10 sites" in ws.air_density_terrain_note(43.0, True, 7, 10)


def test_many_elevations_are_interpolated_within_1e6_of_exact(station):
    params = ws.WindParams()
    n = ws.ELEVATION_NODES_EXACT + 6  # more distinct elevations than handled exactly
    rng = np.random.default_rng(7)
    z = np.sort(rng.uniform(0.0, 900.0, n))
    sites = gpd.GeoDataFrame({"lc_class": ["cropland"] * n},
                             geometry=[shapely.Point(X0 + i * 500, Y0) for i in range(n)], crs=4549)
    # the station resource: exact per elevation (a wind map's energy is itself tabulated over
    # mean speeds spanning the sites given, so one site alone is no exact reference there)
    got = ws.site_energy(sites, station, params, elevation_m=z)
    for i in (0, 13, n // 2, n - 1):  # each alone: one elevation, computed exactly
        one = ws.site_energy(sites.iloc[[i]], station, params, elevation_m=z[[i]])
        assert got["gross_energy_mwh_per_yr"].iloc[i] == pytest.approx(
            one["gross_energy_mwh_per_yr"].iloc[0], rel=1e-6)
        assert got["air_density_hub_kg_per_m3"].iloc[i] == pytest.approx(
            one["air_density_hub_kg_per_m3"].iloc[0], rel=1e-6)
    assert (np.diff(got["air_density_hub_kg_per_m3"].to_numpy()) < 0).all()
