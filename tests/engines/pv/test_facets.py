import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import MultiPolygon, box

from engines.pv.facets import FACET_COLUMNS, roof_facets, row_spacing
from twin.errors import ConfigError, SchemaError

COS25 = math.cos(math.radians(25.0))
TAN25 = math.tan(math.radians(25.0))
LAT = 30.0


def layer(geoms, roof_types, heights=None, **cols):
    n = len(geoms)
    data = {
        "building_id": [f"b{i}" for i in range(n)],
        "height_m": heights if heights is not None else [6.0] * n,
        "roof_type": roof_types,
        **cols,
    }
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=4549)


def circ_diff(a, b):
    d = (np.asarray(a) - np.asarray(b)) % 360.0
    return np.minimum(d, 360.0 - d)


# --- gable --------------------------------------------------------------------------


def test_gable_east_west_ridge_default_keeps_south_facet_only():
    f = roof_facets(layer([box(0, 0, 20, 10)], ["gable"]), latitude_deg=LAT)
    assert len(f) == 1
    row = f.iloc[0]
    assert row["surface_azimuth"] == 180.0
    assert row["surface_tilt"] == 25.0
    assert row["roof_area_m2"] == pytest.approx(100.0 / COS25, rel=1e-12)
    assert row["facet_id"] == "b0-f0"
    assert row["ground_coverage_ratio"] == 1.0


def test_gable_without_exclusion_gives_two_facets_south_and_north():
    f = roof_facets(layer([box(0, 0, 20, 10)], ["gable"]), latitude_deg=LAT,
                    exclude_azimuth_range=None)
    assert len(f) == 2
    assert sorted(f["surface_azimuth"]) == [0.0, 180.0]
    np.testing.assert_allclose(f["roof_area_m2"] * COS25, [100.0, 100.0], rtol=1e-12)
    assert list(f["facet_id"]) == ["b0-f0", "b0-f1"]


def test_gable_setback_and_capacity_by_hand():
    # facet on the slope: 20 m along the eave, 5/cos25 m up the slope; 0.5 m setback each edge
    f = roof_facets(layer([box(0, 0, 20, 10)], ["gable"]), latitude_deg=LAT)
    inst = (20.0 - 1.0) * (5.0 / COS25 - 1.0)
    assert f["installable_area_m2"].iloc[0] == pytest.approx(inst, rel=1e-9)
    assert f["module_area_m2"].iloc[0] == pytest.approx(inst, rel=1e-9)
    assert f["pdc0_kw"].iloc[0] == pytest.approx(0.2 * inst, rel=1e-9)


def test_gable_facet_centre_height_below_ridge():
    f = roof_facets(layer([box(0, 0, 20, 10)], ["gable"], heights=[9.0]), latitude_deg=LAT)
    # ridge at 9 m, eaves tan25 * 5 m lower, centroid a quarter of the width from the eave
    assert f["height_m"].iloc[0] == pytest.approx(9.0 - TAN25 * 5.0 + TAN25 * 2.5)
    assert f["x_m"].iloc[0] == pytest.approx(10.0)
    assert f["y_m"].iloc[0] == pytest.approx(2.5)


# --- hip ----------------------------------------------------------------------------


def test_hip_gives_four_facets_with_plan_areas_summing_to_footprint():
    f = roof_facets(layer([box(0, 0, 20, 10)], ["hip"]), latitude_deg=LAT,
                    exclude_azimuth_range=None)
    assert len(f) == 4
    plan = (f["roof_area_m2"] * COS25).to_numpy()
    assert plan.sum() == pytest.approx(200.0, rel=1e-12)
    by_az = dict(zip(f["surface_azimuth"], plan, strict=True))
    # trapezoids (2L - W) W / 4 = 75, hip-end triangles W^2 / 4 = 25
    assert by_az[180.0] == pytest.approx(75.0)
    assert by_az[0.0] == pytest.approx(75.0)
    assert by_az[90.0] == pytest.approx(25.0)
    assert by_az[270.0] == pytest.approx(25.0)


def test_hip_default_drops_north_trapezoid_only():
    f = roof_facets(layer([box(0, 0, 20, 10)], ["hip"]), latitude_deg=LAT)
    assert sorted(f["surface_azimuth"]) == [90.0, 180.0, 270.0]


def test_exclusion_range_is_inclusive_at_45_and_315():
    hip = affinity.rotate(box(0, 0, 20, 10), 45.0)
    f = roof_facets(layer([hip], ["hip"]), latitude_deg=LAT, min_installable_area_m2=0.0)
    assert sorted(np.round(f["surface_azimuth"], 6)) == [135.0, 225.0]


@settings(max_examples=40, deadline=None)
@given(angle=st.floats(-89.0, 89.0), length=st.floats(12.0, 60.0), ratio=st.floats(0.3, 0.9))
def test_rotated_footprints_rotate_azimuths(angle, length, ratio):
    width = length * ratio
    geom = affinity.rotate(box(0, 0, length, width), angle, origin=(0, 0))
    f = roof_facets(layer([geom], ["gable"]), latitude_deg=LAT, exclude_azimuth_range=None,
                    min_installable_area_m2=0.0)
    # a counter-clockwise rotation by `angle` turns compass azimuths clockwise by -angle
    got = f["surface_azimuth"].to_numpy()
    assert len(got) == 2
    for expected in (180.0 - angle, -angle):
        assert circ_diff(got, expected).min() < 1e-6
    assert f["roof_area_m2"].sum() * COS25 == pytest.approx(length * width, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(angle=st.floats(-180.0, 180.0), length=st.floats(10.0, 80.0), ratio=st.floats(0.2, 1.0))
def test_hip_plan_area_always_equals_footprint(angle, length, ratio):
    geom = affinity.rotate(box(0, 0, length, length * ratio), angle)
    f = roof_facets(layer([geom], ["hip"]), latitude_deg=LAT, exclude_azimuth_range=None,
                    min_installable_area_m2=0.0)
    assert len(f) == 4
    assert (f["roof_area_m2"] * COS25).sum() == pytest.approx(geom.area, rel=1e-9)
    assert (f["installable_area_m2"] <= f["roof_area_m2"] + 1e-9).all()


# --- flat ---------------------------------------------------------------------------


def test_row_spacing_against_hand_calculation():
    # lat 30: noon sun at the winter solstice 90 - 30 - 23.44 = 36.56 deg, tan = 0.74158
    # L = 2 m, tilt 20: 2 cos20 + 2 sin20 / 0.74158 = 1.87939 + 0.92240 = 2.80179 m
    pitch, gcr = row_spacing(20.0, 30.0, row_depth_m=2.0, solar_window_h=(12.0, 12.0))  # noon rule
    assert pitch == pytest.approx(2.80179, abs=2e-5)
    assert gcr == pytest.approx(2.0 / 2.80179, abs=1e-5)
    assert row_spacing(0.0, 30.0) == (1.0, 1.0)
    assert row_spacing(20.0, 30.0)[1] < gcr  # 9-15 h needs wider rows than noon
    with pytest.raises(ConfigError, match="latitude"):
        row_spacing(20.0, 70.0)


def test_flat_roof_setback_obstacles_and_gcr():
    f = roof_facets(layer([box(0, 0, 30, 20)], ["flat"], heights=[24.0]), latitude_deg=LAT,
                    row_window_h=(12.0, 12.0))
    row = f.iloc[0]
    gcr = 1.0 / 2.80179 * 2.0
    assert row["roof_area_m2"] == pytest.approx(600.0)
    assert row["installable_area_m2"] == pytest.approx(28 * 18 * 0.85)
    assert row["ground_coverage_ratio"] == pytest.approx(gcr, abs=1e-5)
    assert row["module_area_m2"] == pytest.approx(28 * 18 * 0.85 * gcr, rel=1e-5)
    assert row["pdc0_kw"] == pytest.approx(0.2 * 28 * 18 * 0.85 * gcr, rel=1e-5)
    assert (row["surface_tilt"], row["surface_azimuth"]) == (20.0, 180.0)
    assert row["height_m"] == 24.0
    assert (row["x_m"], row["y_m"]) == (15.0, 10.0)


def test_unknown_roof_is_flat_and_flagged():
    f = roof_facets(layer([box(0, 0, 30, 20), box(50, 0, 80, 20)], ["unknown", "flat"]),
                    latitude_deg=LAT)
    assert list(f["roof_type"]) == ["flat", "flat"]
    assert list(f["roof_type_defaulted"]) == [True, False]


def test_missing_roof_type_column_means_unknown():
    b = layer([box(0, 0, 30, 20)], ["flat"]).drop(columns="roof_type")
    f = roof_facets(b, latitude_deg=LAT)
    assert bool(f["roof_type_defaulted"].iloc[0])


def test_latitude_defaults_to_the_layer_centre():
    b = layer([box(500_000, 3_350_000, 500_030, 3_350_020)], ["flat"])  # ~30.27 N on CM 120E
    f = roof_facets(b)
    assert f["ground_coverage_ratio"].iloc[0] == pytest.approx(row_spacing(20.0, 30.27)[1],
                                                               abs=1e-3)


# --- heights, exclusions, validation -----------------------------------------------


def test_missing_heights_are_defaulted_and_flagged_never_dropped():
    b = layer([box(0, 0, 30, 20), box(50, 0, 80, 20), box(100, 0, 130, 20)],
              ["flat"] * 3, heights=[np.nan, np.nan, 12.0], floors=[5, np.nan, 4])
    f = roof_facets(b, latitude_deg=LAT)
    assert list(f["building_id"]) == ["b0", "b1", "b2"]
    assert list(f["height_m"]) == [15.0, 10.0, 12.0]
    assert list(f["height_defaulted"]) == [True, True, False]


def test_small_facets_are_excluded_or_kept_with_a_reason():
    b = layer([box(0, 0, 5, 4), box(50, 0, 70, 10)], ["gable", "gable"])
    f = roof_facets(b, latitude_deg=LAT)
    assert list(f["building_id"]) == ["b1"]
    k = roof_facets(b, latitude_deg=LAT, keep_excluded=True)
    assert list(k["exclusion_reason"]) == ["too_small", "north_facing", "", "north_facing"]
    assert (k.loc[k["exclusion_reason"] != "", ["installable_area_m2", "pdc0_kw"]] == 0).all(
        axis=None)


def test_columns_dtypes_and_multipolygon():
    mp = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    f = roof_facets(layer([mp, box(50, 0, 70, 10)], ["flat", "hip"]), latitude_deg=LAT)
    assert tuple(f.columns) == FACET_COLUMNS
    assert f["facet_id"].is_unique
    assert f["roof_area_m2"].iloc[0] == pytest.approx(200.0)
    assert f["installable_area_m2"].iloc[0] == pytest.approx(2 * 8 * 8 * 0.85)


def test_empty_layer_gives_empty_frame():
    b = gpd.GeoDataFrame({"building_id": [], "height_m": []}, geometry=[], crs=4549)
    f = roof_facets(b, latitude_deg=LAT)
    assert len(f) == 0 and tuple(f.columns) == FACET_COLUMNS


def test_geographic_or_missing_crs_is_refused():
    b = layer([box(0, 0, 20, 10)], ["flat"])
    with pytest.raises(SchemaError, match="geographic CRS"):
        roof_facets(b.set_crs(4326, allow_override=True))
    with pytest.raises(SchemaError, match="no CRS"):
        roof_facets(b.set_crs(None, allow_override=True))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda b: b.assign(roof_type=["dome"]), "roof_type"),
        (lambda b: b.assign(height_m=[-1.0]), "negative"),
        (lambda b: b.drop(columns="height_m"), "height_m"),
        (lambda b: b.set_geometry([None], crs=4549), "geometry"),
    ],
)
def test_bad_buildings_raise_schema_error(change, match):
    with pytest.raises(SchemaError, match=match):
        roof_facets(change(layer([box(0, 0, 20, 10)], ["flat"])), latitude_deg=LAT)


def test_duplicate_ids_and_bad_params():
    b = layer([box(0, 0, 20, 10), box(30, 0, 50, 10)], ["flat", "flat"]).assign(
        building_id=["x", "x"])
    with pytest.raises(SchemaError, match="not unique"):
        roof_facets(b, latitude_deg=LAT)
    with pytest.raises(ConfigError, match="obstacle_fraction"):
        roof_facets(layer([box(0, 0, 20, 10)], ["flat"]), obstacle_fraction=1.5)


def test_real_osm_sample_invariants():
    path = Path(__file__).parents[3] / "data/real/buildings/hangzhou_hubin_osm_buildings_sample.geojson"
    raw = gpd.read_file(path).to_crs(4549)
    rng = np.random.default_rng(0)
    b = gpd.GeoDataFrame({
        "building_id": raw["bid"].astype(str),
        "height_m": raw["height_m_published"],
        "roof_type": rng.choice(["flat", "gable", "hip", "unknown"], len(raw)),
    }, geometry=raw.geometry.values, crs=4549)
    f = roof_facets(b, keep_excluded=True)
    assert set(f["building_id"]) == set(b["building_id"])  # no building silently lost
    assert f["facet_id"].is_unique
    num = f[["surface_tilt", "surface_azimuth", "roof_area_m2", "installable_area_m2",
             "module_area_m2", "pdc0_kw", "height_m", "x_m", "y_m"]]
    assert np.isfinite(num.to_numpy()).all()
    assert (f["installable_area_m2"] <= f["roof_area_m2"] + 1e-6).all()
    assert f["surface_azimuth"].between(0, 360, inclusive="left").all()
    minx, miny, maxx, maxy = b.total_bounds
    assert f["x_m"].between(minx, maxx).all() and f["y_m"].between(miny, maxy).all()


def test_heights_the_layer_marks_as_defaulted_stay_flagged():
    # an import stores its default height (10 m) with height_defaulted = True: PV keeps the flag
    b = layer([box(0, 0, 30, 20), box(50, 0, 80, 20), box(100, 0, 130, 20)], ["flat"] * 3,
              heights=[10.0, 10.0, np.nan], height_defaulted=[True, False, None])
    f = roof_facets(b, latitude_deg=LAT)
    assert list(f["height_m"]) == [10.0, 10.0, 10.0]
    assert list(f["height_defaulted"]) == [True, False, True]


def test_osm_defaulted_heights_are_flagged_in_the_facets(tmp_path):
    from layers.io.osm import read_osm
    from tests.layers.io.osm_fixture import write_huzhou_pbf

    blds = read_osm(write_huzhou_pbf(tmp_path / "t.osm.pbf"), ["buildings"]).frames["buildings"]
    f = roof_facets(blds.to_crs(4549), latitude_deg=LAT)
    flag = f.groupby("building_id")["height_defaulted"].any()
    # w3 has neither height nor building:levels (10 m default); w1 height=24, w2 6 levels
    assert bool(flag["osm-w3"])
    assert not flag["osm-w1"] and not flag["osm-w2"]


@settings(max_examples=200, deadline=None)
@example(L=12.5, W_share=0.90234375, pitch=34.0, setback=2.65625)  # GEOS sliver, exact 0 (CI)
@given(L=st.floats(0.5, 80.0), W_share=st.floats(0.02, 1.0), pitch=st.floats(0.0, 60.0),
       setback=st.one_of(st.just(0.0), st.floats(0.01, 3.0)))
def test_pitched_setback_area_matches_geos_buffer(L, W_share, pitch, setback):
    """The set-back facet areas (numpy) equal GEOS's mitre negative buffer of the facet polygons.

    Setbacks from 1 cm (GEOS returns nothing for a tiny triangle buffered by 1e-306 m). The
    triangle (hip end) is also checked against its exact inset, the similar triangle, which
    collapses at the inradius: there GEOS leaves a sliver (0.0013 m2 of a 51 m2 facet with a
    setback 0.5 % over the inradius), so GEOS is the reference only below 0.99 of it.
    """
    from engines.pv.facets import _inset_trapezoid_area

    W = L * W_share
    cosb = np.cos(np.radians(pitch))
    d = W / (2 * cosb)
    shapes = {"gable": ([(0, 0), (L, 0), (L, d), (0, d)], L, L),
              "hip trapezoid": ([(0, 0), (L, 0), (L - W / 2, d), (W / 2, d)], L, L - W),
              "hip end": ([(0, 0), (W, 0), (W / 2, d), (W / 2, d)], W, 0.0)}
    for name, (ring, eave, ridge) in shapes.items():
        if name == "hip trapezoid" and ridge < 0.1 * setback:
            continue  # GEOS simplifies such a ridge away; roof_facets asks GEOS for these
        got = _inset_trapezoid_area(np.array([eave]), np.array([ridge]), np.array([d]), setback)[0]
        assert 0.0 <= got <= eave * d + 1e-9  # never more than the facet
        if name == "hip end":
            # exact: the inset triangle is similar, scaled by 1 - setback / inradius
            area = W * d / 2
            r = area / ((W + 2 * np.hypot(W / 2, d)) / 2)
            assert got == pytest.approx(area * max(0.0, 1 - setback / r) ** 2, rel=1e-9, abs=1e-9)
            if setback > 0.99 * r:
                continue  # GEOS leaves a sliver (up to 2.5e-5 of the area) where it collapses
        want = shapely.area(shapely.buffer(shapely.Polygon(ring), -setback, join_style="mitre"))
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), name


def test_pitched_setback_area_known_values():
    """A 20 x 10 m gable facet loses 0.5 m on each edge; a zero setback keeps the facet."""
    from engines.pv.facets import _inset_trapezoid_area

    one = np.array([1.0])
    assert _inset_trapezoid_area(20 * one, 20 * one, 10 * one, 0.5)[0] == pytest.approx(19 * 9)
    # triangle of base 8, height 4 (sides at 45 deg): area 16 without setback
    assert _inset_trapezoid_area(8 * one, 0 * one, 4 * one, 0.0)[0] == pytest.approx(16.0)
    # too narrow for the setback: nothing left
    assert _inset_trapezoid_area(0.8 * one, 0.8 * one, 10 * one, 0.5)[0] == 0.0
