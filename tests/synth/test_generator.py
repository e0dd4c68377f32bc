"""Tests of the seeded synthetic-city generator (synth)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from synth import generate_city, source_string
from synth.network import node_segments
from twin.errors import ConfigError, SchemaError
from twin.schema import FIELDS, LAYERS, ROAD_CLASSES

ROOT = Path(__file__).resolve().parents[2]
CLASS_MAP = {0: "water", 5: "mixed_forest", 8: "mixed_forest", 9: "shrubland", 11: "wetland",
             12: "cropland", 13: "built_up", 14: "cropland"}
TRANSFORM = Affine(0.05, 0.0, 119.85, 0.0, -0.05, 30.10)
LAYER_OF = {"townships": "boundaries"}


def _codes():
    """A 5 x 9 MODIS-like grid over the three test districts (lon 119.85-120.30)."""
    codes = np.full((5, 9), 255, dtype=np.uint8)
    codes[:, 0:3] = 13  # dense core: built-up
    codes[1, 2] = 14
    codes[:, 3:5] = 12  # new town: cropland and mosaic with a wetland cell
    codes[:, 5] = 14
    codes[2, 4] = 11
    codes[:, 6:9] = 8  # mountain county: woody savanna, mixed forest, savanna, a lake cell
    codes[0, 7] = 5
    codes[4, 8] = 9
    codes[2, 7] = 0
    return codes


def _districts():
    x = [490_000, 502_000, 514_000, 526_000]
    polys = [shapely.box(x[0], 3_315_000, x[1], 3_325_000),
             shapely.box(x[1], 3_315_000, x[2], 3_325_000).difference(
                 shapely.box(508_000, 3_322_000, 514_000, 3_325_000)),  # non-convex
             shapely.box(x[2], 3_315_000, x[3], 3_326_000)]
    return gpd.GeoDataFrame({
        "adcode": ["330102", "330109", "330127"],
        "name_zh": ["上城区", "萧山区", "淳安县"],
        "name_en": ["Shangcheng District", "Xiaoshan District", "Chun'an County"],
        "kind": ["dense_core", "new_town", "mountain_county"],
        "aquaculture": [False, True, False],
        "is_urban": [True, False, False]}, geometry=polys, crs="EPSG:4549")


EXCLUDE = shapely.box(494_000, 3_318_000, 496_000, 3_320_000)


def _generate(seed=3, n=1500, **kw):
    kw.setdefault("exclude", EXCLUDE)
    return generate_city(_districts(), _codes(), TRANSFORM, "EPSG:4326", CLASS_MAP,
                         n_buildings=n, seed=seed, city_id="test", **kw)


@pytest.fixture(scope="module")
def city():
    return _generate()


# ---------------------------------------------------------------------------- checks


def _check_schema(layers, seed):
    assert set(layers) == {"townships", "buildings", "water", "landcover", "roads",
                           "charging_stations", "service_areas", "bus_stops", "green_space"}
    for name, gdf in layers.items():
        spec = LAYERS[LAYER_OF.get(name, name)]
        assert list(gdf.columns) == [*spec.columns, "geometry"], name
        assert gdf.crs.to_epsg() == 4549, name
        for col in spec.columns:
            f = FIELDS[col]
            if f.dtype in ("string", "category"):
                assert pd.api.types.is_string_dtype(gdf[col]), (name, col, gdf[col].dtype)
            else:
                assert str(gdf[col].dtype) == f.dtype, (name, col, gdf[col].dtype)
            if f.allowed is not None:
                assert gdf[col].isin(f.allowed).all(), (name, col)
            if f.minimum is not None and len(gdf):
                assert (gdf[col].dropna() >= f.minimum).all(), (name, col)
            if f.maximum is not None and len(gdf):
                assert (gdf[col].dropna() <= f.maximum).all(), (name, col)
        assert gdf[spec.id_field].is_unique, name
        assert gdf["is_synthetic"].all(), name
        assert (gdf["source"] == source_string(seed)).all(), name
        assert gdf.geometry.is_valid.all(), name
        assert not gdf.geometry.is_empty.any(), name
        family = {"polygon": {"Polygon", "MultiPolygon"}, "line": {"LineString"},
                  "point": {"Point"}}[spec.geometry]
        assert set(gdf.geom_type) <= family, name


def _check_buildings(layers, districts, exclude=None):
    b = layers["buildings"]
    geoms = b.geometry.to_numpy()
    a, c = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert int((a < c).sum()) == 0, "buildings overlap"
    dist = dict(zip(districts["adcode"], districts.geometry, strict=True))
    inside = [dist[k].contains(g) for k, g in zip(b["district_adcode"], geoms, strict=True)]
    assert all(inside)
    water = layers["water"].geometry.to_numpy()
    assert len(shapely.STRtree(water).query(geoms, predicate="intersects")[0]) == 0
    green = layers["green_space"].geometry.to_numpy()
    assert len(shapely.STRtree(green).query(geoms, predicate="intersects")[0]) == 0
    if exclude is not None:
        assert not shapely.intersects(exclude, geoms).any()
    assert np.allclose(b["footprint_area_m2"], b.geometry.area)
    assert np.allclose(b["gross_floor_area_m2"], b["footprint_area_m2"] * b["floors"])
    assert (b["height_source"] == "synthetic").all()
    assert (b["cim_level"] == np.where(b["roof_type"] != "unknown", 3, 2)).all()
    assert (b["is_new_build"] == (b["year_built"] >= 2024)).all()
    assert b["year_built"].between(1970, 2026).all()
    assert (b["township_code"].str[:6] == b["district_adcode"]).all()


def _check_roads(layers):
    r = layers["roads"]
    g = nx.Graph()
    for line in r.geometry.to_numpy():
        xy = np.round(shapely.get_coordinates(line), 2)
        assert len(xy) == 2
        g.add_edge(tuple(xy[0]), tuple(xy[1]))
    assert nx.number_connected_components(g) == 1
    geoms = r.geometry.to_numpy()
    a, c = shapely.STRtree(geoms).query(geoms, predicate="crosses")
    assert len(a) == 0, "roads cross away from shared end points"
    # T-junctions: no end point lies on the interior of another segment
    ends = shapely.points(np.round(np.concatenate([shapely.get_coordinates(geoms)]), 2))
    ia, ib = shapely.STRtree(geoms).query(ends, predicate="dwithin", distance=0.005)
    assert (shapely.distance(shapely.boundary(geoms[ib]), ends[ia]) < 0.011).all()
    assert np.allclose(r["length_m"], r.geometry.length)
    assert set(r["road_class"]) <= set(ROAD_CLASSES)
    speed = {"motorway": 100, "trunk": 80, "primary": 60, "secondary": 50, "tertiary": 40,
             "residential": 30, "service": 20}
    assert (r["speed_kmh"] == r["road_class"].map(speed)).all()


def _check_townships(layers, districts):
    t = layers["townships"]
    assert (t["level"] == "township").all()
    assert t["adcode"].str.fullmatch(r"\d{9}").all()
    assert t["adcode"].str[:6].eq(t["parent_adcode"]).all()
    assert t["name_zh"].str.contains("合成").all()
    for adc, geom in zip(districts["adcode"], districts.geometry, strict=True):
        part = t[t["parent_adcode"] == adc].geometry
        assert len(part) >= 2
        union = shapely.union_all(part.to_numpy())
        assert union.symmetric_difference(geom).area < 1e-6 * geom.area
        assert part.area.sum() - union.area < 1e-6 * geom.area  # no overlaps


def _check_populated(layers, districts):
    for name in ("buildings", "roads"):
        got = set(layers[name]["district_adcode"])
        assert set(districts["adcode"]) <= got, name
    assert set(districts["adcode"]) <= set(layers["townships"]["parent_adcode"])


def _check_points_inside(layers, districts):
    city = shapely.union_all(districts.geometry.to_numpy())
    for name in ("charging_stations", "service_areas", "bus_stops"):
        g = layers[name].geometry.to_numpy()
        assert shapely.covers(city.buffer(0.01), g).all(), name
    for name in ("water", "green_space", "landcover", "roads"):
        g = layers[name].geometry.to_numpy()
        assert shapely.covers(city.buffer(0.1), g).all(), name


# ---------------------------------------------------------------------------- small city


def test_same_seed_gives_identical_city(city):
    again = _generate()
    for name, gdf in city.items():
        assert_geodataframe_equal(gdf, again[name], ), name


def test_different_seed_gives_different_city(city):
    other = _generate(seed=4)
    assert not other["buildings"].geometry.geom_equals_exact(
        city["buildings"].geometry.reindex(other["buildings"].index), 0.0).all()
    assert not np.array_equal(other["roads"]["length_m"], city["roads"]["length_m"])


def test_schema_and_flags(city):
    _check_schema(city, seed=3)


def test_buildings_do_not_overlap_and_stay_in_district(city):
    _check_buildings(city, _districts(), exclude=EXCLUDE)


def test_building_mix_by_kind(city):
    b = city["buildings"]
    core = b[b["district_adcode"] == "330102"]
    rural = b[b["district_adcode"] == "330127"]
    assert core["floors"].max() >= 18
    assert (core["use_class"] == "office").any()
    assert (rural["use_class"] == "rural_residential").mean() > 0.4
    assert rural.loc[rural["use_class"] == "rural_residential", "floors"].between(2, 4).all()
    sheds = b[(b["use_class"].isin(["industrial", "warehouse"])) & (b["footprint_area_m2"] > 2000)]
    assert len(sheds) > 0
    assert sheds["height_m"].between(8, 15).all()
    pub = b["use_class"].isin(["government", "education", "health", "public"])
    assert b.loc[pub, "is_public_institution"].mean() > 0.6
    assert not b.loc[~pub, "is_public_institution"].any()


def test_n_buildings_respected(city):
    assert abs(len(city["buildings"]) - 1500) <= 0.03 * 1500


def test_roads_form_one_noded_network(city):
    _check_roads(city)
    assert {"motorway", "residential"} <= set(city["roads"]["road_class"])


def test_townships_tile_districts(city):
    _check_townships(city, _districts())
    t = city["townships"]
    assert t.loc[t["parent_adcode"] == "330102", "is_urban"].all()
    assert not t.loc[t["parent_adcode"] == "330127", "is_urban"].any()
    assert t.loc[t["parent_adcode"] == "330109", "is_urban"].any()


def test_every_district_populated(city):
    _check_populated(city, _districts())
    _check_points_inside(city, _districts())


def test_landcover_dominant_class_matches_modis(city):
    lc = city["landcover"]
    codes = _codes()
    rep = shapely.get_coordinates(lc.geometry.to_crs(4326).representative_point().to_numpy())
    col, row = ~TRANSFORM @ (rep[:, 0], rep[:, 1])
    cell = np.floor(row).astype(int) * 100 + np.floor(col).astype(int)
    expect = np.array([CLASS_MAP[int(c)] for c in codes[np.floor(row).astype(int),
                                                         np.floor(col).astype(int)]])
    assert (lc["source_class"].astype(int).to_numpy()
            == codes[np.floor(row).astype(int), np.floor(col).astype(int)]).all()
    df = pd.DataFrame({"cell": cell, "own": (lc["lc_class"].to_numpy() == expect) * lc.area,
                       "a": lc.area})
    share = df.groupby("cell").sum()
    assert (share["own"] >= 0.6 * share["a"] - 1e-6).all()
    assert (lc["source_scheme"] == "modis_igbp").all()
    forest = lc["lc_class"].isin(["mixed_forest"])
    assert lc.loc[forest, "growing_stock_m3_per_ha"].between(10, 200).all()
    assert (lc.loc[forest, "forest_age_class"] != "").all()
    assert lc.loc[~forest & (lc["lc_class"] == "cropland"), "growing_stock_m3_per_ha"].isna().all()


def test_water_bodies(city):
    w = city["water"]
    ponds = w[w["water_type"].isin(["pond", "pit_pond"])]
    assert len(ponds) > 20
    assert (ponds["district_adcode"] == "330109").all()  # the only aquaculture district
    assert ponds["is_aquaculture"].all()
    assert not w.loc[~w["water_type"].isin(["pond", "pit_pond"]), "is_aquaculture"].any()
    lakes = w[w["water_type"] == "lake"]
    assert lakes["name"].str.contains("千岛湖").all() and lakes["is_drinking_source"].all()
    assert (w["water_type"] == "reservoir").any()
    a, c = shapely.STRtree(ponds.geometry.to_numpy()).query(ponds.geometry.to_numpy(),
                                                            predicate="intersects")
    assert int((a < c).sum()) == 0


def test_points_and_green_space(city):
    cs = city["charging_stations"]
    assert len(cs) > 0
    assert set(cs["site_type"]) <= {"urban_public", "rural_public", "highway_service_area",
                                    "private"}
    assert (cs["is_public"] == (cs["site_type"] != "private")).all()
    assert cs["piles"].between(2, 40).all()
    assert len(city["bus_stops"]) > 0
    g = city["green_space"]
    assert (g["green_type"] == "park").any()
    assert (g.loc[g["green_type"] != "park", "park_tier"] == "").all()
    a, c = shapely.STRtree(g.geometry.to_numpy()).query(g.geometry.to_numpy(),
                                                        predicate="overlaps")
    assert len(a) == 0


def test_zero_buildings():
    layers = _generate(n=0)
    assert len(layers["buildings"]) == 0
    _check_schema(layers, seed=3)


@pytest.mark.parametrize(("change", "error"), [
    (lambda d: d.drop(columns="kind"), SchemaError),
    (lambda d: d.to_crs(4326), SchemaError),
    (lambda d: d.assign(kind=["dense_core", "suburb", "new_town"]), ConfigError),
    (lambda d: d.assign(adcode=["33010", "330109", "330127"]), ConfigError),
])
def test_bad_districts_raise(change, error):
    with pytest.raises(error, match="districts"):
        generate_city(change(_districts()), _codes(), TRANSFORM, "EPSG:4326", CLASS_MAP,
                      n_buildings=10)


# ---------------------------------------------------------------------------- noding


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 200)] * 4), min_size=1, max_size=25))
def test_node_segments_splits_every_crossing(segs):
    arr = np.array(segs, dtype=float)
    p0, p1 = arr[:, :2], arr[:, 2:]
    keep = np.hypot(*(p1 - p0).T) > 0
    p0, p1 = p0[keep], p1[keep]
    if len(p0) == 0:
        return
    q0, q1, src = node_segments(p0, p1, np.zeros(len(p0), dtype=np.int64))
    lines = shapely.linestrings(np.stack([q0, q1], axis=1))
    a, c = shapely.STRtree(lines).query(lines, predicate="crosses")
    # only collinear overlaps may be left (they are not crossings)
    assert len(a) == 0
    before = shapely.union_all(shapely.linestrings(np.stack([p0, p1], axis=1)))
    after = shapely.union_all(lines)
    assert after.hausdorff_distance(before) < 0.05
    assert (src >= 0).all() and (src < len(p0)).all()


# ---------------------------------------------------------------------------- real data

REAL_KIND = {"330102": "dense_core", "330105": "dense_core", "330106": "dense_core",
             "330108": "dense_core", "330109": "new_town", "330110": "new_town",
             "330113": "new_town", "330114": "new_town", "330111": "mountain_county",
             "330112": "mountain_county", "330122": "mountain_county",
             "330127": "mountain_county", "330182": "mountain_county"}


@pytest.mark.slow
def test_real_hangzhou_boundaries():
    rasterio = pytest.importorskip("rasterio")
    g = gpd.read_file(ROOT / "data/real/boundaries/hangzhou_huzhou_admin_amap_wgs84.geojson")
    g = g[(g["level"] == "district") & g["adcode"].astype(str).isin(REAL_KIND)].to_crs(4549)
    adc = g["adcode"].astype(str).to_numpy()
    districts = gpd.GeoDataFrame({
        "adcode": adc, "name_zh": g["district_name"].to_numpy(), "name_en": adc,
        "kind": [REAL_KIND[a] for a in adc],
        "aquaculture": [a in {"330109", "330110", "330113", "330114"} for a in adc],
        "is_urban": [REAL_KIND[a] == "dense_core" for a in adc]},
        geometry=g.geometry.to_numpy(), crs="EPSG:4549")
    with rasterio.open(ROOT / "data/real/landcover/mcd12c1_2019_igbp_hangzhou_huzhou.tif") as r:
        codes, transform = r.read(1), r.transform
    cm = pd.read_csv(ROOT / "data/landcover/modis_igbp.csv")
    cmap = {int(a): b for a, b in zip(cm["source_code"], cm["lc_class"], strict=True)
            if isinstance(b, str)}
    kw = {"n_buildings": 3000, "seed": 7, "city_id": "hangzhou"}
    layers = generate_city(districts, codes, transform, "EPSG:4326", cmap, **kw)
    again = generate_city(districts, codes, transform, "EPSG:4326", cmap, **kw)
    for name, gdf in layers.items():
        assert_geodataframe_equal(gdf, again[name], ), name
    _check_schema(layers, seed=7)
    _check_buildings(layers, districts)
    _check_roads(layers)
    _check_townships(layers, districts)
    _check_populated(layers, districts)
    assert abs(len(layers["buildings"]) - 3000) <= 90
    w = layers["water"]
    ponds = w[w["is_aquaculture"]]
    assert len(ponds) > 0
    assert set(ponds["district_adcode"]) <= {"330109", "330110", "330113", "330114"}
    assert w["name"].str.contains("千岛湖").any()
    assert w["name"].str.contains("西湖").any()
    assert (layers["landcover"]["lc_class"] == "bamboo_forest").any()
    assert (layers["landcover"]["lc_class"] == "tea_garden").any()
