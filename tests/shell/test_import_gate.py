"""The import gate: every bad input of issue 16 is one clear error and the twin is unchanged.

Each bad file is built here, small, in its real format (GeoJSON, GeoPackage, Shapefile,
CityJSON, GeoTIFF), imported into a copy of the built Huzhou twin, and the error text and
the unchanged catalog are checked. Two real processes importing at once both succeed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_bounds

from tests.conftest import REPO, make_buildings
from twin.errors import SchemaError, SourceError, TwinError
from twin.store import TwinStore

CITY = "huzhou"


@pytest.fixture
def home(twin_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(twin_home / CITY, home / CITY)
    monkeypatch.setenv("TWIN_HOME", str(home))
    return home


@pytest.fixture
def store(home):
    return TwinStore(CITY, home)


def _state(store: TwinStore):
    """What an import changes: the layer and raster registries and the metadata."""
    return (store.layers()[["name", "path", "n_rows"]].to_dict("records"),
            store.rasters()[["name", "path"]].to_dict("records"), store.meta())


def _in_huzhou(store: TwinStore, n: int = 3, **kw) -> gpd.GeoDataFrame:
    """n small buildings inside district 330502 (Wuxing), EPSG:4549."""
    b = make_buildings(n, **kw)
    bnd = store.read_layer("boundaries")
    x, y = bnd.loc[bnd["adcode"] == "330502"].geometry.iloc[0].representative_point().coords[0]
    return b.set_geometry(b.geometry.translate(x - b.total_bounds[0], y - b.total_bounds[1]))


def _refused(store, path, match, layer="buildings", error=TwinError, **kw):
    from shell.importer import import_layer

    before = _state(store)
    with pytest.raises(error, match=match) as err:
        import_layer(CITY, layer, path, **kw)
    text = str(err.value)
    assert str(path) in text and "\n" not in text  # one line that names the file
    assert _state(store) == before  # all or nothing
    return text


def _ok(store, path, layer="buildings", **kw):
    from shell.importer import import_layer

    return import_layer(CITY, layer, path, **kw)


# -- where and in which CRS --------------------------------------------------------------
def test_buildings_of_another_city_are_refused(store, tmp_path):
    b = make_buildings(3).set_crs(None, allow_override=True)
    b = b.set_geometry(b.geometry.translate(116.40 - b.total_bounds[0], 39.90 - b.total_bounds[1])
                       .scale(1e-5, 1e-5, origin=(116.40, 39.90))).set_crs(4326)  # Beijing, lon/lat
    path = tmp_path / "beijing.geojson"
    b.to_file(path)
    text = _refused(store, path, r"only 0 of 3 features \(0%\) lie in huzhou")
    assert "another place or its CRS is wrong" in text and "lon 116.4" in text


def test_degrees_labelled_as_metres_and_the_reverse(store, tmp_path):
    b = _in_huzhou(store).to_crs(4326)
    lonlat_as_4549 = b.set_crs(4549, allow_override=True)
    path = tmp_path / "lonlat_as_4549.gpkg"
    lonlat_as_4549.to_file(path)
    _refused(store, path, r"lon/lat degrees, but the file declares EPSG:4549 in metres; declare EPSG:4326")
    metres_as_4326 = _in_huzhou(store).set_crs(4326, allow_override=True)
    path = tmp_path / "metres_as_4326.geojson"
    metres_as_4326.to_file(path)
    text = _refused(store, path, r"cannot be degrees, but the file declares EPSG:4326")
    assert "Invalid Coordinate" not in text


def test_a_shifted_cityjson_is_refused_and_crs_is_honoured(store, tmp_path):
    from layers.io.cityjson import write_cityjson

    good = _in_huzhou(store)
    shifted = good.set_geometry(good.geometry.translate(400_000, 0))
    path = tmp_path / "shifted.city.json"
    write_cityjson(shifted, path)
    _refused(store, path, r"lie in huzhou")
    # a CityJSON without referenceSystem takes --crs (it was ignored before)
    path = tmp_path / "nocrs.city.json"
    write_cityjson(good, path)
    doc = json.loads(path.read_text())
    del doc["metadata"]["referenceSystem"]
    path.write_text(json.dumps(doc))
    _refused(store, path, r"no metadata.referenceSystem", error=TwinError)
    report = _ok(store, path, crs="EPSG:4549")
    assert report.n_out == 3


# -- sizes, heights, codes, integers --------------------------------------------------------
@pytest.mark.parametrize(("heights", "match"), [
    ([10.0, 0.0, 12.0], r"height_m below 2 m for b1=0; a height of 0 means unknown"),
    ([10.0, np.inf, 12.0], r"column 'height_m' is infinite in rows b1"),
])
def test_absurd_heights_are_refused(store, tmp_path, heights, match):
    path = tmp_path / "h.gpkg"
    _in_huzhou(store, height_m=heights).to_file(path)
    _refused(store, path, match)


def test_a_district_sized_building_is_refused(store, tmp_path):
    b = _in_huzhou(store)
    x, y = b.geometry.iloc[0].exterior.coords[0]
    b.loc[1, "geometry"] = shapely.box(x - 40_000, y - 40_000, x + 46_000, y + 46_000)  # 7,396 km2
    path = tmp_path / "big.geojson"
    b.to_crs(4326).to_file(path)
    _refused(store, path, r"footprint area above 1 km2 for b1=7\.\d+e\+09 m2; these are not single buildings")


def test_unknown_district_code_and_nan_integers_are_refused(store, tmp_path):
    path = tmp_path / "d.gpkg"
    _in_huzhou(store, district_adcode=["330502", "999999", ""]).to_file(path)
    _refused(store, path, r"district_adcode 999999 \(ids b1\) are not districts of huzhou \(330502, ")
    path = tmp_path / "n.gpkg"
    _in_huzhou(store, year_built=[1990, np.nan, 2001]).to_file(path)
    _refused(store, path, r"integer column 'year_built' is blank/NaN in rows b1; fill those values")


def test_z_coordinates_are_dropped_with_a_note_and_export_to_cityjson(store, tmp_path):
    b = _in_huzhou(store)
    b = b.set_geometry(shapely.force_3d(b.geometry.values, 5.0))
    path = tmp_path / "z.gpkg"
    b.to_file(path)
    report = _ok(store, path)
    assert "Z coordinates of 3 features dropped" in report.summary()
    assert not shapely.has_z(store.read_layer("buildings").geometry.values).any()
    from layers.io.cityjson import write_cityjson

    out = write_cityjson(b, tmp_path / "z.city.json")  # a Z frame exports too (no crash)
    assert len(json.loads(out.read_text())["CityObjects"]) == 3


# -- encodings and GeoPackage layers ---------------------------------------------------------
def test_a_gbk_shapefile_without_cpg_is_read_as_gb18030(store, tmp_path):
    b = _in_huzhou(store, name=["吴兴区大楼", "湖州市政府", "南浔古镇"])
    path = tmp_path / "gbk.shp"
    b.to_file(path, encoding="GBK", engine="pyogrio")
    (tmp_path / "gbk.cpg").unlink()
    report = _ok(store, path)
    assert "text read as GB18030 (no .cpg file)" in report.summary()
    assert sorted(store.read_layer("buildings")["name"]) == sorted(["吴兴区大楼", "湖州市政府", "南浔古镇"])
    assert _ok(store, path, encoding="GBK").n_out == 3
    _refused(store, path, r"text does not decode as UTF-8 .*--encoding", encoding="UTF-8", error=SourceError)
    _refused(store, path, r"unknown text encoding 'klingon'", encoding="klingon", error=SourceError)


def test_geopackage_layers_must_be_named_and_exist(store, tmp_path):
    path = tmp_path / "two.gpkg"
    b = _in_huzhou(store)
    b.to_file(path, layer="buildings")
    b.to_file(path, layer="other")
    _refused(store, path, r"holds 2 layers \('buildings', 'other'\); say which .* --gpkg-layer",
             error=SourceError)
    text = _refused(store, path, r"has no layer 'nope'; its layers are 'buildings', 'other'",
                    gpkg_layer="nope", error=SourceError)
    assert "corrupt" not in text
    assert _ok(store, path, gpkg_layer="other").n_out == 3


def test_boundaries_without_districts_are_refused(store, tmp_path):
    bnd = store.read_layer("boundaries")
    path = tmp_path / "city_only.gpkg"
    bnd.loc[bnd["level"] == "city"].to_file(path)
    _refused(store, path, r"has no district rows", layer="boundaries")


# -- rasters ---------------------------------------------------------------------------------
def _tif(path, arr, bounds, crs, nodata=None):
    arr = np.asarray(arr)
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=arr.dtype, crs=crs, nodata=nodata,
                       transform=from_bounds(*bounds, arr.shape[1], arr.shape[0])) as dst:
        dst.write(arr, 1)
    return path


@pytest.fixture
def city_bounds(store):
    bnd = store.read_layer("boundaries")
    city = bnd.loc[bnd["level"] == "city"]
    return tuple(city.total_bounds), tuple(city.to_crs(4326).total_bounds)


def test_bad_rasters_are_refused(store, tmp_path, city_bounds):
    metric, lonlat = city_bounds
    cx, cy = (lonlat[0] + lonlat[2]) / 2, (lonlat[1] + lonlat[3]) / 2
    grid = np.full((20, 20), 100.0, dtype="float32")
    cases = [
        ("dem", _tif(tmp_path / "beijing.tif", grid, (116.0, 39.6, 116.8, 40.2), "EPSG:4326"),
         r"does not overlap huzhou"),
        ("dem", _tif(tmp_path / "m_as_deg.tif", grid, metric, "EPSG:4326"), r"cannot be degrees"),
        ("dem", _tif(tmp_path / "deg_as_m.tif", grid, lonlat, "EPSG:4549"), r"lon/lat degrees"),
        ("dem", _tif(tmp_path / "nan.tif", np.full((20, 20), np.nan, "float32"), lonlat, "EPSG:4326",
                     nodata=np.nan), r"every cell over the city is nodata or NaN"),
        ("dem", _tif(tmp_path / "nodata.tif", np.full((20, 20), -9999.0, "float32"), lonlat,
                     "EPSG:4326", nodata=-9999.0), r"every cell over the city is nodata or NaN"),
        ("dem", _tif(tmp_path / "nan_undeclared.tif", np.where(np.eye(20) > 0, np.nan, 50.0)
                     .astype("float32"), lonlat, "EPSG:4326"),
         r"20 cells are NaN but the raster declares no nodata value; declare NaN as nodata"),
        ("dem", _tif(tmp_path / "huge.tif", np.where(np.eye(20) > 0, 1e30, 50.0).astype("float32"),
                     lonlat, "EPSG:4326"), r"20 cells hold elevations outside -430..8849 m"),
        ("dem", _tif(tmp_path / "deep.tif", np.full((20, 20), -500.0, "float32"), lonlat, "EPSG:4326"),
         r"elevations outside -430..8849 m \(min -500"),
        ("wind_speed", _tif(tmp_path / "small.tif", grid / 20, (cx - 0.05, cy - 0.05, cx + 0.05, cy + 0.05),
                            "EPSG:4326"), r"covers \d% of huzhou, less than the 50% asked"),
    ]
    for kind, path, match in cases:
        _refused(store, path, match, layer=kind, error=SchemaError, height_m=100)
    good = _tif(tmp_path / "good.tif", grid, lonlat, "EPSG:4326")
    assert _ok(store, good, layer="dem").n_out == 400
    assert store.raster_path("dem")[1]["city_cover_share"] == 1.0


# -- two writers -----------------------------------------------------------------------------
def test_two_processes_importing_at_once_both_succeed_in_turn(store, home, tmp_path):
    b = _in_huzhou(store, 4)
    (tmp_path / "a.gpkg").unlink(missing_ok=True)
    b.to_file(tmp_path / "a.gpkg")
    w = store.read_layer("water").iloc[:3]
    w.to_file(tmp_path / "w.gpkg")
    hold = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from twin.store import TwinStore, _write_lock
        s = TwinStore({CITY!r}, {str(home)!r})
        with _write_lock(s.lock_path, city=s.city_id, timeout_s=5):
            print("locked", flush=True)
            time.sleep(3)
    """)
    env = {**os.environ, "TWIN_HOME": str(home), "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "locked"
    start = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "shell.cli", "import", layer, str(f), "--city", CITY],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for layer, f in (("buildings", tmp_path / "a.gpkg"), ("water", tmp_path / "w.gpkg"))]
    outs = [p.communicate(timeout=300) for p in procs]
    holder.wait(timeout=30)
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "rows kept" in out
    assert time.monotonic() - start > 1.0  # they waited for the lock instead of failing
    assert store.count("buildings") == 4 and store.count("water") == 3  # neither write was lost
    live = {str(p) for p in store.layers()["path"]}
    on_disk = {str(p.relative_to(store.root)) for p in (store.root / "layers").glob("*")}
    assert live == on_disk  # nothing staged was swept, nothing orphaned was left
