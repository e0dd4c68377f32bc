"""GeoParquet outputs: partitioned round trips, per-file geo metadata, sorted merges."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from layers.io.parquet import (
    PART_FILE,
    merge_sorted,
    partition_name,
    read_partitioned,
    write_parquet,
    write_partitioned,
)
from twin.errors import SchemaError


def _layer(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(500_000, 520_000, n)
    y = rng.uniform(3_340_000, 3_360_000, n)
    geoms = [shapely.box(a, b, a + 10, b + 20) for a, b in zip(x, y, strict=True)]
    geoms[1] = shapely.MultiPolygon([geoms[1], shapely.box(x[1] + 50, y[1], x[1] + 60, y[1] + 5)])
    districts = np.array(["330502", "330503", "330521"])[np.arange(n) % 3].astype(object)
    districts[4], districts[7] = None, ""
    return gpd.GeoDataFrame({"building_id": [f"b{i:03d}" for i in rng.permutation(n)],
                             "district_adcode": districts, "value_kwh": rng.uniform(0, 1, n)},
                            geometry=geoms, crs="EPSG:4549")


def _geo(path):
    return json.loads(pq.read_schema(path).metadata[b"geo"])


def _check_file_metadata(path):
    """The file's geo metadata describes exactly the file's rows."""
    geo = _geo(path)
    col = geo["columns"][geo["primary_column"]]
    back = gpd.read_parquet(path)
    assert col["encoding"] == "WKB" and geo["version"] == "1.1.0"
    assert back.crs.to_epsg() == 4549
    assert col["geometry_types"] == sorted(set(back.geom_type))
    np.testing.assert_allclose(col["bbox"], back.total_bounds)
    return back


@pytest.mark.parametrize("kind", ["frame", "table"])
def test_partitioned_round_trip_keeps_rows_and_writes_per_file_metadata(tmp_path, kind):
    gdf = _layer()
    if kind == "frame":
        data = gdf
    else:
        write_parquet(gdf, tmp_path / "src.parquet")
        data = pq.read_table(tmp_path / "src.parquet")
    single = write_partitioned(data, tmp_path / "out", sort_by="building_id", single=tmp_path / "all.parquet")
    parts = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert parts == ["district_adcode=330502", "district_adcode=330503", "district_adcode=330521",
                     "district_adcode=none"]
    expected = gdf.sort_values("building_id", kind="stable").reset_index(drop=True)
    for part in parts:
        back = _check_file_metadata(tmp_path / "out" / part / PART_FILE)
        assert back["building_id"].is_monotonic_increasing  # sorted inside every file
        code = part.split("=")[1]
        want = expected.loc[expected["district_adcode"].map(partition_name) == code].reset_index(drop=True)
        pd.testing.assert_frame_equal(back, want, check_exact=True)
    whole = _check_file_metadata(single)
    pd.testing.assert_frame_equal(whole, expected, check_exact=True)
    again = read_partitioned(tmp_path / "out").sort_values("building_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected, check_exact=True)


def test_layer_without_partition_column_is_one_file(tmp_path):
    gdf = _layer().drop(columns="district_adcode")
    path = write_partitioned(gdf, tmp_path / "out", single=tmp_path / "unused.parquet")
    assert path == tmp_path / "out" / PART_FILE and not (tmp_path / "unused.parquet").exists()
    pd.testing.assert_frame_equal(_check_file_metadata(path), gdf, check_exact=True)


def test_merge_sorted_does_not_depend_on_how_rows_were_split(tmp_path):
    gdf = _layer(40, seed=3)
    results = []
    for n_files in (1, 3, 7):
        folder = tmp_path / f"split{n_files}"
        files = []
        for k, chunk in enumerate(np.array_split(np.arange(len(gdf)), n_files)):
            files.append(write_parquet(gdf.iloc[chunk], folder / "tiles" / f"{k}.parquet"))
        files.append(folder / "tiles" / "missing.parquet")  # skipped
        single, rows = merge_sorted(files, "building_id", folder / "layer", single=folder / "all.parquet")
        assert rows == len(gdf)
        results.append((single, sorted(p.relative_to(folder) for p in (folder / "layer").rglob("*.parquet"))))
    first = results[0]
    for single, listing in results[1:]:
        assert listing == first[1]
        assert pq.read_table(single).equals(pq.read_table(first[0]))
        assert _geo(single) == _geo(first[0])
    merged = _check_file_metadata(first[0])
    assert merged["building_id"].tolist() == sorted(gdf["building_id"])
    # the first tile's geometry types are not taken for the merged file: it holds both kinds
    assert _geo(first[0])["columns"]["geometry"]["geometry_types"] == ["MultiPolygon", "Polygon"]


def test_merge_of_no_files(tmp_path):
    assert merge_sorted([tmp_path / "a.parquet"], "building_id", tmp_path / "out") == (None, 0)


def test_table_without_geo_metadata_is_refused(tmp_path):
    pd.DataFrame({"building_id": ["a"]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(SchemaError, match="no GeoParquet 'geo' metadata"):
        write_partitioned(pq.read_table(tmp_path / "plain.parquet"), tmp_path / "out")


def test_partition_names():
    assert [partition_name(v) for v in ("330502", None, np.nan, pd.NA, "", 7)] == [
        "330502", "none", "none", "none", "none", "7"]


def test_read_partitioned_names_an_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no GeoParquet files"):
        read_partitioned(tmp_path)


def test_write_parquet_passes_options_and_reads_back_the_same(tmp_path):
    """Dictionary encoding only on the text columns (as the tile cache writes): same table back."""
    rng = np.random.default_rng(3)
    frame = gpd.GeoDataFrame({"facet_id": [f"b{i}-f0" for i in range(500)], "ac_kwh": rng.random(500),
                              "n": np.arange(500)}, geometry=shapely.points(rng.random((500, 2))), crs=4549)
    plain = write_parquet(frame, tmp_path / "plain.parquet")
    text = write_parquet(frame, tmp_path / "text.parquet", use_dictionary=["facet_id"])
    assert pq.read_table(plain).equals(pq.read_table(text), check_metadata=True)
    meta = pq.ParquetFile(text).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert any("DICTIONARY" in e for e in encodings["facet_id"])
    assert not any("DICTIONARY" in e for e in encodings["ac_kwh"])
