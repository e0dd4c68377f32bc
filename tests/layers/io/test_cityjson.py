"""CityJSON export/import of buildings: closed outward solids, volumes, cjio, round trips, errors."""

import copy
import importlib.util
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box

from layers.io.cityjson import (
    SCALE,
    buildings_to_cityjson,
    cityjson_to_buildings,
    read_cityjson,
    write_cityjson,
)
from twin.errors import CRSWarning, SchemaError, SourceError
from twin.schema import LAYERS

SPEC = LAYERS["buildings"]
CJIO = Path(sys.executable).parent / "cjio"
X0, Y0 = 500_000.0, 3_350_000.0  # EPSG:4549, Hangzhou
PITCH = math.radians(25.0)


def _footprints():
    return {
        "rect": box(X0, Y0, X0 + 20, Y0 + 10),
        "L": Polygon([(X0 + 30, Y0), (X0 + 50, Y0), (X0 + 50, Y0 + 8), (X0 + 38, Y0 + 8),
                      (X0 + 38, Y0 + 20), (X0 + 30, Y0 + 20)]),
        "hole": Polygon(box(X0 + 60, Y0, X0 + 80, Y0 + 20).exterior.coords,
                        [box(X0 + 65, Y0 + 5, X0 + 75, Y0 + 15).exterior.coords]),
        "multi": MultiPolygon([box(X0 + 90, Y0, X0 + 95, Y0 + 5),
                               box(X0 + 100, Y0, X0 + 110, Y0 + 6)]),
        "gable": affinity.rotate(box(X0 + 120, Y0, X0 + 132, Y0 + 8), 30),
        "hip": affinity.rotate(box(X0 + 140, Y0, X0 + 152.5, Y0 + 8.25), -20),
        "gable_L": Polygon([(X0 + 160, Y0), (X0 + 180, Y0), (X0 + 180, Y0 + 8),
                            (X0 + 168, Y0 + 8), (X0 + 168, Y0 + 20), (X0 + 160, Y0 + 20)]),
        "hip_sq": box(X0 + 190, Y0, X0 + 200, Y0 + 10),
    }


def _frame():
    """A buildings layer with every schema column in its declared dtype."""
    fp = _footprints()
    n = len(fp)
    roof = {"rect": "flat", "L": "flat", "hole": "flat", "multi": "unknown", "gable": "gable",
            "hip": "hip", "gable_L": "gable", "hip_sq": "hip"}
    data = {
        "building_id": pd.Series(list(fp), dtype="str"),
        "height_m": [10.0, 12.0, 15.5, 6.0, 8.0, 9.0, 7.0, 6.5],
        "name": pd.Series(["西湖大厦", "", "Courtyard", "", "", "", "", ""], dtype="str"),
        "floors": np.array([3, 4, 5, 2, 2, 3, 2, 2], dtype="int64"),
        "use_class": pd.Series(["residential", "office", "public", "industrial", "rural_residential",
                                "residential", "other", "warehouse"], dtype="str"),
        "roof_type": pd.Series([roof[k] for k in fp], dtype="str"),
        "year_built": np.array([2000, 0, 1990, 2010, 1980, 1985, 0, 2021], dtype="int64"),
        "gross_floor_area_m2": np.linspace(100.0, 800.0, n),
        "footprint_area_m2": [g.area for g in fp.values()],
        "district_adcode": pd.Series(["330105"] * n, dtype="str"),
        "township_code": pd.Series([""] * n, dtype="str"),
        "height_source": pd.Series(["observed"] * 4 + ["estimated"] * 4, dtype="str"),
        "cim_level": np.array([2, 2, 2, 2, 3, 3, 3, 3], dtype="int64"),
        "is_new_build": np.array([False] * 7 + [True]),
        "height_defaulted": np.array([False] * 7 + [True]),
        "is_public_institution": np.array([False, False, True] + [False] * 5),
        "is_synthetic": np.array([False] * n),
        "source": pd.Series(["test fixture"] * n, dtype="str"),
    }
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=list(fp.values()), crs="EPSG:4549")


@pytest.fixture(scope="module")
def frame():
    return _frame()


@pytest.fixture(scope="module")
def doc(frame):
    return buildings_to_cityjson(frame, title="carbon-twin test 杭州")


# --- helpers: geometry checks done independently of the module ------------------------


def _vertices(doc):
    v = np.asarray(doc["vertices"], dtype=float)
    return v * np.asarray(doc["transform"]["scale"])  # local coordinates (translate omitted)


def _shells(geom):
    """Outer shells (lists of faces) and their semantic values."""
    if geom["type"] == "Solid":
        return [(geom["boundaries"][0], geom["semantics"]["values"][0])]
    return [(solid[0], geom["semantics"]["values"][i][0])
            for i, solid in enumerate(geom["boundaries"])]


def _vector_area(ring, v):
    p = v[ring]
    return 0.5 * np.cross(p, np.roll(p, -1, axis=0)).sum(axis=0)


def _check_closed(shell):
    """Every directed edge once, and its reverse once."""
    edges = Counter()
    for face in shell:
        for ring in face:
            assert len(set(ring)) == len(ring) >= 3, f"degenerate ring {ring}"
            for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                edges[(a, b)] += 1
    for (a, b), n in edges.items():
        assert n == 1, f"edge {a}->{b} used {n} times in the same direction"
        assert edges.get((b, a)) == 1, f"edge {a}->{b} has no opposite partner"


def _volume(shell, v):
    """Signed volume by the divergence theorem: sum over faces of (p0 . A) / 3."""
    center = v[[i for face in shell for ring in face for i in ring]].mean(axis=0)
    w = v - center
    return sum(float(w[ring[0]] @ _vector_area(ring, w)) / 3.0 for face in shell for ring in face)


def _check_normals(shell, values, v, surfaces, vertical_walls=True):
    for face, val in zip(shell, values, strict=True):
        area = sum(_vector_area(ring, v) for ring in face)
        n = area / np.linalg.norm(area)
        kind = surfaces[val]["type"]
        if kind == "GroundSurface":
            assert n[2] < -0.999
        elif kind == "RoofSurface":
            assert n[2] > 0.3
        elif vertical_walls:
            assert abs(n[2]) < 1e-3


def _rect_dims(poly):
    rect = shapely.oriented_envelope(poly)
    c = np.asarray(rect.exterior.coords)
    sides = sorted([np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[2] - c[1])])
    return sides[1], sides[0]  # length, width


def _lod2_volume(length, width, height, roof):
    rise = min(width / 2 * math.tan(PITCH), height / 2)
    box_v = length * width * (height - rise)
    if roof == "gable":
        return box_v + length * width * rise / 2
    return box_v + width * rise * (length - width) / 2 + width * width * rise / 3


def _check_building(doc, bid, footprint, height, roof, expect_lod2):
    v = _vertices(doc)
    obj = doc["CityObjects"][bid]
    lods = {g["lod"]: g for g in obj["geometry"]}
    assert set(lods) == ({"1", "2"} if expect_lod2 else {"1"})
    snapped = shapely.set_precision(footprint, SCALE)
    height = round(height / SCALE) * SCALE  # heights are snapped to the 1 mm grid too
    lod1 = lods["1"]
    assert lod1["type"] == ("MultiSolid" if isinstance(footprint, MultiPolygon) else "Solid")
    total = 0.0
    for shell, values in _shells(lod1):
        _check_closed(shell)
        _check_normals(shell, values, v, lod1["semantics"]["surfaces"])
        vol = _volume(shell, v)
        assert vol > 0
        total += vol
    assert total == pytest.approx(snapped.area * height, rel=1e-9)
    if expect_lod2:
        lod2 = lods["2"]
        [(shell, values)] = _shells(lod2)
        _check_closed(shell)
        _check_normals(shell, values, v, lod2["semantics"]["surfaces"])
        length, width = _rect_dims(snapped)
        assert _volume(shell, v) == pytest.approx(_lod2_volume(length, width, height, roof),
                                                  rel=1e-3)
        kinds = Counter(lod2["semantics"]["surfaces"][i]["type"] for i in values)
        assert kinds["GroundSurface"] == 1
        if roof == "gable":
            assert kinds["RoofSurface"] == 2 and kinds["WallSurface"] == 4
            assert sorted(len(face[0]) for face, i in zip(shell, values, strict=True)
                          if i == 1) == [4, 4, 5, 5]
        else:
            assert kinds["RoofSurface"] == 4 and kinds["WallSurface"] == 4


# --- (1) closed, outward solids with the right volumes --------------------------------


def test_document_structure(doc, frame):
    assert doc["type"] == "CityJSON" and doc["version"] == "2.0"
    assert doc["transform"]["scale"] == [0.001, 0.001, 0.001]
    assert doc["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/4549"
    assert doc["metadata"]["title"] == "carbon-twin test 杭州"
    assert list(doc["CityObjects"]) == list(frame["building_id"])
    assert all(o["type"] == "Building" for o in doc["CityObjects"].values())
    verts = doc["vertices"]
    assert all(isinstance(c, int) for p in verts for c in p)
    assert len({tuple(p) for p in verts}) == len(verts)  # deduplicated
    used = {i for o in doc["CityObjects"].values() for g in o["geometry"]
            for s in g["boundaries"] for i in _flatten(s)}
    assert used == set(range(len(verts)))  # no orphans
    json.dumps(doc, allow_nan=False)  # JSON-safe


def _flatten(x):
    if isinstance(x, int):
        yield x
    else:
        for y in x:
            yield from _flatten(y)


@pytest.mark.parametrize(
    ("bid", "lod2"),
    [("rect", False), ("L", False), ("hole", False), ("multi", False), ("gable", True),
     ("hip", True), ("gable_L", False), ("hip_sq", True)],
)
def test_solids_closed_outward_and_volume(doc, frame, bid, lod2):
    row = frame.set_index("building_id").loc[bid]
    _check_building(doc, bid, row.geometry, row["height_m"], row["roof_type"], lod2)


def test_hole_walls_and_multisolid(doc):
    hole = doc["CityObjects"]["hole"]["geometry"][0]
    [(shell, _)] = _shells(hole)
    assert len(shell) == 2 + 4 + 4  # floor, roof, outer walls, courtyard walls
    assert [len(f) for f in shell[:2]] == [2, 2]  # floor and roof have the hole ring
    multi = doc["CityObjects"]["multi"]["geometry"][0]
    assert multi["type"] == "MultiSolid" and len(multi["boundaries"]) == 2


def test_gable_ridge_along_long_axis(doc, frame):
    v = _vertices(doc)
    [(shell, _)] = _shells(doc["CityObjects"]["gable"]["geometry"][1])
    ids = {i for face in shell for ring in face for i in ring}
    top = [i for i in ids if abs(v[i, 2] - 8.0) < 1e-6]
    assert len(top) == 2
    ridge = v[top[1], :2] - v[top[0], :2]
    assert np.linalg.norm(ridge) == pytest.approx(12.0, abs=2e-3)  # the long side
    angle = math.degrees(math.atan2(ridge[1], ridge[0])) % 180
    assert angle == pytest.approx(30.0, abs=0.05)
    eaves = {round(v[i, 2], 3) for i in ids} - {0.0, 8.0}
    assert eaves == {round(8.0 - 4.0 * math.tan(PITCH), 3)}


def test_lod2_rise_capped_and_options():
    low = gpd.GeoDataFrame({"building_id": ["shed"], "height_m": [3.0], "roof_type": ["gable"]},
                           geometry=[box(X0, Y0, X0 + 30, Y0 + 20)], crs="EPSG:4549")
    d = buildings_to_cityjson(low)
    _check_building(d, "shed", low.geometry.iloc[0], 3.0, "gable", True)
    v = _vertices(d)
    zs = {round(float(v[i, 2]), 3) for i in _flatten(d["CityObjects"]["shed"]["geometry"][1]
                                                     ["boundaries"])}
    assert zs == {0.0, 1.5, 3.0}  # rise capped at half the height
    assert [g["lod"] for g in buildings_to_cityjson(low, lod2=False)["CityObjects"]["shed"]
            ["geometry"]] == ["1"]
    holed = low.copy()
    holed.geometry = [Polygon(box(X0, Y0, X0 + 30, Y0 + 20).exterior.coords,
                              [box(X0 + 14, Y0 + 9, X0 + 15, Y0 + 10).exterior.coords])]
    assert len(buildings_to_cityjson(holed)["CityObjects"]["shed"]["geometry"]) == 1


rect_strategy = st.fixed_dictionaries({
    "cx": st.floats(400_000, 600_000), "cy": st.floats(3_300_000, 3_450_000),
    "length": st.floats(3.0, 80.0), "width": st.floats(3.0, 40.0),
    "angle": st.floats(0.0, 180.0), "height": st.floats(2.5, 150.0),
    "roof": st.sampled_from(["flat", "gable", "hip"]),
})


@settings(max_examples=40, deadline=None)
@given(rect_strategy)
def test_random_rectangles_closed_with_right_volume(r):
    poly = affinity.rotate(box(r["cx"] - r["length"] / 2, r["cy"] - r["width"] / 2,
                               r["cx"] + r["length"] / 2, r["cy"] + r["width"] / 2), r["angle"])
    gdf = gpd.GeoDataFrame({"building_id": ["b"], "height_m": [r["height"]],
                            "roof_type": [r["roof"]]}, geometry=[poly], crs="EPSG:4549")
    d = buildings_to_cityjson(gdf)
    _check_building(d, "b", poly, r["height"], r["roof"], r["roof"] != "flat")


# --- (2) cjio reads the files ---------------------------------------------------------


def _cjio(*args):
    return subprocess.run([str(CJIO), *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def city_file(frame, tmp_path_factory):
    return write_cityjson(frame, tmp_path_factory.mktemp("cj") / "b.city.json", title="测试")


def test_cjio_info(city_file, frame):
    res = _cjio(city_file, "info", "--long")
    assert res.returncode == 0, res.stderr
    assert f"Building ({len(frame)})" in res.stdout
    assert "EPSG = 4549" in res.stdout
    assert "CityJSON version = 2.0" in res.stdout
    assert "'MultiSolid', 'Solid'" in res.stdout and "'1', '2'" in res.stdout


def test_cjio_rewrites_and_we_read_back(city_file, tmp_path):
    out = tmp_path / "subset.city.json"
    res = _cjio(city_file, "vertices_clean", "subset", "--id", "multi", "--id", "hip",
                "lod_filter", "1", "save", out)
    assert res.returncode == 0, res.stderr
    back = read_cityjson(out).set_index("building_id")
    assert sorted(back.index) == ["hip", "multi"]
    fp = _footprints()
    for bid in back.index:
        assert shapely.hausdorff_distance(back.loc[bid].geometry, fp[bid]) < 1e-3


def test_cjio_validate(city_file):
    if importlib.util.find_spec("cjvalpy") is None:
        pytest.skip("cjio validate needs cjvalpy, which has no installable release here")
    res = _cjio(city_file, "validate")
    assert res.returncode == 0 and "is valid" in res.stdout.lower(), res.stdout


# --- (3) round trips ------------------------------------------------------------------


def _assert_same_buildings(back, frame):
    assert list(back["building_id"]) == list(frame["building_id"])
    for a, b in zip(back.geometry, frame.geometry, strict=True):
        assert a.geom_type == b.geom_type
        assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=1e-3)
        assert shapely.hausdorff_distance(a, b) < 1e-3  # within 1 mm
        assert a.symmetric_difference(b).area < b.length * 1e-3
    pd.testing.assert_frame_equal(
        pd.DataFrame(back[list(SPEC.columns)]), pd.DataFrame(frame[list(SPEC.columns)]),
        check_exact=False, atol=1e-6,
    )


def test_round_trip_in_memory(doc, frame):
    back = cityjson_to_buildings(doc)
    assert back.crs.to_epsg() == 4549
    _assert_same_buildings(back, frame)
    assert list(back.columns) == [*SPEC.columns, "geometry"]


def test_round_trip_file_utf8(city_file, frame):
    raw = city_file.read_bytes()
    assert "西湖大厦".encode() in raw and b"\\u" not in raw
    back = read_cityjson(city_file)
    _assert_same_buildings(back, frame)


def test_lod2_only_document(doc, frame):
    d = copy.deepcopy(doc)
    for obj in d["CityObjects"].values():
        if len(obj["geometry"]) == 2:
            obj["geometry"] = obj["geometry"][1:]
    back = cityjson_to_buildings(d).set_index("building_id")
    assert back.loc["gable", "height_m"] == pytest.approx(8.0)
    rect = shapely.oriented_envelope(frame.set_index("building_id").loc["gable"].geometry)
    assert back.loc["gable"].geometry.symmetric_difference(rect).area < 1e-2


def test_foreign_document_with_parts_and_no_semantics():
    # Building with two BuildingParts (MultiSurface, no semantics, lod 1.2), URN CRS
    verts = [[0, 0, 0], [4000, 0, 0], [4000, 3000, 0], [0, 3000, 0],
             [0, 0, 9000], [4000, 0, 9000], [4000, 3000, 9000], [0, 3000, 9000],
             [4000, 0, 0], [6000, 0, 0], [6000, 3000, 0], [4000, 3000, 0]]

    def box_faces(a, b, c, d, top):
        return [[[a, d, c, b]], [[top[0], top[1], top[2], top[3]]]]

    d = {
        "type": "CityJSON", "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [X0, Y0, 5.0]},
        "metadata": {"referenceSystem": "urn:ogc:def:crs:EPSG::4549", "title": "foreign"},
        "CityObjects": {
            "B1": {"type": "Building", "children": ["P1", "P2"],
                   "attributes": {"roofType": "flat", "floors": 3}},
            "P1": {"type": "BuildingPart", "parents": ["B1"], "geometry": [
                {"type": "MultiSurface", "lod": "1.2", "boundaries": box_faces(0, 1, 2, 3, [4, 5, 6, 7])}]},
            "P2": {"type": "BuildingPart", "parents": ["B1"], "geometry": [
                {"type": "MultiSurface", "lod": "1.2", "boundaries": box_faces(8, 9, 10, 11, [4, 5, 6, 7])}]},
            "T1": {"type": "SolitaryVegetationObject"},
        },
        "vertices": verts,
    }
    back = cityjson_to_buildings(d)
    assert list(back["building_id"]) == ["B1"]
    row = back.iloc[0]
    assert row.geometry.area == pytest.approx(18.0)
    assert row.geometry.equals(box(X0, Y0, X0 + 6, Y0 + 3))
    assert row["height_m"] == pytest.approx(9.0)
    assert row["floors"] == 3 and row["roof_type"] == "unknown" and row["use_class"] == "other"
    assert row["source"] == "CityJSON foreign" and row["roofType"] == "flat"
    assert back["cim_level"].dtype == "Int64" and pd.isna(row["cim_level"])
    assert back["floors"].dtype == "int64" and back["name"].dtype == "str"


# --- (4) bad input --------------------------------------------------------------------


def test_export_refuses_bad_frames(frame):
    with pytest.raises(SchemaError, match="geographic CRS"):
        buildings_to_cityjson(frame.to_crs("EPSG:4326"))
    with pytest.raises(SchemaError, match="no CRS"):
        buildings_to_cityjson(frame.set_crs(None, allow_override=True))
    with pytest.raises(SchemaError, match="GeoDataFrame"):
        buildings_to_cityjson(pd.DataFrame(frame.drop(columns="geometry")))
    with pytest.raises(SchemaError, match="height_m"):
        buildings_to_cityjson(frame.drop(columns="height_m"))
    dup = frame.copy()
    dup.loc[1, "building_id"] = "rect"
    with pytest.raises(SchemaError, match="duplicate building_id rect"):
        buildings_to_cityjson(dup)
    flat = frame.copy()
    flat.loc[2, "height_m"] = 0.0
    flat.loc[3, "height_m"] = np.nan
    with pytest.raises(SchemaError, match=r"hole=0\.0, multi=nan"):
        buildings_to_cityjson(flat)
    bow = frame.copy()
    bow.loc[0, "geometry"] = Polygon([(X0, Y0), (X0 + 5, Y0 + 5), (X0 + 5, Y0), (X0, Y0 + 5)])
    with pytest.raises(SchemaError, match="rect have invalid footprints"):
        buildings_to_cityjson(bow)
    pts = frame.copy()
    pts.loc[1, "geometry"] = shapely.Point(X0, Y0)
    with pytest.raises(SchemaError, match="L have no Polygon"):
        buildings_to_cityjson(pts)


def test_import_refuses_bad_documents(doc):
    with pytest.raises(SchemaError, match="not a CityJSON document.*FeatureCollection"):
        cityjson_to_buildings({"type": "FeatureCollection", "features": []})
    old = dict(doc, version="1.1")
    with pytest.raises(SchemaError, match="version '1.1'.*cjio FILE upgrade"):
        cityjson_to_buildings(old)
    roads = dict(doc, CityObjects={"r1": {"type": "Road"}})
    with pytest.raises(SchemaError, match="no Building objects.*Road"):
        cityjson_to_buildings(roads)
    cut = dict(doc, vertices=doc["vertices"][:10])
    with pytest.raises(SchemaError, match="object 'L' references vertex index .* numbered 0..9"):
        cityjson_to_buildings(cut)
    nocrs = dict(doc, metadata={})
    with pytest.raises(SchemaError, match="no metadata.referenceSystem; pass crs="):
        cityjson_to_buildings(nocrs)
    assert cityjson_to_buildings(nocrs, crs="EPSG:4549").crs.to_epsg() == 4549
    with pytest.warns(CRSWarning, match="EPSG:4549"):
        cityjson_to_buildings(doc, crs="EPSG:32651")
    bad_cat = copy.deepcopy(doc)
    bad_cat["CityObjects"]["hip"]["attributes"]["use_class"] = "castle"
    with pytest.raises(SchemaError, match="hip='castle'"):
        cityjson_to_buildings(bad_cat)
    bad_range = copy.deepcopy(doc)
    bad_range["CityObjects"]["rect"]["attributes"]["floors"] = 900
    with pytest.raises(SchemaError, match="floors.*rect=900"):
        cityjson_to_buildings(bad_range)
    nogeom = copy.deepcopy(doc)
    del nogeom["CityObjects"]["gable"]["geometry"]
    with pytest.raises(SchemaError, match="Building 'gable' has no geometry"):
        cityjson_to_buildings(nogeom)


def test_read_refuses_bad_files(tmp_path, city_file):
    empty = tmp_path / "empty.city.json"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty.city.json.*empty"):
        read_cityjson(empty)
    text = city_file.read_text(encoding="utf-8")
    cut = tmp_path / "cut.city.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(SourceError, match="cut.city.json.*truncated"):
        read_cityjson(cut)
    gbk = tmp_path / "gbk.city.json"
    gbk.write_bytes(text.encode("gbk"))
    with pytest.raises(SourceError, match="gbk.city.json: not UTF-8"):
        read_cityjson(gbk)
    seq = tmp_path / "seq.city.jsonl"
    seq.write_text('{"type": "CityJSON"}\n{"type": "CityJSONFeature"}\n', encoding="utf-8")
    with pytest.raises(SourceError, match="CityJSONSeq"):
        read_cityjson(seq)
    with pytest.raises(SourceError, match="missing.city.json"):
        read_cityjson(tmp_path / "missing.city.json")
    notcj = tmp_path / "fc.json"
    notcj.write_text('{"type": "FeatureCollection"}', encoding="utf-8")
    with pytest.raises(SchemaError, match="fc.json: not a CityJSON document"):
        read_cityjson(notcj)


def test_checks_catch_broken_solids(doc):
    # the closedness and volume checks above must be able to fail
    [(shell, _)] = _shells(doc["CityObjects"]["rect"]["geometry"][0])
    flipped = copy.deepcopy(shell)
    flipped[3][0].reverse()
    with pytest.raises(AssertionError, match="opposite partner|same direction"):
        _check_closed(flipped)
    with pytest.raises(AssertionError):
        _check_closed(shell[:-1])  # a missing wall leaves an open edge
    inside_out = [[list(reversed(r)) for r in face] for face in shell]
    _check_closed(inside_out)
    assert _volume(inside_out, _vertices(doc)) < 0
