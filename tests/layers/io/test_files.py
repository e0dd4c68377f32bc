"""Vector and raster IO: round trips and the unusable-file catalogue."""

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from layers.conform import conform_layer
from layers.io.files import read_raster_window, read_vector, write_vector
from tests.conftest import make_buildings
from twin.errors import SourceError


@pytest.fixture
def conformed():
    out, _ = conform_layer(make_buildings(4, name=["杭州大厦", "", "西湖", "x"]), "buildings")
    return out


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", ".geojson", ".shp"])
def test_round_trip(tmp_path, conformed, suffix):
    path = write_vector(conformed, tmp_path / f"b{suffix}")
    back = read_vector(path)
    assert back.crs.to_epsg() == 4549
    again, report = conform_layer(back, "buildings", file=path.name)
    assert not report.rejected
    key = "building_id"
    assert again[key].tolist() == conformed[key].tolist()
    np.testing.assert_allclose(again["height_m"], conformed["height_m"])
    assert again["name"].tolist() == conformed["name"].tolist()  # UTF-8 text survives
    # Shapefiles rewind rings (clockwise shells), so compare normalised geometries.
    assert again.geometry.normalize().geom_equals_exact(conformed.geometry.normalize(), 1e-6).all()


def test_geoparquet_has_geo_metadata(tmp_path, conformed):
    import pyarrow.parquet as pq

    path = write_vector(conformed, tmp_path / "b.parquet")
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["crs"]["id"]["code"] == 4549


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        read_vector(tmp_path / "nope.gpkg")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.geojson"
    p.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty\.geojson: the file is empty"):
        read_vector(p)


def test_truncated_file(tmp_path, conformed):
    good = write_vector(conformed, tmp_path / "b.geojson")
    bad = tmp_path / "cut.geojson"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(SourceError, match=r"cut\.geojson: cannot be read.*truncated"):
        read_vector(bad)


def test_truncated_parquet(tmp_path, conformed):
    good = write_vector(conformed, tmp_path / "b.parquet")
    bad = tmp_path / "cut.parquet"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(SourceError, match=r"cut\.parquet"):
        read_vector(bad)


def test_non_utf8_text(tmp_path):
    p = tmp_path / "gbk.geojson"
    feature = ('{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4326"}},'
               '"features":[{"type":"Feature","properties":{"building_id":"a","name":"杭州"},'
               '"geometry":{"type":"Point","coordinates":[120.1,30.2]}}]}')
    p.write_bytes(feature.encode("gbk"))
    with pytest.raises(SourceError, match=r"gbk\.geojson.*UTF-8"):
        read_vector(p)


def test_no_crs_needs_the_option(tmp_path, conformed):
    p = tmp_path / "nocrs.shp"
    write_vector(conformed, p)
    p.with_suffix(".prj").unlink()
    with pytest.raises(SourceError, match=r"nocrs\.shp: has no CRS.*--crs"):
        read_vector(p)
    assert read_vector(p, crs="EPSG:4549").crs.to_epsg() == 4549


def test_conflicting_crs_option_is_refused(tmp_path, conformed):
    p = write_vector(conformed, tmp_path / "b.gpkg")
    with pytest.raises(SourceError, match="declares EPSG:4549 but EPSG:4326 was given"):
        read_vector(p, crs=4326)


def test_unknown_suffix(tmp_path):
    p = tmp_path / "b.kml"
    p.write_text("x")
    with pytest.raises(SourceError, match="unknown vector format '.kml'"):
        read_vector(p)


def test_write_is_atomic(tmp_path, conformed, monkeypatch):
    path = write_vector(conformed, tmp_path / "b.parquet")
    before = path.read_bytes()

    def boom(*a, **k):
        msg = "killed"
        raise RuntimeError(msg)

    monkeypatch.setattr(type(conformed), "to_parquet", boom)
    with pytest.raises(RuntimeError):
        write_vector(conformed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b.parquet"]


def test_raster_read_by_window(tmp_path):
    p = tmp_path / "r.tif"
    arr = np.arange(100, dtype="uint8").reshape(10, 10)
    with rasterio.open(p, "w", driver="GTiff", width=10, height=10, count=1, dtype="uint8",
                       crs="EPSG:4549", transform=from_origin(500000, 3400000, 10, 10), nodata=0) as dst:
        dst.write(arr, 1)
    win, transform, crs = read_raster_window(p, (500020, 3399940, 500050, 3399980))
    assert win.shape == (4, 3)
    assert win[0, 0] == arr[2, 2]
    assert transform.c == 500020 and transform.f == 3399980
    full, _, _ = read_raster_window(p)
    assert full.mask[0, 0] and full.count() == 99  # nodata masked
    # bounds cutting cells: every cell they touch, the edge cells included (rounding dropped them)
    part, transform, _ = read_raster_window(p, (500024, 3399936, 500046, 3399976))
    assert part.shape == (5, 3) and part[0, 0] == arr[2, 2] and part[-1, -1] == arr[6, 4]
    assert transform.c == 500020 and transform.f == 3399980


def test_modis_clip_window_in_geographic_bounds():
    from shell.demo import REAL_FILES

    arr, transform, crs = read_raster_window(REAL_FILES["modis"], (119.9, 30.1, 120.4, 30.4))
    assert crs.to_epsg() == 4326
    assert arr.shape == (6, 10)
    assert set(np.unique(arr.compressed())) <= set(range(17))


def _tiny_raster(path, crs="EPSG:4549"):
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8", crs=crs,
                       transform=from_origin(500000, 3400000, 10, 10)) as dst:
        dst.write(np.ones((4, 4), "uint8"), 1)
    return path


def test_open_raster_names_the_file_problem_and_fix(tmp_path):
    from layers.io.files import open_raster

    def opened(path, **kw):
        with open_raster(path, **kw) as src:
            return src.crs

    assert opened(_tiny_raster(tmp_path / "ok.tif")).to_epsg() == 4549
    with pytest.raises(SourceError, match=r"gone\.tif: no such file; check the path"):
        opened(tmp_path / "gone.tif")
    (tmp_path / "junk.tif").write_bytes(b"GIF89a not a raster")
    with pytest.raises(SourceError, match=r"junk\.tif: cannot be read as a DEM .*not a GeoTIFF"):
        opened(tmp_path / "junk.tif", what="DEM")
    _tiny_raster(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(SourceError, match=r"nocrs\.tif: the wind_speed raster has no CRS; re-import it"):
        opened(tmp_path / "nocrs.tif", what="wind_speed raster", crs_fix="re-import it")
    assert opened(tmp_path / "nocrs.tif", require_crs=False) is None


def test_open_raster_turns_a_failed_read_into_a_source_error(tmp_path):
    from layers.io.files import open_raster

    path = _tiny_raster(tmp_path / "r.tif")
    msg = "boom"
    expected = r"r\.tif: cannot read the raster \(boom\); the file may be truncated"
    with pytest.raises(SourceError, match=expected), open_raster(path):
        raise rasterio.errors.RasterioIOError(msg)
