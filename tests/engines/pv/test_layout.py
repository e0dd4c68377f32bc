"""Rooftop layout: row spacing by a solar-time window, temperature by mounting, pitched obstacles."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
from shapely.geometry import box

from engines.pv.facets import roof_facets, row_spacing
from engines.pv.params import RoofLayout, RooftopParams, default_roof_layout
from engines.pv.rooftop import simulate_by_roof
from engines.pv.weather import location_from_meta, read_epw
from engines.pv.yield_ import simulate_facets
from tests.engines.pv.test_yield import EPW, _modelchain
from twin.errors import ConfigError
from twin.params import from_mapping


def solstice_sun(solar_hours, latitude=30.2):
    """pvlib's sun on 2021-12-21 at true solar times (longitude 0, equation of time removed)."""
    eot_min = float(pvlib.solarposition.equation_of_time_spencer71(355))
    times = pd.DatetimeIndex([pd.Timestamp("2021-12-21", tz="UTC") + pd.Timedelta(hours=h)
                              - pd.Timedelta(minutes=eot_min) for h in solar_hours])
    sp = pvlib.solarposition.get_solarposition(times, latitude, 0.0)
    return sp["zenith"].to_numpy(), sp["azimuth"].to_numpy()


def test_row_spacing_window_rule_values():
    assert row_spacing(20.0, 30.2)[1] == pytest.approx(0.635, abs=5e-4)  # GB 50797 9-15 h
    assert row_spacing(20.0, 30.2, solar_window_h=(12.0, 12.0))[1] == pytest.approx(0.712, abs=5e-4)
    wide = row_spacing(20.0, 30.2, solar_window_h=(8.0, 16.0))[1]
    assert wide < row_spacing(20.0, 30.2)[1]  # a longer window needs wider rows
    # symmetric window: rows facing east of south need the same spacing as west of south
    assert row_spacing(20.0, 30.2, azimuth_deg=160.0)[1] == pytest.approx(
        row_spacing(20.0, 30.2, azimuth_deg=200.0)[1])
    with pytest.raises(ConfigError, match="solar_window_h"):
        row_spacing(20.0, 30.2, solar_window_h=(13.0, 15.0))
    with pytest.raises(ConfigError, match="not up"):
        row_spacing(20.0, 62.0, solar_window_h=(8.0, 16.0))


@pytest.mark.parametrize(("tilt", "lat"), [(20.0, 30.2), (30.0, 30.2), (10.0, 40.0)])
def test_row_spacing_leaves_no_shade_from_9_to_15_by_pvlib(tilt, lat):
    pitch, gcr = row_spacing(tilt, lat)
    zen, az = solstice_sun([9.0, 10.5, 12.0, 13.5, 15.0], lat)
    sf = pvlib.shading.shaded_fraction1d(zen, az, 90.0, tilt, collector_width=1.0, pitch=pitch)
    assert np.nanmax(sf) <= 2e-3  # pvlib's declination that day is -23.43 deg, not -23.44
    zen, az = solstice_sun([8.5, 15.5], lat)
    sf = pvlib.shading.shaded_fraction1d(zen, az, 90.0, tilt, collector_width=1.0, pitch=pitch)
    assert (sf > 0.01).all()  # just outside the window the rows do shade


def test_flat_roofs_follow_the_window_and_pitched_obstacles_reduce_area():
    b = gpd.GeoDataFrame({"building_id": ["f", "g"], "height_m": [20.0, 8.0], "roof_type": ["flat", "gable"]},
                         geometry=[box(0, 0, 40, 30), box(100, 0, 120, 10)], crs=4549)
    base = roof_facets(b, latitude_deg=30.2)
    noon = roof_facets(b, latitude_deg=30.2, row_window_h=(12.0, 12.0))
    assert base["ground_coverage_ratio"].iloc[0] == pytest.approx(0.635, abs=5e-4)
    assert noon["ground_coverage_ratio"].iloc[0] == pytest.approx(0.712, abs=5e-4)
    obst = roof_facets(b, latitude_deg=30.2, obstacle_fraction_pitched=0.10)
    pitched = (base["roof_type"] == "gable").to_numpy()
    assert obst.loc[pitched, "installable_area_m2"].to_numpy() == pytest.approx(
        0.9 * base.loc[pitched, "installable_area_m2"].to_numpy())
    assert obst.loc[~pitched, "installable_area_m2"].to_numpy() == pytest.approx(
        base.loc[~pitched, "installable_area_m2"].to_numpy())


def test_roof_layout_defaults_are_data_and_checked():
    layout = default_roof_layout()
    assert RooftopParams().layout == layout
    assert (layout.row_window_start_h, layout.row_window_end_h) == (9.0, 15.0)
    assert layout.flat_temperature_parameters == "open_rack_glass_polymer"
    assert layout.pitched_temperature_parameters == "close_mount_glass_glass"
    assert 0.0 < layout.obstacle_fraction_pitched < 0.3
    assert layout.facet_options()["obstacle_fraction_pitched"] == layout.obstacle_fraction_pitched
    with pytest.raises(ConfigError, match="obstacle_fraction_pitched"):
        from_mapping(RoofLayout, {"obstacle_fraction_pitched": 1.5})
    with pytest.raises(ConfigError, match="flat_temperature_parameters"):
        from_mapping(RoofLayout, {"flat_temperature_parameters": "on_the_moon"})


def test_open_rack_yields_more_than_close_mount_and_equals_modelchain():
    df, meta = read_epw(EPW["SWERA"])
    dark = (df["dhi"] <= 0) & (df["dni"] <= 0)
    df.loc[dark, "ghi"] = 0.0  # as test_yield: hours pvlib's Perez turns into NaN
    loc = location_from_meta(meta)
    facets = pd.DataFrame({"surface_tilt": [20.0, 20.0], "surface_azimuth": [180.0, 180.0],
                           "pdc0_kw": [1.0, 1.0], "roof_type": ["flat", "gable"]}, index=["rack", "flush"])
    out = simulate_by_roof(facets, df, loc, {}, default_roof_layout().temperature_by_roof())
    assert list(out.index) == ["rack", "flush"]
    rack, flush = out["ac_kwh"]
    assert rack > flush * 1.01  # cooler cells
    for name, temp in [("rack", "open_rack_glass_polymer"), ("flush", "close_mount_glass_glass")]:
        ac_mc, _ = _modelchain(facets.loc[name], df, loc, temperature_params=temp)
        assert out.loc[name, "ac_kwh"] == pytest.approx(ac_mc, rel=1e-6)
    one = simulate_facets(facets.drop(columns="roof_type"), df, loc, monthly=True)
    same = simulate_by_roof(facets, df, loc, {}, None)["ac_kwh"].to_numpy()
    assert same == pytest.approx(one["ac_kwh"].to_numpy())
