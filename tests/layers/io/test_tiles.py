"""The tile pyramid's plan and the PMTiles archive writer (layers.io.tiles)."""

from __future__ import annotations

import gzip
import math
import os

import mapbox_vector_tile
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from layers.io.tiles import (
    DEFAULT_LAYERS,
    MAX_ZOOM,
    TileLayer,
    attribution,
    check_target,
    lonlat_to_tile,
    plan_pyramid,
    thinning_steps,
    tile_bounds_lonlat,
    tile_span_m,
    vector_layers,
    write_pmtiles,
)
from twin.errors import ConfigError, SourceError


def _tile(layer="l", props=None) -> bytes:
    return mapbox_vector_tile.encode([{"name": layer, "features": [
        {"geometry": "POINT(10 10)", "properties": props or {"a": 1}}]}])


def test_buildings_have_every_feature_at_max_zoom_and_drop_tiny_ones_below():
    plans = plan_pyramid(list(DEFAULT_LAYERS.values()), 8, 16)
    assert [p.zoom for p in plans] == list(range(8, 17))
    by_zoom = {p.zoom: p.min_size_m for p in plans}
    assert "buildings" not in by_zoom[12] and "buildings" in by_zoom[13]
    assert by_zoom[16]["buildings"] == 0.0 and all(v == 0.0 for v in by_zoom[16].values())
    # one screen pixel of a 256-px z13 tile is about 19 m of Mercator width
    assert by_zoom[13]["buildings"] == pytest.approx(tile_span_m(13) / 256, rel=1e-9)
    assert 19.0 < by_zoom[13]["buildings"] < 19.2
    # coarser zooms drop more: thresholds halve with each zoom
    assert by_zoom[14]["roads"] == pytest.approx(by_zoom[13]["roads"] / 2)
    # points are never dropped by size
    assert by_zoom[12]["bus_stops"] == 0.0


def test_a_layer_starting_above_the_range_still_appears_at_max_zoom():
    plans = plan_pyramid([DEFAULT_LAYERS["buildings"]], 5, 10)
    assert [p.zoom for p in plans if "buildings" in p.min_size_m] == [10]


@pytest.mark.parametrize("lo,hi", [(5, 4), (-1, 5), (3, 21), (True, 5)])
def test_bad_zoom_ranges(lo, hi):
    with pytest.raises(ConfigError, match="zoom"):
        plan_pyramid(list(DEFAULT_LAYERS.values()), lo, hi)


def test_no_layers_is_an_error():
    with pytest.raises(ConfigError, match="--layers"):
        plan_pyramid([], 8, 16)


def test_thinning_gets_stricter_every_step():
    steps = thinning_steps(0.0, 13)
    sizes, thins = zip(*steps, strict=True)
    assert len(set(sizes)) == 1  # thinning by id keeps a tile of similar buildings from emptying
    assert list(thins) == [2 ** (i + 1) for i in range(len(steps))]
    assert sizes[0] >= tile_span_m(13) / 256


@given(st.floats(-179.99, 179.99), st.floats(-85.0, 85.0), st.integers(0, 18))
def test_a_point_lies_in_the_bounds_of_its_tile(lon, lat, z):
    x, y = lonlat_to_tile(lon, lat, z)
    w, s, e, n = tile_bounds_lonlat(z, x, y)
    tol = 1e-9
    assert w - tol <= lon <= e + tol and s - tol <= lat <= n + tol


def test_tile_bounds_of_the_world_and_a_known_tile():
    assert tile_bounds_lonlat(0, 0, 0) == pytest.approx((-180, -85.0511287798, 180, 85.0511287798))
    # Hangzhou's West Lake at z14, against pyproj's Web Mercator
    from pyproj import Transformer

    mx, my = Transformer.from_crs(4326, 3857, always_xy=True).transform(120.1485, 30.2424)
    half, span = math.pi * 6378137.0, tile_span_m(14)
    assert lonlat_to_tile(120.1485, 30.2424, 14) == (int((mx + half) // span), int((half - my) // span))
    assert tile_span_m(0) == pytest.approx(2 * math.pi * 6378137.0)


def test_attribution_credits_osm_and_names_synthetic_layers():
    text = attribution([("buildings", "synthetic: carbon-twin generator v1, seed=1; © OpenStreetMap "
                                      "contributors, ODbL 1.0", 10, 7), ("roads", "synthetic: x", 5, 5)])
    assert "OpenStreetMap contributors, ODbL 1.0" in text
    assert "buildings 7/10" in text and "roads 5/5" in text
    only_real = attribution([("water", "Tianditu", 3, 0)])
    assert "synthetic" not in only_real and "OpenStreetMap" not in only_real and "Tianditu" in only_real


def test_vector_layers_carry_units_from_the_schema():
    layer = DEFAULT_LAYERS["buildings"]
    cols = ["building_id", "height_m", "pv_capacity_kwp", "is_synthetic"]
    out = vector_layers([layer], {"buildings": cols}, {"buildings": (13, 16)})
    fields = out[0]["fields"]
    assert out[0]["id"] == "buildings" and (out[0]["minzoom"], out[0]["maxzoom"]) == (13, 16)
    assert fields["height_m"].startswith("Number: height_m [metre]")
    assert fields["pv_capacity_kwp"].startswith("Number: pv_capacity_kwp [kilowatt-peak (DC, STC)]")
    assert fields["is_synthetic"].startswith("Boolean")


def test_write_and_read_back(tmp_path):
    path = tmp_path / "t.pmtiles"
    tiles = [(3, 1, 2, _tile()), (3, 0, 0, _tile(props={"b": 2})), (4, 5, 5, _tile("m"))]
    meta = {"vector_layers": [{"id": "l"}], "attribution": "x"}
    info = write_pmtiles(path, tiles, meta, bounds=(119.0, 29.0, 121.0, 31.0))
    assert info["n_tiles"] == 3 and info["bytes"] == path.stat().st_size
    reader = Reader(MemorySource(path.read_bytes()))
    header = reader.header()
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert (header["min_zoom"], header["max_zoom"]) == (3, 4) and header["clustered"]
    assert header["min_lon_e7"] == 1_190_000_000
    assert reader.metadata() == meta
    decoded = mapbox_vector_tile.decode(gzip.decompress(reader.get(3, 0, 0)))
    assert decoded["l"]["features"][0]["properties"] == {"b": 2}
    assert reader.get(3, 5, 5) is None
    assert len(list(all_tiles(MemorySource(path.read_bytes())))) == 3


def test_zooms_must_ascend(tmp_path):
    with pytest.raises(ValueError, match="ascending"):
        write_pmtiles(tmp_path / "t.pmtiles", [(4, 0, 0, _tile()), (3, 0, 0, _tile())], {},
                      bounds=(0, 0, 1, 1))
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_no_tile_is_an_error_and_the_old_file_stays(tmp_path):
    path = tmp_path / "t.pmtiles"
    path.write_bytes(b"old")
    with pytest.raises(SourceError, match="no tile to write"):
        write_pmtiles(path, [], {}, bounds=(0, 0, 1, 1))
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.pmtiles"]


def test_wrong_suffix_and_bad_targets(tmp_path):
    with pytest.raises(SourceError, match=r"does not end in \.pmtiles.*t\.pmtiles"):
        check_target(tmp_path / "t.mbtiles")
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceError, match="is a file, not a folder"):
        check_target(tmp_path / "file" / "t.pmtiles")
    (tmp_path / "d.pmtiles").mkdir()
    with pytest.raises(SourceError, match="is a folder"):
        check_target(tmp_path / "d.pmtiles")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(SourceError, match="read-only"):
            check_target(folder / "t.pmtiles")
    finally:
        folder.chmod(0o755)


def test_read_only_folder_as_the_access_check_sees_it(tmp_path, monkeypatch):
    """Tests may run as root: an access check that says no is refused the same way."""
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(SourceError, match=r"is read-only; choose a writable folder"):
        check_target(tmp_path / "t.pmtiles")


def test_default_layers_are_consistent():
    for name, layer in DEFAULT_LAYERS.items():
        assert isinstance(layer, TileLayer) and layer.name == name
        assert layer.id_column in layer.columns or name == "buildings"
        assert 0 <= layer.min_zoom <= MAX_ZOOM
