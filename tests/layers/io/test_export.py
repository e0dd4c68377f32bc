"""Exports: files (atomic, clear errors) and download bytes (CSV safe for spreadsheets)."""

import errno
import io
import os

import geopandas as gpd
import pandas as pd
import pytest

from layers.conform import conform_layer
from layers.io.export import FORMULA_PREFIXES, export_bytes, export_file, neutralise_formulas
from tests.conftest import make_buildings
from twin.errors import ConfigError, SourceError

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "safe", "a=b",
           "two\r=lines"]


@pytest.fixture
def buildings():
    out, _ = conform_layer(make_buildings(len(HOSTILE), name=HOSTILE), "buildings")
    return out


def test_csv_neutralises_formulas(buildings):
    raw = export_bytes(buildings, "csv", layer="b").decode("utf-8")
    back = pd.read_csv(io.StringIO(raw), keep_default_na=False)
    assert back["name"].tolist() == ["'" + v if v.startswith(FORMULA_PREFIXES) else v for v in HOSTILE]
    assert not any(str(v).startswith(FORMULA_PREFIXES) for col in back.columns for v in back[col]
                   if isinstance(v, str))
    assert back["wkt"].str.startswith("POLYGON").all() and len(back) == len(HOSTILE)
    assert '"two\r=lines"' in raw  # a cell holding a line break is quoted: no new row begins with "="
    assert back["height_m"].tolist() == buildings["height_m"].tolist()  # numbers untouched


def test_neutralise_formulas_leaves_numbers_nulls_and_safe_text():
    df = pd.DataFrame({"x": [-1.5, 2.0], "t": ["-5", None], "c": pd.Categorical(["=a", "b"]),
                       "=bad": ["ok", "fine"]})
    out = neutralise_formulas(df)
    assert out["x"].tolist() == [-1.5, 2.0]
    assert out["t"].tolist()[0] == "'-5" and out["t"].isna().tolist() == [False, True]
    assert out["c"].tolist() == ["'=a", "b"]
    assert list(out.columns) == ["x", "t", "c", "'=bad"]
    assert df["t"].tolist()[0] == "-5"  # the input is not changed


def test_bytes_formats(buildings, tmp_path):
    gj = gpd.read_file(export_bytes(buildings, "geojson", layer="b").decode())
    assert gj.crs.to_epsg() == 4326 and len(gj) == len(buildings)
    (tmp_path / "s.gpkg").write_bytes(export_bytes(buildings, "gpkg", layer="shortlist"))
    gpkg = gpd.read_file(tmp_path / "s.gpkg", layer="shortlist")
    assert gpkg.crs.to_epsg() == 4549 and gpkg["building_id"].tolist() == buildings["building_id"].tolist()
    with pytest.raises(ConfigError, match="unknown export format 'xls'; use one of csv, gpkg, geojson"):
        export_bytes(buildings, "xls", layer="b")


@pytest.mark.parametrize("fmt,name", [("gpkg", "b.gpkg"), ("parquet", "b.parquet"),
                                      ("geojson", "b.geojson"), ("cityjson", "b.city.json")])
def test_export_file_formats(tmp_path, buildings, fmt, name):
    path = export_file(buildings, tmp_path / name, fmt, layer="buildings")
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left
    if fmt != "cityjson":
        back = gpd.read_parquet(path) if fmt == "parquet" else gpd.read_file(path)
        assert len(back) == len(buildings)
        assert back.crs.to_epsg() == (4326 if fmt == "geojson" else 4549)


def test_wrong_suffix_names_the_file_and_the_fix(tmp_path, buildings):
    with pytest.raises(SourceError, match=r"b\.shp: does not end in \.gpkg for the gpkg format; "
                                          r"rename the output file \(e\.g\. b\.gpkg\)"):
        export_file(buildings, tmp_path / "b.shp", "gpkg")
    with pytest.raises(ConfigError, match="unknown export format 'xls'"):
        export_file(buildings, tmp_path / "b.xls", "xls")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path, buildings):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(SourceError, match=r"ro/b\.gpkg: cannot write the export, the folder .*ro "
                                              r"is read-only .*choose a writable folder"):
            export_file(buildings, folder / "b.gpkg", "gpkg")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("fmt,name", [("gpkg", "b.gpkg"), ("cityjson", "b.city.json")])
def test_unwritable_target_is_one_clear_error_and_leaves_the_old_file(tmp_path, buildings, monkeypatch, fmt,
                                                                       name):
    """As a read-only folder looks to a non-root user (tests may run as root): EACCES on create."""
    import tempfile

    old = tmp_path / name
    old.write_bytes(b"previous export")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(SourceError) as info:
        export_file(buildings, old, fmt, layer="buildings")
    msg = str(info.value)
    assert msg.startswith(f"{old}: cannot write the export, the folder {tmp_path} is read-only")
    assert "choose a writable folder" in msg and "\n" not in msg
    assert old.read_bytes() == b"previous export"


def test_target_under_a_file_is_clear(tmp_path, buildings):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceError, match=r"file/b\.parquet: cannot write the export"):
        export_file(buildings, tmp_path / "file" / "b.parquet", "parquet")
