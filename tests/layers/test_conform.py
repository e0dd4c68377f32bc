"""The bad-input catalogue of the importers, through conform_layer."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.conform import conform_layer
from tests.conftest import X0, Y0, make_buildings
from twin.errors import SchemaError
from twin.schema import LAYERS


def test_buildings_conform_to_schema(buildings):
    out, report = conform_layer(buildings, "buildings", file="b.gpkg")
    assert list(out.columns) == [*LAYERS["buildings"].columns, "geometry"]
    assert out.crs.to_epsg() == 4549
    assert report.n_in == report.n_out == 5 and not report.rejected
    np.testing.assert_allclose(out["footprint_area_m2"], 200.0)
    assert (out["cim_level"] == 3).all()  # roof form known -> CIM3
    assert (out["floors"] == np.round(out["height_m"] / 3.0)).all()
    np.testing.assert_allclose(out["gross_floor_area_m2"], 200.0 * out["floors"])
    assert not out["is_synthetic"].any()


def test_unknown_roof_is_cim2():
    out, _ = conform_layer(make_buildings(2, roof_type=["unknown", "gable"]), "buildings")
    assert out["cim_level"].tolist() == [2, 3]


def test_geographic_input_is_reprojected_to_metric(buildings):
    out, _ = conform_layer(buildings.to_crs(4326), "buildings")
    assert out.crs.to_epsg() == 4549
    np.testing.assert_allclose(out["footprint_area_m2"], 200.0, rtol=1e-6)


def test_missing_crs_is_an_error(buildings):
    with pytest.raises(SchemaError, match=r"b\.geojson.*no CRS.*--crs"):
        conform_layer(buildings.set_crs(None, allow_override=True), "buildings", file="b.geojson")


def test_missing_required_column_names_it_and_the_fix(buildings):
    with pytest.raises(SchemaError, match=r"b\.shp.*missing required column\(s\) height_m.*--rename"):
        conform_layer(buildings.drop(columns="height_m"), "buildings", file="b.shp")


def test_height_from_floors_is_estimated_and_reported():
    b = make_buildings(3).drop(columns="height_m")
    b["floors"] = [1, 2, 6]
    out, report = conform_layer(b, "buildings")
    assert out["height_m"].tolist() == [3.0, 6.0, 18.0]
    assert (out["height_source"] == "estimated").all()
    assert len(report.repaired) == 3


def test_nan_height_gets_default_and_flag():
    b = make_buildings(2, height_m=[np.nan, 12.0])
    out, report = conform_layer(b, "buildings")
    assert out.loc[0, "height_m"] == 10.0 and out.loc[0, "height_source"] == "estimated"
    assert out.loc[1, "height_source"] == "observed"
    assert [r[0] for r in report.repaired] == ["b0"]


def test_duplicate_ids_are_an_error():
    b = make_buildings(3, building_id=["a", "b", "a"])
    with pytest.raises(SchemaError, match=r"duplicate building_id values a"):
        conform_layer(b, "buildings", file="dup.gpkg")


@pytest.mark.parametrize("height", [-1.0, 701.0, 5000.0])
def test_absurd_heights_are_an_error(height):
    b = make_buildings(3, height_m=[10.0, height, 12.0])
    with pytest.raises(SchemaError, match=r"height_m out of its plausible range.*b1="):
        conform_layer(b, "buildings", file="h.gpkg")


def test_unknown_category_lists_allowed_values():
    b = make_buildings(2, use_class=["residential", "spaceport"])
    with pytest.raises(SchemaError, match=r"use_class has values spaceport.*'residential'"):
        conform_layer(b, "buildings")


def test_non_numeric_values_name_the_rows():
    b = make_buildings(2, height_m=["10", "tall"])
    with pytest.raises(SchemaError, match=r"column 'height_m' must be float64; rows 1 hold tall"):
        conform_layer(b, "buildings")


def test_invalid_geometry_is_repaired_and_reported():
    b = make_buildings(2)
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10), (X0, Y0)])
    b.loc[1, "geometry"] = bowtie
    out, report = conform_layer(b, "buildings")
    assert len(out) == 2 and out.geometry.is_valid.all()
    assert report.repaired[0][0] == "b1" and "Self-intersection" in report.repaired[0][1]
    assert out.loc[1, "footprint_area_m2"] == pytest.approx(50.0)


def test_unusable_rows_are_rejected_with_ids_and_reasons():
    b = make_buildings(4)
    b.loc[1, "geometry"] = shapely.Point(X0, Y0)
    b.loc[2, "geometry"] = None
    b.loc[3, "geometry"] = shapely.Polygon([(X0, Y0), (X0 + 1, Y0), (X0 + 2, Y0), (X0, Y0)])  # zero area
    out, report = conform_layer(b, "buildings")
    assert out["building_id"].tolist() == ["b0"]
    reasons = dict(report.rejected)
    assert "Point" in reasons["b1"] and "empty or missing" in reasons["b2"]
    assert "cannot be repaired" in reasons["b3"]
    assert report.to_frame()["action"].tolist().count("rejected") == 3


def test_empty_input_is_an_error():
    with pytest.raises(SchemaError, match="has no features"):
        conform_layer(make_buildings(0), "buildings", file="empty.gpkg")


def test_unknown_layer():
    with pytest.raises(SchemaError, match="unknown layer 'bridges'"):
        conform_layer(make_buildings(1), "bridges")


def test_ids_from_geometry_are_stable():
    b = make_buildings(3).drop(columns="building_id")
    a1, _ = conform_layer(b, "buildings")
    a2, _ = conform_layer(b.iloc[::-1], "buildings")
    assert sorted(a1["building_id"]) == sorted(a2["building_id"])


def test_roads_get_length_and_class_speed():
    roads = gpd.GeoDataFrame(
        {"road_id": ["r1", "r2"], "road_class": ["motorway", "residential"], "speed_kmh": [None, 25]},
        geometry=[shapely.LineString([(X0, Y0), (X0 + 300, Y0 + 400)]),
                  shapely.LineString([(X0, Y0), (X0, Y0 + 100)])],
        crs=4549,
    )
    out, _ = conform_layer(roads, "roads")
    assert out["length_m"].tolist() == [500.0, 100.0]
    assert out["speed_kmh"].tolist() == [100.0, 25.0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 200), st.floats(1, 200), st.floats(0.5, 300)),
                min_size=1, max_size=12))
def test_area_equals_analytic_and_is_independent_of_order(rects):
    geoms = [shapely.box(X0 + 500 * i, Y0, X0 + 500 * i + w, Y0 + h) for i, (w, h, _) in enumerate(rects)]
    b = gpd.GeoDataFrame({"building_id": [f"x{i}" for i in range(len(rects))],
                          "height_m": [z for _, _, z in rects]}, geometry=geoms, crs=4549)
    out, _ = conform_layer(b, "buildings")
    np.testing.assert_allclose(out["footprint_area_m2"], [w * h for w, h, _ in rects], rtol=1e-9)
    rev, _ = conform_layer(b.iloc[::-1], "buildings")
    assert rev.set_index("building_id").sort_index()["footprint_area_m2"].equals(
        out.set_index("building_id").sort_index()["footprint_area_m2"])


@pytest.mark.parametrize("epsg", [4326, 4490, 4549, 32650, 32651, 3857])
def test_accepted_input_crs(buildings, epsg):
    out, _ = conform_layer(buildings.to_crs(epsg), "buildings")
    assert out.crs.to_epsg() == 4549
    np.testing.assert_allclose(out.geometry.centroid.x, buildings.geometry.centroid.x, atol=0.01)
    np.testing.assert_allclose(out["footprint_area_m2"], 200.0, rtol=1e-6)


def test_geographic_target_crs_is_refused(buildings):
    with pytest.raises(SchemaError, match="geographic CRS.*metres are needed"):
        conform_layer(buildings, "buildings", crs="EPSG:4326")
