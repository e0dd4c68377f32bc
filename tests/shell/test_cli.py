"""The twin CLI end to end on the demo city (built once per session at a small scale)."""

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from shell.cli import main
from tests.conftest import X0, Y0, make_buildings
from twin.store import TwinStore


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_info_json_describes_both_cities(twin_env, capsys):
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc["cities"]) == {"hangzhou", "huzhou"}
    for cid, entry in doc["cities"].items():
        assert entry["built"] and entry["catalog"].endswith(f"{cid}/catalog.duckdb")
        layers = {lay["name"]: lay for lay in entry["layers"]}
        assert set(layers) >= {"boundaries", "buildings", "water", "landcover", "roads",
                               "charging_stations", "bus_stops", "green_space"}
        assert all(lay["crs"] == "EPSG:4549" for lay in layers.values())
        assert all(lay["rows"] > 0 for lay in layers.values())
        assert layers["roads"]["synthetic_share"] == 1.0
        assert 0 < layers["boundaries"]["synthetic_share"] < 1  # real districts, synthetic townships
        assert entry["rasters"][0]["name"] == "landcover_raster"
        assert any(t["id"].startswith("PV-") for t in entry["targets"])
    hz = {lay["name"]: lay for lay in doc["cities"]["hangzhou"]["layers"]}
    assert 0 < hz["buildings"]["real_share"] < 1  # OSM footprints are real


def test_info_text(twin_env, capsys):
    code, out, _ = run(capsys, "info", "--city", "huzhou")
    assert code == 0 and "Huzhou 湖州市" in out and "PV-Z1" in out


def test_catalog_answers_spatial_sql_offline(twin_env):
    store = TwinStore("hangzhou")
    with store.connect() as con:
        area = con.execute("SELECT sum(ST_Area(geom)) FROM buildings").fetchone()[0]
        per_district = con.execute(
            "SELECT district_adcode, count(*) FROM buildings GROUP BY 1 ORDER BY 1").fetchall()
        ext = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name='spatial'").fetchone()
    b = store.read_layer("buildings")
    assert area == pytest.approx(b["footprint_area_m2"].sum(), rel=1e-9)
    assert {d for d, _ in per_district} == {d.adcode for d in __import__(
        "twin.config", fromlist=["load_city"]).load_city("hangzhou").districts}
    assert ext == (True,)


def test_every_district_populated_and_flags(twin_env):
    for cid in ("hangzhou", "huzhou"):
        store = TwinStore(cid)
        b = store.read_layer("buildings", columns=["district_adcode", "is_synthetic", "source"])
        assert (b["district_adcode"] != "").all()
        synth = b["is_synthetic"]
        assert b.loc[synth, "source"].str.startswith("synthetic:").all()
        assert not b.loc[~synth, "source"].str.startswith("synthetic").any()


@pytest.mark.parametrize("fmt,suffix", [("gpkg", ".gpkg"), ("parquet", ".parquet"),
                                        ("geojson", ".geojson"), ("cityjson", ".city.json")])
def test_export_buildings(twin_env, tmp_path, capsys, fmt, suffix):
    out = tmp_path / f"b{suffix}"
    code, stdout, err = run(capsys, "export", "buildings", "--city", "huzhou", "--format", fmt,
                            "--out", str(out), "--district", "330523")
    assert code == 0, err
    n = int(stdout.split()[1])
    assert n > 0 and out.exists()
    if fmt != "cityjson":
        back = gpd.read_file(out) if fmt != "parquet" else gpd.read_parquet(out)
        assert len(back) == n and "is_synthetic" in back.columns


def test_export_wrong_suffix_is_clear(twin_env, tmp_path, capsys):
    code, _, err = run(capsys, "export", "buildings", "--city", "huzhou", "--format", "gpkg",
                       "--out", str(tmp_path / "b.shp"))
    assert code == 2 and "does not end in .gpkg" in err


def test_import_commits_whole_or_nothing(twin_home, tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    import shutil

    shutil.copytree(twin_home / "huzhou", home / "huzhou")
    monkeypatch.setenv("TWIN_HOME", str(home))
    store = TwinStore("huzhou")
    before = store.read_layer("buildings")

    # a bad file: one absurd height -> one clear error, the previous layer untouched
    x, y = store.read_layer("boundaries").query("adcode == '330502'").geometry.iloc[0] \
        .representative_point().coords[0]
    bad = make_buildings(3, height_m=[10.0, 900.0, 12.0])
    bad = bad.set_geometry(bad.geometry.translate(x - X0, y - Y0)).to_crs(4326)
    bad_path = tmp_path / "bad.geojson"
    bad.to_file(bad_path)
    code, _, err = run(capsys, "import", "buildings", str(bad_path), "--city", "huzhou")
    assert code == 2
    assert "bad.geojson" in err and "height_m out of its plausible range" in err and "b1=900" in err
    assert store.read_layer("buildings").equals(before)

    # a good file replaces the layer; admin codes are filled from the twin's townships
    good = make_buildings(3)
    good = good.set_geometry(good.geometry.translate(x - X0, y - Y0))
    good_path = tmp_path / "good.gpkg"
    good.to_file(good_path)
    code, out, err = run(capsys, "import", "buildings", str(good_path), "--city", "huzhou")
    assert code == 0, err
    assert "3/3 rows kept" in out
    after = store.read_layer("buildings")
    assert len(after) == 3 and (after["district_adcode"] == "330502").all()
    assert after["township_code"].str.startswith("330502").all()


def test_import_without_crs_and_gcj02(twin_home, tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    import shutil

    shutil.copytree(twin_home / "hangzhou", home / "hangzhou")
    monkeypatch.setenv("TWIN_HOME", str(home))
    stops = gpd.GeoDataFrame({"stop_id": ["s1"], "name": ["龙翔桥"]},
                             geometry=[shapely.Point(120.1690, 30.2600)], crs=4326)
    nocrs = tmp_path / "stops.shp"
    stops.to_file(nocrs, encoding="UTF-8")
    nocrs.with_suffix(".prj").unlink()
    code, _, err = run(capsys, "import", "bus_stops", str(nocrs), "--city", "hangzhou")
    assert code == 2 and "has no CRS" in err and "--crs" in err
    code, _, err = run(capsys, "import", "bus_stops", str(nocrs), "--city", "hangzhou",
                       "--crs", "EPSG:4326", "--gcj02")
    assert code == 0, err
    got = TwinStore("hangzhou").read_layer("bus_stops").to_crs(4326).geometry.iloc[0]
    # GCJ-02 lies about 500 m east and south of WGS84 in Hangzhou: the WGS84 point is west and north
    assert got.x < 120.1690 and got.y > 30.2600
    assert 300 < shapely.Point(120.1690, 30.2600).distance(got) * 111_000 < 700


def test_import_wind_raster_validates(twin_home, tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    import shutil

    shutil.copytree(twin_home / "huzhou", home / "huzhou")
    monkeypatch.setenv("TWIN_HOME", str(home))
    path = tmp_path / "wind.tif"
    arr = np.full((4, 4), 6.5, dtype="float32")
    arr[0, 0] = 80.0
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": from_origin(119.9, 30.9, 0.01, 0.01), "nodata": -9999.0}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    code, _, err = run(capsys, "import", "wind_speed", str(path), "--city", "huzhou", "--height", "100",
                         "--min-cover", "0")  # a 4 x 4 km tile: accepted only when asked
    assert code == 2 and "outside 0-50 m/s" in err
    arr[0, 0] = -9999.0
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    code, _, err = run(capsys, "import", "wind_speed", str(path), "--city", "huzhou", "--min-cover", "0")
    assert code == 2 and "--height" in err
    code, _, err = run(capsys, "import", "wind_speed", str(path), "--city", "huzhou", "--height", "100")
    assert code == 2 and "less than the 50% asked" in err and "--min-cover 0" in err
    code, _, err = run(capsys, "import", "wind_speed", str(path), "--city", "huzhou", "--height", "100",
                       "--min-cover", "0")
    assert code == 0, err
    p, meta = TwinStore("huzhou").raster_path("wind_speed")
    assert p.exists() and meta["height_m"] == 100.0 and meta["nodata_cells"] == 1


def test_missing_twin_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWIN_HOME", str(tmp_path))
    code, out, _ = run(capsys, "info", "--json", "--city", "huzhou")
    hint = json.loads(out)["cities"]["huzhou"]["hint"]
    assert code == 0 and hint == "build it with `twin demo --city huzhou`"
    code, _, err = run(capsys, "export", "buildings", "--city", "huzhou", "--format", "gpkg",
                       "--out", str(tmp_path / "x.gpkg"))
    assert code == 2 and "twin demo --city huzhou" in err


def test_unknown_city_is_refused(capsys):
    code, _, err = run(capsys, "info", "--city", "shanghai")
    assert code == 2 and "shanghai" in err
