"""Scenarios on polygons, and the orchestrator and CLI on the session twin."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.sinks.accounting import account_patches
from engines.sinks.factors import read_factors
from engines.sinks.indicators import compute_indicators, ledger_from_patches
from engines.sinks.scenarios import apply_scenario, validate_scenario
from twin.errors import SchemaError

X0, Y0 = 500_000.0, 3_300_000.0
F = read_factors()


def patches():
    """Four 100 x 100 m patches in one township: forest, cropland, grassland, water."""
    cls = ["mixed_forest", "cropland", "grassland", "water"]
    geoms = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(4)]
    return gpd.GeoDataFrame({
        "landcover_id": [f"p{i}" for i in range(4)], "lc_class": cls,
        "district_adcode": ["330101"] * 4, "township_code": ["330101001"] * 4,
        "forest_age_class": ["young", "", "", ""],
        "growing_stock_m3_per_ha": [40.0, np.nan, np.nan, np.nan],
        "area_m2": [1e4] * 4, "is_synthetic": True, "source": "test"}, geometry=geoms,
        crs="EPSG:4549")


ZONES = pd.DataFrame({"adcode": ["330100", "330101", "330101001"],
                      "level": ["city", "district", "township"], "name_zh": ["", "", ""],
                      "parent_adcode": ["", "330100", "330101"], "zone_area_m2": [0, 0, 4e4]})


def indicators(gdf):
    return compute_indicators(ledger_from_patches(account_patches(gdf, F)), ZONES, None)


def scen(rows, geoms):
    return validate_scenario(gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4549"))


def test_afforestation_raises_coverage_by_known_area():
    # afforest the right half of the cropland patch (5000 m2)
    s = scen({"action": ["afforestation"]}, [shapely.box(X0 + 150, Y0 - 10, X0 + 200, Y0 + 110)])
    after = apply_scenario(patches(), s)
    assert after.geometry.area.sum() == pytest.approx(4e4)
    b = indicators(patches()).set_index(["level", "indicator"])["value"]
    a = indicators(after).set_index(["level", "indicator"])["value"]
    assert b[("city", "forest_coverage_pct")] == pytest.approx(25.0)
    assert a[("city", "forest_coverage_pct")] == pytest.approx(37.5)
    assert a[("city", "co2_uptake_t_per_yr")] > b[("city", "co2_uptake_t_per_yr")]


def test_wetland_restoration_and_tending():
    s = scen({"action": ["wetland_restoration", "tending"], "age_shift": [np.nan, 2]},
             [shapely.box(X0 + 195, Y0 - 5, X0 + 305, Y0 + 105),
              shapely.box(X0 - 5, Y0 - 5, X0 + 105, Y0 + 105)])
    after = apply_scenario(patches(), s).set_index("landcover_id")
    assert after.loc["p2", "lc_class"] == "wetland"
    assert after.loc["p0", "forest_age_class"] == "near_mature"


@settings(max_examples=15, deadline=None)
@given(st.floats(-300, 500), st.floats(-300, 300), st.floats(10, 400))
def test_scenario_that_changes_nothing_changes_nothing(dx, dy, size):
    # converting to the class a patch already has, or a polygon far away, is a no-op
    g = shapely.box(X0 + dx, Y0 + dy, X0 + dx + size, Y0 + dy + size)
    s = scen({"action": ["conversion", "conversion"], "to_class": ["cropland", "water"]},
             [g, shapely.box(0, 0, 10, 10)])
    base = patches().loc[[1, 3]].reset_index(drop=True)  # cropland and water only
    base.loc[1, "lc_class"] = "cropland"
    after = apply_scenario(base, s)
    b = indicators(base)
    a = indicators(after)
    pd.testing.assert_series_equal(a["value"], b["value"])


def test_bad_scenario_rows_are_named():
    with pytest.raises(SchemaError, match="row 0: action 'plant'"):
        scen({"action": ["plant"]}, [shapely.box(0, 0, 1, 1)])
    with pytest.raises(SchemaError, match="afforestation needs a forest to_class"):
        scen({"action": ["afforestation"], "to_class": ["cropland"]}, [shapely.box(0, 0, 1, 1)])
    with pytest.raises(SchemaError, match="no CRS"):
        validate_scenario(gpd.GeoDataFrame({"action": ["tending"]},
                                           geometry=[shapely.box(0, 0, 1, 1)]))


def test_run_and_cli_on_built_twin(twin_copy, tmp_path):
    from shell.cli import main
    from twin.store import TwinStore

    sc = tmp_path / "xiazhu.geojson"
    store = TwinStore("huzhou", twin_copy)
    lc = store.read_layer("landcover")
    crop = lc.loc[lc["lc_class"] == "cropland"].iloc[:3]
    gpd.GeoDataFrame({"action": ["wetland_restoration"], "name": ["Xiazhu Lake"]},
                     geometry=[crop.geometry.union_all().buffer(10)], crs=lc.crs).to_file(sc)
    assert main(["sinks", "--city", "huzhou", "--sink-scenario", str(sc)]) == 0
    ind = store.table("sink_indicators")
    city = ind.loc[(ind["level"] == "city") & (ind["input_kind"] == "polygons")]
    tea = city.loc[city["indicator"] == "tea_garden_area_mu"].iloc[0]
    assert tea["target_id"] == "K-Z1" and tea["target_value"] == 30000
    for name in ("carbon_stock_t_c", "co2_uptake_t_per_yr", "forest_area_mu"):
        rows = ind.loc[(ind["indicator"] == name) & (ind["input_kind"] == "polygons")]
        assert rows.loc[rows["level"] == "district", "value"].sum() == pytest.approx(
            rows.loc[rows["level"] == "city", "value"].iloc[0], rel=1e-9)
    sc_tab = store.table("sink_scenario")
    wet = sc_tab.loc[(sc_tab["level"] == "city") & (sc_tab["indicator"] == "wetland_stock_mu")]
    assert wet["change"].iloc[0] > 0
    assert "sink_patches" in set(store.layers()["name"])
    assert main(["sinks", "--city", "huzhou", "--sink-scenario", str(tmp_path / "nope.gpkg")]) == 2


def test_tending_raises_removals_without_ageing_the_stand():
    # the forest-quality programme's tending must raise the sink (it used to age the stand and
    # lower a middle-aged stand's removals from 9.90 to 7.15 t CO2/ha/yr)
    p = patches()
    p.loc[0, "forest_age_class"] = "middle"
    s = scen({"action": ["tending"]}, [shapely.box(X0 - 5, Y0 - 5, X0 + 105, Y0 + 105)])
    after = apply_scenario(p, s).set_index("landcover_id")
    assert after.loc["p0", "forest_age_class"] == "middle" and bool(after.loc["p0", "is_tended"])
    b = indicators(p).set_index(["level", "indicator"])["value"]
    a = indicators(after.reset_index()).set_index(["level", "indicator"])["value"]
    assert a[("city", "co2_uptake_t_per_yr")] > b[("city", "co2_uptake_t_per_yr")]
    assert a[("city", "forest_net_increment_m3_per_ha_per_yr")] > b[
        ("city", "forest_net_increment_m3_per_ha_per_yr")]
