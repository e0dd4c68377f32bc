"""`twin city init`: a config for another city from its boundary file, and a twin built from it.

The test city is made up (越州市, code 339900, three districts south-east of Shaoxing);
its boundary file is written by the tests.
"""

import json

import geopandas as gpd
import pyproj
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from shell.cityinit import init_city
from shell.cli import main
from twin.config import available_cities, cities_dir, load_city
from twin.crs import gauss_kruger_crs
from twin.errors import ConfigError, SchemaError

ROWS = [  # adcode, name, lon0, lat0, lon1, lat1: city row + two 市辖区 + one county
    ("339900", "越州市", 120.60, 29.95, 120.66, 30.00),
    ("339902", "城东区", 120.63, 29.975, 120.66, 30.00),
    ("339903", "城西区", 120.60, 29.975, 120.63, 30.00),
    ("339921", "南山县", 120.60, 29.95, 120.66, 29.975),
]


def write_boundary(path, rows=ROWS, geoms=None, crs=4326, code_col="adcode"):
    geoms = geoms or [box(a, b, c, d) for _, _, a, b, c, d in rows]
    gdf = gpd.GeoDataFrame({code_col: [r[0] for r in rows], "name": [r[1] for r in rows]},
                           geometry=geoms, crs=crs)
    gdf.to_file(path)
    return path


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    monkeypatch.setenv("TWIN_HOME", str(h))
    return h


# --- the CRS by longitude -------------------------------------------------------------------

def test_presets_longitudes_give_their_crs():
    assert gauss_kruger_crs(120.16) == gauss_kruger_crs(120.09) == "EPSG:4549"  # Hangzhou, Huzhou
    assert gauss_kruger_crs(116.40) == "EPSG:4548"  # Beijing, CM 117E
    assert gauss_kruger_crs(87.6) == "EPSG:4538"    # Urumqi, CM 87E


@given(st.floats(73.5, 136.49))
def test_the_zone_meridian_is_within_half_a_zone(lon):
    crs = pyproj.CRS(gauss_kruger_crs(lon))
    cm = next(p.value for p in crs.coordinate_operation.params if "longitude" in p.name.lower())
    assert abs(cm - lon) <= 1.5 + 1e-9
    assert "Gauss-Kruger CM" in crs.name and crs.is_projected


@pytest.mark.parametrize("lon", [10.0, 73.4, 136.5, 500000.0, float("nan")])
def test_longitudes_outside_china_are_refused(lon):
    with pytest.raises(SchemaError, match="outside the CGCS2000"):
        gauss_kruger_crs(lon)


# --- init --------------------------------------------------------------------------------------

def test_init_writes_a_config_that_loads_by_id(tmp_path, home):
    res = init_city("yuezhou", write_boundary(tmp_path / "b.geojson"))
    assert res.config_path == home.resolve() / "cities" / "yuezhou.toml"
    c = load_city("yuezhou")
    assert c.path == res.config_path and c.id == "yuezhou"
    assert (c.adcode, c.name_zh, c.metric_crs) == ("339900", "越州市", "EPSG:4549")
    assert [(d.adcode, d.name_zh, d.is_urban) for d in c.districts] == [
        ("339902", "城东区", True), ("339903", "城西区", True), ("339921", "南山县", False)]
    assert sum(d.kind == "dense_core" for d in c.districts) == 1
    assert c.targets == () and c.access.urban_districts == ("339902", "339903")
    assert c.access.charging_urban_min == 5.0 and set(c.access.sources) >= {"bus_stop_m", "park_m"}
    assert 29.95 < c.latitude < 30.0 and 120.60 < c.longitude < 120.66
    assert c.boundary_path == res.boundary_path and c.boundary_path.is_file()
    assert "yuezhou" in available_cities() and {"hangzhou", "huzhou"} <= set(available_cities())
    # the presets stay where they are
    assert load_city("hangzhou").path == cities_dir() / "hangzhou.toml"


def test_a_file_of_several_cities_needs_the_adcode(tmp_path, home):
    rows = [*ROWS[1:], ("339802", "别区", 120.7, 29.9, 120.8, 30.0)]
    f = write_boundary(tmp_path / "two.geojson", rows)
    with pytest.raises(SchemaError, match="2 cities .*--adcode"):
        init_city("yuezhou", f)
    c = init_city("yuezhou", f, adcode="339900", name_zh="越州市").city
    assert [d.adcode for d in c.districts] == ["339902", "339903", "339921"]


def test_numeric_codes_and_other_column_names_are_read(tmp_path, home):
    f = tmp_path / "num.geojson"
    gpd.GeoDataFrame({"PAC": [339902.0, 339903.0], "NAME": ["城东区", "城西区"]},
                     geometry=[box(*r[2:]) for r in ROWS[1:3]], crs=4490).to_file(f)
    c = init_city("yuezhou", f, name_zh="越州市").city
    assert [d.adcode for d in c.districts] == ["339902", "339903"]


@pytest.mark.parametrize("rows,geoms,match", [
    (ROWS[:1], None, "only city-level rows .*339900.* no district"),
    ([*ROWS, ("339902", "重复区", 120.6, 29.9, 120.61, 29.91)], None, "duplicate district codes"),
    ([*ROWS, ("999921", "假县", 120.6, 29.9, 120.61, 29.91)], None, "999921"),
    ([*ROWS, ("33992", "短码", 120.6, 29.9, 120.61, 29.91)], None, "not 6-digit adcodes"),
    (ROWS, [box(*r[2:]) for r in ROWS[:3]] + [Point(120.6, 29.96)], "not polygons"),
    (ROWS, [box(*r[2:]) for r in ROWS[:3]] + [LineString([(120.6, 29.96), (120.61, 29.97)])],
     "not polygons"),
])
def test_bad_boundary_files_are_refused(tmp_path, home, rows, geoms, match):
    f = write_boundary(tmp_path / "bad.geojson", rows, geoms)
    with pytest.raises(SchemaError, match=match):
        init_city("yuezhou", f)
    assert not (home / "cities").exists()  # nothing written


def test_no_code_column_names_the_columns(tmp_path, home):
    f = write_boundary(tmp_path / "nocode.geojson", code_col="ID")
    with pytest.raises(SchemaError, match=r"no district code column among \['ID', 'name'\]"):
        init_city("yuezhou", f)


def test_metres_labelled_as_degrees_are_refused(tmp_path, home):
    geoms = [box(x, 3.3e6, x + 5000, 3.305e6) for x in (500000, 505000, 510000, 515000)]
    f = write_boundary(tmp_path / "m.geojson", geoms=geoms)  # metres, labelled EPSG:4326
    with pytest.raises(SchemaError, match="outside China"):
        init_city("yuezhou", f)


@pytest.mark.parametrize("name,match", [
    ("../evil", "lowercase ASCII"), ("Yuezhou", "lowercase ASCII"), ("yue/zhou", "lowercase ASCII"),
    ("yuè", "lowercase ASCII"), ("hangzhou", "shipped preset"),
])
def test_bad_ids_are_refused(tmp_path, home, name, match):
    with pytest.raises(ConfigError, match=match):
        init_city(name, write_boundary(tmp_path / "b.geojson"))


def test_an_existing_config_needs_force(tmp_path, home):
    f = write_boundary(tmp_path / "b.geojson")
    init_city("yuezhou", f)
    with pytest.raises(ConfigError, match="already exist.*--force"):
        init_city("yuezhou", f)
    assert init_city("yuezhou", f, force=True).city.id == "yuezhou"


def test_cli_init_errors_are_one_line(tmp_path, home, capsys):
    f = write_boundary(tmp_path / "city.geojson", ROWS[:1])
    assert main(["city", "init", "yuezhou", "--boundary", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no district" in err and "Traceback" not in err


# --- a twin built from it ------------------------------------------------------------------------

def test_demo_builds_from_the_config_and_an_engine_runs(tmp_path, home, capsys):
    f = write_boundary(tmp_path / "b.geojson")
    assert main(["--home", str(home), "city", "init", "yuezhou", "--boundary", str(f)]) == 0
    assert "3 districts, EPSG:4549" in capsys.readouterr().out
    assert main(["--home", str(home), "demo", "--city", "yuezhou", "--scale", "200"]) == 0
    assert main(["--home", str(home), "info", "--city", "yuezhou", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out.splitlines()[-1])["cities"]["yuezhou"]
    layers = {lay["name"]: lay for lay in doc["layers"]}
    assert all(lay["crs"] == "EPSG:4549" and lay["rows"] > 0 for lay in layers.values())
    assert layers["buildings"]["synthetic_share"] == 1.0  # no real buildings here: flagged
    assert 0 < layers["boundaries"]["synthetic_share"] < 1  # real districts, synthetic townships
    from twin.store import TwinStore

    b = TwinStore("yuezhou", home).read_layer("boundaries")
    real = b.loc[~b["is_synthetic"]]
    assert sorted(real["adcode"]) == ["339900", "339902", "339903", "339921"]
    assert main(["--home", str(home), "sinks", "--city", "yuezhou"]) == 0
    out = capsys.readouterr().out
    assert "carbon_stock_t_c" in out


def test_generic_grid_marks_urban_districts_and_fills_outside():
    from synth.landcover import generic_igbp_grid

    d = gpd.GeoDataFrame({"is_urban": [True, False]},
                         geometry=[box(116.40, 39.90, 116.50, 40.00), box(116.50, 39.90, 116.60, 40.00)],
                         crs=4326)
    codes, transform, crs = generic_igbp_grid(d)
    assert crs == "EPSG:4326" and codes.dtype.name == "uint8"
    col = lambda lon: int((lon - transform.c) / transform.a)  # noqa: E731
    row = lambda lat: int((transform.f - lat) / -transform.e)  # noqa: E731
    assert codes[row(39.95), col(116.43)] == 13 and codes[row(39.95), col(116.57)] == 12
    assert codes[0, 0] == 255 and codes[-1, -1] == 255  # the margin lies on no district
    assert set(codes.ravel()) == {12, 13, 255}


def test_a_city_in_another_zone_outside_the_modis_clip(tmp_path, home, capsys):
    rows = [("139902", "北区", 116.40, 39.95, 116.45, 40.00),
            ("139921", "东县", 116.45, 39.95, 116.50, 40.00)]
    f = write_boundary(tmp_path / "bz.geojson", rows)
    assert main(["city", "init", "beizhou", "--boundary", str(f), "--name-zh", "北州市"]) == 0
    assert load_city("beizhou").metric_crs == "EPSG:4548"  # CM 117E
    assert main(["demo", "--city", "beizhou", "--scale", "150"]) == 0
    assert main(["info", "--city", "beizhou", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out.splitlines()[-1])["cities"]["beizhou"]
    layers = {lay["name"]: lay for lay in doc["layers"]}
    assert all(lay["crs"] == "EPSG:4548" and lay["rows"] > 0 for lay in layers.values())
    assert all(lay["synthetic_share"] == 1.0 for n, lay in layers.items() if n != "boundaries")
    assert doc["rasters"] == []  # the MODIS clip does not cover it: not registered
