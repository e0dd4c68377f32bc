"""`twin import osm`: a pyosmium-written PBF inside Huzhou imported into a small built twin."""

from __future__ import annotations

import json
import shutil

import osmium
import pytest

from shell.cli import main
from tests.layers.io.osm_fixture import TIMESTAMP, write_huzhou_pbf
from twin.store import TwinStore

OSM = ("buildings", "roads", "charging_stations", "bus_stops", "green_space", "water", "landcover")


@pytest.fixture
def huzhou(twin_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(twin_home / "huzhou", home / "huzhou")
    monkeypatch.setenv("TWIN_HOME", str(home))
    return TwinStore("huzhou")


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _snapshot(store):
    return {name: store.read_layer(name) for name in OSM}


def _unchanged(store, before):
    return all(store.read_layer(n).equals(before[n]) for n in OSM)


def test_import_osm_replaces_layers_with_real_rows(huzhou, tmp_path, capsys):
    pbf = write_huzhou_pbf(tmp_path / "huzhou-test.osm.pbf")
    code, out, err = run(capsys, "import", "osm", str(pbf), "--city", "huzhou", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["timestamp"] == TIMESTAMP and "ODbL" in rep["attribution"]
    layers = rep["layers"]
    assert {n: layers[n]["mapped"] for n in OSM} == {
        "buildings": 5, "roads": 2, "charging_stations": 1, "bus_stops": 1, "green_space": 1,
        "water": 1, "landcover": 2}
    assert all(layers[n]["replaced"] for n in OSM)
    assert layers["buildings"]["defaulted"]["height (default 10 m, height_defaulted)"] == 1
    assert layers["roads"]["dropped"] == {"highway=footway (not a road for drive times)": 1}

    for name in OSM:
        gdf = huzhou.read_layer(name)
        assert not gdf["is_synthetic"].any()
        assert gdf["source"].str.contains("huzhou-test.osm.pbf").all()
        assert gdf["source"].str.contains(TIMESTAMP).all()
        assert (gdf["district_adcode"] == "330502").all()  # Wuxing, filled from the boundaries
    b = huzhou.read_layer("buildings").set_index("building_id")
    assert b.loc["osm-w3", "height_defaulted"] and b.loc["osm-w3", "height_m"] == 10.0
    # the multipolygon: a 60 m square minus a 20 m courtyard
    assert b.loc["osm-r1", "footprint_area_m2"] == pytest.approx(3200, rel=0.01)
    assert b.loc["osm-w2", "floors"] == 6 and b.loc["osm-w2", "cim_level"] == 3
    r = huzhou.read_layer("roads").set_index("road_id")
    assert r.loc["osm-w11", "speed_kmh"] == 30.0  # class default (layers.roads)
    assert r.loc["osm-w10", "length_m"] == pytest.approx(500, rel=0.01)
    c = huzhou.read_layer("charging_stations")
    assert c["piles"].tolist() == [4] and c["power_kw"].tolist() == [240.0]
    meta = huzhou.meta()
    assert meta["provenance:buildings"]["licence"] == "ODbL-1.0"
    assert meta["import_report:osm"]["layers"]["water"]["mapped"] == 1

    # text report
    code, out, _ = run(capsys, "import", "osm", str(pbf), "--city", "huzhou", "--layers", "roads")
    assert code == 0 and "roads: read 3, mapped 2, replaced" in out and "buildings" not in out


def test_import_osm_outside_the_city_changes_nothing(huzhou, tmp_path, capsys):
    before = _snapshot(huzhou)
    beijing = write_huzhou_pbf(tmp_path / "beijing.osm.pbf", lon0=116.40, lat0=39.90)
    code, _, err = run(capsys, "import", "osm", str(beijing), "--city", "huzhou")
    assert code == 2 and "beijing.osm.pbf" in err and "inside huzhou's boundary" in err
    assert _unchanged(huzhou, before)


def test_import_osm_bad_files(huzhou, tmp_path, capsys):
    before = _snapshot(huzhou)
    empty = tmp_path / "empty.osm.pbf"
    with osmium.SimpleWriter(str(empty)):
        pass
    code, _, err = run(capsys, "import", "osm", str(empty), "--city", "huzhou")
    assert code == 2 and "holds no OSM objects" in err
    text = tmp_path / "buildings.osm.pbf"
    text.write_text("<html>not osm</html>")
    code, _, err = run(capsys, "import", "osm", str(text), "--city", "huzhou")
    assert code == 2 and "not a readable OpenStreetMap file" in err and "Traceback" not in err
    pbf = write_huzhou_pbf(tmp_path / "ok.osm.pbf")
    code, _, err = run(capsys, "import", "osm", str(pbf), "--city", "huzhou", "--layers", "buildings,dem")
    assert code == 2 and "cannot come from OSM" in err
    assert _unchanged(huzhou, before)


def test_named_layer_missing_is_all_or_nothing(huzhou, tmp_path, capsys):
    before = _snapshot(huzhou)
    only_roads = tmp_path / "roads.osm.pbf"
    with osmium.SimpleWriter(str(only_roads)) as w:
        w.add_node(osmium.osm.mutable.Node(id=1, location=(120.10, 30.87)))
        w.add_node(osmium.osm.mutable.Node(id=2, location=(120.11, 30.87)))
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2], tags={"highway": "primary"}))
    code, _, err = run(capsys, "import", "osm", str(only_roads), "--city", "huzhou",
                       "--layers", "roads,buildings")
    assert code == 2 and "no buildings inside huzhou" in err
    assert _unchanged(huzhou, before)  # roads were found, but not replaced either
    code, out, err = run(capsys, "import", "osm", str(only_roads), "--city", "huzhou")
    assert code == 0, err
    assert "buildings: read 0, mapped 0, unchanged" in out
    assert huzhou.read_layer("buildings").equals(before["buildings"])
    assert len(huzhou.read_layer("roads")) == 1
