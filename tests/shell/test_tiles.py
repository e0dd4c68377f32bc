"""``twin export tiles``: a small twin exported, read back with pmtiles and mapbox_vector_tile."""

from __future__ import annotations

import gzip
import math
import os
from collections import defaultdict

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import shapely
from pmtiles.reader import MemorySource, Reader, all_tiles

from layers.conform import conform_layer
from layers.io.tiles import EXTENT, archive_path, tile_span_m
from shell.cli import main
from shell.tiles import export_tiles
from tests.conftest import X0, Y0
from twin.errors import CatalogError, ConfigError, SourceError
from twin.store import TwinStore

OSM = "© OpenStreetMap contributors, ODbL 1.0"
HALF = math.pi * 6378137.0


def _buildings() -> gpd.GeoDataFrame:
    """A 12 x 12 grid of 20 x 12 m buildings, 45 m apart (crossing z16 tile edges), and a 3 m shed."""
    ids, geoms, heights = [], [], []
    for i in range(12):
        for j in range(12):
            x, y = X0 + 45 * i, Y0 + 45 * j
            ids.append(f"b{i:02d}{j:02d}")
            geoms.append(shapely.box(x, y, x + 20, y + 12))
            heights.append(6.0 + (i * 12 + j) % 40)
    ids.append("shed")
    geoms.append(shapely.box(X0 - 30, Y0 - 30, X0 - 27, Y0 - 27))
    heights.append(2.5)
    n = len(ids)
    names = ["杭州大厦" if k == 0 else "" for k in range(n)]
    gdf = gpd.GeoDataFrame({"building_id": ids, "height_m": heights, "use_class": ["residential"] * n,
                            "roof_type": ["flat"] * n, "name": names}, geometry=geoms, crs="EPSG:4549")
    out, _ = conform_layer(gdf, "buildings", source=OSM, is_synthetic=False)
    out["is_synthetic"] = [k % 3 == 0 for k in range(n)]   # some flagged synthetic
    out["source"] = np.where(out["is_synthetic"], "synthetic: test generator", OSM)
    return out


@pytest.fixture(scope="module")
def small_twin(tmp_path_factory):
    home = tmp_path_factory.mktemp("tiles-home")
    b = _buildings()
    roads = gpd.GeoDataFrame({"road_id": ["r0", "r1"], "road_class": ["primary", "residential"]},
                             geometry=[shapely.LineString([(X0 - 100, Y0 - 60), (X0 + 700, Y0 - 60)]),
                                       shapely.LineString([(X0 - 60, Y0 - 100), (X0 - 60, Y0 + 600)])],
                             crs="EPSG:4549")
    roads, _ = conform_layer(roads, "roads", is_synthetic=True, source="synthetic: test generator")
    ch = gpd.GeoDataFrame({"station_id": ["c0", "c1"], "is_public": [True, False], "piles": [4, 2]},
                          geometry=[shapely.Point(X0 + 100, Y0 + 100), shapely.Point(X0 + 300, Y0 + 20)],
                          crs="EPSG:4549")
    ch, _ = conform_layer(ch, "charging_stations", is_synthetic=True, source="synthetic: test generator")
    pv = b.loc[b["building_id"] != "shed", ["building_id", "is_synthetic", "geometry"]].copy()
    rng = np.random.default_rng(1)
    pv["pv_capacity_kwp"] = rng.uniform(1, 50, len(pv))
    pv["specific_yield_kwh_per_kwp"] = rng.uniform(900, 1200, len(pv))
    pv["pv_yield_kwh_per_yr"] = pv["pv_capacity_kwp"] * pv["specific_yield_kwh_per_kwp"]
    pv["lcoe_cny_per_kwh"] = np.where(np.arange(len(pv)) == 0, np.nan, 0.3)
    store = TwinStore("hangzhou", home)
    store.commit({"buildings": b, "roads": roads, "charging_stations": ch}, results={"pv_buildings": pv})
    return home, b, pv


@pytest.fixture(scope="module")
def exported(small_twin, tmp_path_factory):
    home, b, pv = small_twin
    out = tmp_path_factory.mktemp("tiles-out") / "hz.pmtiles"
    report = export_tiles("hangzhou", out, home=home, min_zoom=10, max_zoom=16)
    data = out.read_bytes()
    tiles = {}
    for (z, x, y), blob in all_tiles(MemorySource(data)):
        tiles[z, x, y] = mapbox_vector_tile.decode(gzip.decompress(blob),
                                                   default_options={"y_coord_down": True})
    return report, Reader(MemorySource(data)), tiles


def _features(tiles, z, layer):
    """``id -> [(x, y, feature)]`` of a layer at zoom z."""
    out = defaultdict(list)
    for (zz, x, y), layers in tiles.items():
        if zz == z and layer in layers:
            for f in layers[layer]["features"]:
                out[f["properties"][{"buildings": "building_id", "roads": "road_id",
                                     "charging_stations": "station_id"}[layer]]].append((x, y, f))
    return out


def _mercator(b: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    """Each building's footprint in EPSG:3857 (pyproj, through geopandas)."""
    return dict(zip(b["building_id"], b.to_crs(3857).geometry, strict=True))


def _tiles_touched(geom3857, z):
    span = tile_span_m(z)
    minx, miny, maxx, maxy = geom3857.bounds
    return {(x, y) for x in range(int((minx + HALF) // span), int((maxx + HALF) // span) + 1)
            for y in range(int((HALF - maxy) // span), int((HALF - miny) // span) + 1)}


def test_every_building_at_max_zoom_duplicated_only_across_tile_edges(small_twin, exported):
    _, b, _ = small_twin
    report, _, tiles = exported
    feats = _features(tiles, 16, "buildings")
    assert set(feats) == set(b["building_id"])
    crossing = 0
    for bid, merc in _mercator(b).items():
        where = {(x, y) for x, y, _ in feats[bid]}
        assert len(where) == len(feats[bid]), f"{bid} twice in one tile"
        assert where == _tiles_touched(merc, 16), bid
        crossing += len(where) > 1
    assert crossing > 0, "the test grid must cross a tile edge"
    assert report.layers["buildings"] == len(b)


def test_properties_equal_the_catalog(small_twin, exported):
    _, b, pv = small_twin
    _, _, tiles = exported
    feats = _features(tiles, 16, "buildings")
    rows = b.set_index("building_id")
    pvr = pv.set_index("building_id")
    for bid, found in feats.items():
        props = found[0][2]["properties"]
        row = rows.loc[bid]
        assert props["height_m"] == pytest.approx(row["height_m"])
        assert props["is_synthetic"] is bool(row["is_synthetic"])
        assert props["source"] == row["source"]
        assert props["use_class"] == row["use_class"]
        assert props.get("name", "") == row["name"]
        if bid in pvr.index:
            assert props["pv_capacity_kwp"] == pytest.approx(pvr.loc[bid, "pv_capacity_kwp"], rel=1e-12)
            assert props["pv_yield_kwh_per_yr"] == pytest.approx(pvr.loc[bid, "pv_yield_kwh_per_yr"],
                                                                 rel=1e-12)
            lcoe = pvr.loc[bid, "lcoe_cny_per_kwh"]
            assert ("lcoe_cny_per_kwh" not in props) if pd.isna(lcoe) else props["lcoe_cny_per_kwh"] == lcoe
        else:  # no PV row: no PV attribute (a left join), never a made-up zero
            assert not any(k.startswith("pv_") for k in props)
        assert all(p[2]["properties"] == props for p in found)


def test_geometry_back_projected_within_a_tile_pixel(small_twin, exported):
    _, b, _ = small_twin
    _, _, tiles = exported
    z = 16
    span = tile_span_m(z)
    cell = span / EXTENT
    feats = _features(tiles, z, "buildings")
    for bid, merc in _mercator(b).items():
        for x, y, f in feats[bid]:
            ring = np.asarray(f["geometry"]["coordinates"][0], dtype=float)
            back = shapely.Polygon(np.column_stack([x * span - HALF + ring[:, 0] * cell,
                                                    HALF - y * span - ring[:, 1] * cell]))
            x0, y0 = x * span - HALF, HALF - (y + 1) * span
            pad = 64 * cell
            clipped = shapely.clip_by_rect(merc, x0 - pad, y0 - pad, x0 + span + pad, y0 + span + pad)
            assert shapely.hausdorff_distance(back, clipped) <= cell, bid


def test_tiny_features_left_out_below_max_zoom_only(exported):
    _, _, tiles = exported
    assert "shed" in _features(tiles, 16, "buildings")
    assert "shed" not in _features(tiles, 13, "buildings")
    assert "b0000" in _features(tiles, 13, "buildings")
    assert not _features(tiles, 12, "buildings")  # buildings start at z13
    assert set(_features(tiles, 10, "charging_stations")) == {"c0", "c1"}
    assert set(_features(tiles, 10, "roads")) == {"r0", "r1"}


def test_metadata_layers_units_attribution_and_synthetic_flag(small_twin, exported):
    _, b, _ = small_twin
    report, reader, _ = exported
    header, md = reader.header(), reader.metadata()
    assert (header["min_zoom"], header["max_zoom"]) == (10, 16)
    layers = {v["id"]: v for v in md["vector_layers"]}
    assert set(layers) == {"roads", "buildings", "charging_stations"}
    assert layers["buildings"]["minzoom"] == 13 and layers["roads"]["minzoom"] == 10
    assert "[kilowatt-peak (DC, STC)]" in layers["buildings"]["fields"]["pv_capacity_kwp"]
    assert "OpenStreetMap contributors, ODbL 1.0" in md["attribution"]
    assert f"buildings {int(b['is_synthetic'].sum())}/{len(b)}" in md["attribution"]
    assert 0 < md["synthetic_share"] < 1
    lon0, lat0 = header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7
    assert 119 < lon0 < 121 and 29 < lat0 < 31
    assert report.max_tile_bytes < 500_000 and not report.over_budget


def test_oversized_tiles_are_thinned_below_max_zoom_but_never_at_it(small_twin, tmp_path, monkeypatch):
    import shell.tiles as mod

    home, b, _ = small_twin
    monkeypatch.setattr(mod, "MAX_TILE_BYTES", 3000)
    out = tmp_path / "thin.pmtiles"
    report = export_tiles("hangzhou", out, home=home, layers=["buildings"], min_zoom=13, max_zoom=15)
    assert report.thinned
    raw = list(all_tiles(MemorySource(out.read_bytes())))
    tiles = {k: mapbox_vector_tile.decode(gzip.decompress(v)) for k, v in raw}
    below = [len(gzip.decompress(v)) for (z, _, _), v in raw if z < 15]
    assert below and max(below) <= 3000
    at_max = {f["properties"]["building_id"] for (z, _, _), t in tiles.items() if z == 15
              for f in t["buildings"]["features"]}
    assert at_max == set(b["building_id"])


def test_default_target_is_where_serve_looks(small_twin):
    home, _, _ = small_twin
    report = export_tiles("hangzhou", home=home, layers=["charging_stations"], min_zoom=14, max_zoom=14)
    assert report.path == archive_path(home, "hangzhou") and report.path.is_file()


def test_bad_input(small_twin, tmp_path, monkeypatch):
    home, _, _ = small_twin
    with pytest.raises(SourceError, match=r"does not end in \.pmtiles"):
        export_tiles("hangzhou", tmp_path / "x.mbtiles", home=home)
    with pytest.raises(ConfigError, match="unknown layer.*landuse; choose from"):
        export_tiles("hangzhou", tmp_path / "x.pmtiles", home=home, layers=["landuse"])
    with pytest.raises(ConfigError, match="has no water; it has buildings, charging_stations, roads"):
        export_tiles("hangzhou", tmp_path / "x.pmtiles", home=home, layers=["water"])
    with pytest.raises(ConfigError, match="min zoom 9 is above max zoom 8"):
        export_tiles("hangzhou", tmp_path / "x.pmtiles", home=home, min_zoom=9, max_zoom=8)
    with pytest.raises(CatalogError, match="no built twin"):
        export_tiles("huzhou", tmp_path / "x.pmtiles", home=home)
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(SourceError, match="read-only"):
        export_tiles("hangzhou", tmp_path / "ro" / "x.pmtiles", home=home)
    assert not list(tmp_path.iterdir())


def test_a_failed_export_leaves_the_old_archive_whole(small_twin, tmp_path, monkeypatch):
    from twin.store import TileSource

    home, _, _ = small_twin
    out = tmp_path / "hz.pmtiles"
    out.write_bytes(b"previous archive")

    def boom(self, zoom, **kwargs):
        if zoom == 15:
            msg = "disk gone"
            raise CatalogError(msg)
        return original(self, zoom, **kwargs)

    original = TileSource.tiles
    monkeypatch.setattr(TileSource, "tiles", boom)
    with pytest.raises(CatalogError, match="disk gone"):
        export_tiles("hangzhou", out, home=home, min_zoom=13, max_zoom=16)
    assert out.read_bytes() == b"previous archive"
    assert [p.name for p in tmp_path.iterdir()] == ["hz.pmtiles"]


def _twin(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cli(small_twin, tmp_path, capsys):
    home, _, _ = small_twin
    out = tmp_path / "cli.pmtiles"
    code, text = _twin(capsys, "--home", str(home), "export", "tiles", "--city", "hangzhou",
                       "--out", str(out), "--layers", "buildings,roads", "--min-zoom", "13",
                       "--max-zoom", "15")
    assert code == 0, text
    assert "2 layers (roads, buildings)" in text and out.is_file()
    code, text = _twin(capsys, "--home", str(home), "export", "tiles", "--city", "hangzhou",
                       "--out", str(tmp_path / "x.geojson"))
    assert code == 2 and "does not end in .pmtiles" in text
    code, text = _twin(capsys, "--home", str(home), "export", "tiles", "--city", "hangzhou",
                       "--format", "gpkg", "--out", str(out))
    assert code == 2 and "pmtiles" in text
    code, text = _twin(capsys, "--home", str(home), "export", "buildings", "--city", "hangzhou",
                       "--format", "gpkg")
    assert code == 2 and "--out" in text
