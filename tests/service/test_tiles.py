"""The pygeoapi MVT provider over a PMTiles archive (service.tiles) against the catalog's rows."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest
import shapely
from pygeoapi.plugin import load_plugin
from pygeoapi.provider.base import ProviderConnectionError, ProviderInvalidQueryError
from pygeoapi.provider.tile import ProviderTileNotFoundError

from layers.io.tiles import archive_path, lonlat_to_tile, tile_bounds_lonlat
from service.tiles import MIMETYPE, PMTilesMVTProvider, tile_providers
from shell.tiles import export_tiles
from tests.shell.test_tiles import small_twin  # noqa: F401 - the module's small twin, as a fixture


@pytest.fixture(scope="module")
def served(small_twin):  # noqa: F811
    home, b, pv = small_twin
    export_tiles("hangzhou", home=home, layers=["buildings", "charging_stations"], min_zoom=14, max_zoom=16)
    providers = tile_providers(home, "hangzhou")
    return home, b, pv, providers, load_plugin("provider", providers["hangzhou-buildings"])


def test_tile_providers_name_the_collections_of_the_archive(served):
    home, _, _, providers, p = served
    assert set(providers) == {"hangzhou-buildings", "hangzhou-charging_stations"}
    d = providers["hangzhou-buildings"]
    assert d["type"] == "tile" and d["name"] == "service.tiles.PMTilesMVTProvider"
    assert d["data"] == str(archive_path(home, "hangzhou").resolve())
    assert d["options"]["zoom"] == {"min": 14, "max": 16} and d["format"]["mimetype"] == MIMETYPE
    assert isinstance(p, PMTilesMVTProvider) and p.get_layer() == "hangzhou"
    assert tile_providers(home, "huzhou") == {}


def test_a_known_tile_holds_the_catalog_rows_inside_it(served):
    _, b, pv, _, p = served
    lonlat = b.to_crs(4326)
    first = lonlat.geometry.iloc[0].centroid
    z = 16
    x, y = lonlat_to_tile(first.x, first.y, z)
    data = p.get_tiles(layer=p.get_layer(), tileset="WebMercatorQuad", z=str(z), y=str(y), x=str(x),
                       format_="mvt")
    decoded = mapbox_vector_tile.decode(data)
    got = {f["properties"]["building_id"]: f["properties"] for f in decoded["buildings"]["features"]}
    box = shapely.box(*tile_bounds_lonlat(z, x, y))
    expected = set(lonlat.loc[lonlat.intersects(box), "building_id"])
    assert got and set(got) == expected
    rows = b.set_index("building_id")
    caps = pv.set_index("building_id")["pv_capacity_kwp"]
    for bid, props in got.items():
        assert props["height_m"] == pytest.approx(rows.loc[bid, "height_m"])
        assert props["is_synthetic"] is bool(rows.loc[bid, "is_synthetic"])
        if bid in caps.index:
            assert props["pv_capacity_kwp"] == pytest.approx(caps[bid], rel=1e-12)


def test_empty_and_out_of_range_tiles_are_not_found(served):
    _, _, _, _, p = served
    kw = {"layer": p.get_layer(), "tileset": "WebMercatorQuad", "format_": "mvt"}
    with pytest.raises(ProviderTileNotFoundError, match="no feature"):
        p.get_tiles(z=16, x=0, y=0, **kw)            # in range, empty (the Pacific)
    with pytest.raises(ProviderTileNotFoundError, match="outside the archive"):
        p.get_tiles(z=10, x=853, y=418, **kw)         # below the archive's zooms
    with pytest.raises(ProviderTileNotFoundError, match="outside the archive"):
        p.get_tiles(z=17, x=0, y=0, **kw)             # above them
    with pytest.raises(ProviderTileNotFoundError, match="outside the archive"):
        p.get_tiles(z=14, x=2 ** 14, y=0, **kw)       # off the tile matrix
    with pytest.raises(ProviderInvalidQueryError, match="WebMercatorQuad"):
        p.get_tiles(layer=p.get_layer(), tileset="WorldCRS84Quad", z=14, x=0, y=0, format_="mvt")
    with pytest.raises(ProviderInvalidQueryError, match="whole numbers"):
        p.get_tiles(z="a", x=0, y=0, **kw)


def test_metadata_and_fields(served):
    _, _, _, _, p = served
    tj = p.get_vendor_metadata("hangzhou-buildings", "http://h", "hangzhou", "WebMercatorQuad", "t", "d", [])
    assert tj["tiles"] == ["http://h/collections/hangzhou-buildings/tiles/WebMercatorQuad/"
                           "{tileMatrix}/{tileRow}/{tileCol}?f=mvt"]
    assert (tj["minzoom"], tj["maxzoom"]) == (14, 16)
    assert {v["id"] for v in tj["vector_layers"]} == {"buildings", "charging_stations"}
    assert "ODbL" in tj["attribution"]
    md = p.get_default_metadata("hangzhou-buildings", "http://h", "hangzhou", "WebMercatorQuad", "t", "d", [])
    assert md["tileMatrixSetURI"].endswith("WebMercatorQuad")
    fields = p.get_fields()
    assert fields["height_m"]["type"] == "number" and "[metre]" in fields["height_m"]["description"]
    assert fields["is_synthetic"]["type"] == "boolean"
    assert [s.tileMatrixSet for s in p.get_tiling_schemes()] == ["WebMercatorQuad"]


def test_missing_or_broken_archives(served, tmp_path, caplog):
    home, _, _, providers, _ = served
    d = dict(providers["hangzhou-buildings"])
    with pytest.raises(ProviderConnectionError, match="does not exist.*twin export tiles"):
        PMTilesMVTProvider({**d, "data": str(tmp_path / "none.pmtiles")})
    bad = tmp_path / "bad.pmtiles"
    bad.write_bytes(gzip.compress(b"not an archive"))
    with pytest.raises(ProviderConnectionError, match="not a readable PMTiles"):
        PMTilesMVTProvider({**d, "data": str(bad)})
    folder = home / "hangzhou" / "tiles"
    (folder / "broken.pmtiles").write_bytes(b"junk")
    try:
        assert set(tile_providers(home, "hangzhou")) == set(providers)
        assert "skipping tile archive" in caplog.text
    finally:
        (folder / "broken.pmtiles").unlink()
