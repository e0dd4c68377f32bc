"""layers.io.osm: reading a PBF written with pyosmium and mapping its tags (pure, no twin)."""

from __future__ import annotations

import math

import osmium
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from layers.io.osm import (
    LayerStats,
    clip_to_boundary,
    load_tags,
    parse_height_m,
    parse_levels,
    parse_speed_kmh,
    read_header,
    read_osm,
)
from tests.layers.io.osm_fixture import TIMESTAMP, write_huzhou_pbf
from twin.errors import ConfigError, SchemaError


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    path = write_huzhou_pbf(tmp_path_factory.mktemp("osm") / "huzhou-test.osm.pbf")
    return read_osm(path)


def test_header_timestamp(tmp_path):
    path = write_huzhou_pbf(tmp_path / "a.osm.pbf")
    assert read_header(path)["timestamp"] == TIMESTAMP


def test_buildings_heights_levels_defaults_and_multipolygon(extract):
    b = extract.frames["buildings"].set_index("building_id")
    assert b.loc["osm-w1", "height_m"] == 24.0 and b.loc["osm-w1", "height_source"] == "observed"
    assert b.loc["osm-w1", "use_class"] == "residential" and b.loc["osm-w1", "roof_type"] == "flat"
    # building=yes + amenity=school: use from amenity; 6 levels x 3 m
    assert b.loc["osm-w2", "height_m"] == 18.0 and b.loc["osm-w2", "use_class"] == "education"
    assert b.loc["osm-w2", "roof_type"] == "gable" and b.loc["osm-w2", "height_source"] == "estimated"
    assert b.loc["osm-w3", "height_m"] == 10.0 and b.loc["osm-w3", "height_defaulted"]
    assert not b.loc[["osm-w1", "osm-w2", "osm-w4", "osm-r1"], "height_defaulted"].any()
    assert b.loc["osm-w4", "height_m"] == 6.0  # height="junk" ignored, 2 levels
    # the multipolygon relation: one building with its courtyard as a hole
    poly = b.loc["osm-r1", "geometry"]
    assert b.loc["osm-r1", "height_m"] == 15.0 and len(shapely.get_parts(poly)) == 1
    assert shapely.get_num_interior_rings(shapely.get_parts(poly)[0]) == 1
    stats = extract.stats["buildings"].to_dict()
    assert stats["read"] == 5
    assert stats["defaulted"]["height (default 10 m, height_defaulted)"] == 1
    assert stats["defaulted"]["height (building:levels x 3 m)"] == 2


def test_roads_class_speed_oneway_layer(extract):
    r = extract.frames["roads"].set_index("road_id")
    assert set(r.index) == {"osm-w10", "osm-w11"}  # the footway is dropped
    assert r.loc["osm-w10", "speed_kmh"] == 60.0 and not r.loc["osm-w10", "is_oneway"]
    w11 = r.loc["osm-w11"]
    assert w11["road_class"] == "residential" and math.isnan(w11["speed_kmh"])
    assert w11["is_oneway"] and w11["is_bridge"] and w11["road_layer"] == 1 and not w11["is_tunnel"]
    # oneway=-1: drawn south to north, stored reversed (north to south)
    ys = shapely.get_coordinates(w11["geometry"])[:, 1]
    assert ys[0] > ys[-1]
    assert extract.stats["roads"].dropped == {"highway=footway (not a road for drive times)": 1}


def test_points_and_areas(extract):
    c = extract.frames["charging_stations"]
    assert c["piles"].tolist() == [4] and c["is_public"].all() and c["name"].iloc[0] == "湖州测试充电站"
    assert extract.frames["bus_stops"]["stop_id"].tolist() == ["osm-n101"]
    assert extract.frames["green_space"]["green_type"].tolist() == ["park"]
    w = extract.frames["water"]
    assert w["water_type"].tolist() == ["pond"] and not w["is_aquaculture"].any()
    lc = extract.frames["landcover"].set_index("landcover_id")["lc_class"].to_dict()
    assert lc == {"osm-w21": "water", "osm-w22": "evergreen_broadleaf_forest"}


def test_layers_subset_and_unknown_layer(tmp_path):
    path = write_huzhou_pbf(tmp_path / "a.osm.pbf")
    ex = read_osm(path, ["roads"])
    assert set(ex.frames) == {"roads"}
    with pytest.raises(SchemaError, match="cannot come from OSM"):
        read_osm(path, ["boundaries"])


def test_bad_files(tmp_path):
    text = tmp_path / "not.osm.pbf"
    text.write_text("name,height\nA,10\n")
    with pytest.raises(SchemaError, match="not a readable OpenStreetMap file"):
        read_osm(text)
    with pytest.raises(SchemaError, match="no such file"):
        read_osm(tmp_path / "missing.osm.pbf")
    empty = tmp_path / "empty.osm.pbf"
    with osmium.SimpleWriter(str(empty)):
        pass
    with pytest.raises(SchemaError, match="holds no OSM objects"):
        read_osm(empty)


def test_tags_file_errors(tmp_path):
    bad = tmp_path / "tags.toml"
    bad.write_text("[buildings]\nstorey_height_m = 3.0\n")
    with pytest.raises(ConfigError, match="missing tables"):
        load_tags(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_tags(tmp_path / "none.toml")


def test_tag_values_map_into_the_schema():
    from twin.schema import LANDCOVER_CLASSES, ROAD_CLASSES, ROOF_TYPES, USE_CLASSES, WATER_TYPES

    t = load_tags()
    assert set(t["buildings"]["use_class"].values()) <= set(USE_CLASSES)
    assert set(t["buildings"]["amenity_use_class"].values()) <= set(USE_CLASSES)
    assert set(t["buildings"]["roof_type"].values()) <= set(ROOF_TYPES)
    assert set(t["roads"]["road_class"].values()) <= set(ROAD_CLASSES)
    assert set(t["water"]["water_type"].values()) <= set(WATER_TYPES)
    lc = {**t["landcover"]["landuse"], **t["landcover"]["natural"], **t["landcover"]["forest_refine"]}
    assert set(lc.values()) <= set(LANDCOVER_CLASSES)


@given(st.floats(min_value=0.1, max_value=700.0, allow_nan=False))
def test_parse_height_units(h):
    assert parse_height_m(f"{h:.3f}") == pytest.approx(round(h, 3))
    assert parse_height_m(f"{h:.3f} m") == parse_height_m(f"{h:.3f}")
    ft = parse_height_m(f"{h:.3f} ft")
    assert ft == pytest.approx(round(h, 3) * 0.3048)


@given(st.text(alphabet="abcxyz;:-_ ", max_size=8))
def test_parsers_refuse_words(s):
    assert parse_height_m(s) is None and parse_levels(s) is None and parse_speed_kmh(s) is None


def test_parsers_ranges():
    assert parse_height_m("0") is None and parse_height_m("-3") is None and parse_height_m("800") is None
    assert parse_levels("5;6") == 5 and parse_levels("0") is None and parse_levels("2.5 m") is None
    assert parse_speed_kmh("CN:urban") is None and parse_speed_kmh("40 mph") == pytest.approx(64.37, 0.01)


def test_clip_keeps_buildings_whole_and_cuts_lines():
    import geopandas as gpd

    box = shapely.box(0, 0, 100, 100)
    b = gpd.GeoDataFrame({"building_id": ["a", "b", "c"]},
                         geometry=[shapely.box(90, 10, 120, 20), shapely.box(95, 30, 130, 40),
                                   shapely.box(200, 0, 210, 10)], crs="EPSG:4549")
    st_b = LayerStats()
    kept = clip_to_boundary(b, box, "buildings", st_b)
    # a straddles with its point on surface inside? keep iff representative point inside, never cut
    assert all(g.equals(b.set_index("building_id").loc[i, "geometry"])
               for i, g in zip(kept["building_id"], kept.geometry, strict=True))
    assert "c" not in set(kept["building_id"]) and st_b.dropped["outside the city"] >= 1
    r = gpd.GeoDataFrame({"road_id": ["r"]}, geometry=[shapely.LineString([(-50, 50), (150, 50)])],
                         crs="EPSG:4549")
    cut = clip_to_boundary(r, box, "roads", LayerStats())
    assert cut.geometry.iloc[0].length == pytest.approx(100.0)
