"""Open building layouts: recognised by their columns, mapped to the twin's columns (pure parts)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.io.open_buildings import (
    detect_layout,
    licence_of,
    map_google,
    map_microsoft,
    map_overture,
    mapping,
    read_open_buildings,
)
from twin.errors import SourceError

LON, LAT = 120.09, 30.87  # central Huzhou


def _square(i: int, size_deg: float = 1e-4):
    x, y = LON + i * 3e-4, LAT
    return shapely.box(x, y, x + size_deg, y + size_deg)


def overture_frame(n: int = 4) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [f"08b{i:05d}" for i in range(n)],
            "height": [21.5, None, None, 7.0][:n],
            "num_floors": [7, 5, None, None][:n],
            "roof_shape": ["flat", "gabled", "dome", None][:n],
            "class": ["apartments", "warehouse", None, "mystery"][:n],
            "subtype": ["residential", "industrial", "education", None][:n],
            "is_underground": [False, False, False, False][:n],
            "names": [{"primary": "湖州大厦"}, None, None, None][:n],
            "sources": [[{"property": "", "dataset": "OpenStreetMap", "record_id": "w1"}],
                        [{"property": "", "dataset": "Microsoft ML Buildings"}], None,
                        [{"property": "", "dataset": "Google Open Buildings"}]][:n],
        },
        geometry=[_square(i) for i in range(n)], crs="OGC:CRS84",
    )


def test_overture_mapping_heights_floors_roofs_uses_and_source():
    out, rejected = map_overture(overture_frame(), "b.parquet")
    assert rejected == []
    assert out["building_id"].tolist() == ["ovt-08b00000", "ovt-08b00001", "ovt-08b00002", "ovt-08b00003"]
    np.testing.assert_array_equal(out["height_m"].to_numpy(), [21.5, np.nan, np.nan, 7.0])
    assert out["height_source"].tolist() == ["observed", "estimated", "estimated", "observed"]
    assert out["floors"].tolist()[:2] == [7.0, 5.0]
    assert out["roof_type"].tolist() == ["flat", "gable", "unknown", "unknown"]
    # class first, subtype where class is missing or unmapped, else other
    assert out["use_class"].tolist() == ["residential", "warehouse", "education", "other"]
    assert out["name"].tolist()[0] == "湖州大厦"
    assert not out["is_synthetic"].any()
    assert "OpenStreetMap" in out["source"].iloc[0] and "ODbL" in out["source"].iloc[0]
    assert "b.parquet" in out["source"].iloc[2]


def test_overture_underground_rows_are_rejected():
    gdf = overture_frame()
    gdf.loc[1, "is_underground"] = True
    out, rejected = map_overture(gdf, "b.parquet")
    assert len(out) == 3
    assert rejected == [("ovt-08b00001", "Overture is_underground: not a building above ground")]


def test_google_mapping_uses_plus_codes_and_25d_heights():
    gdf = gpd.GeoDataFrame({"full_plus_code": ["8PM3XXX1+AA", "8PM3XXX2+BB"], "confidence": [0.8, 0.7],
                            "building_height": [12.0, 0.0]},
                           geometry=[_square(0), _square(1)], crs=4326)
    out, _ = map_google(gdf, "t.csv", min_confidence=0.65)
    assert out["building_id"].tolist() == ["gob-8PM3XXX1+AA", "gob-8PM3XXX2+BB"]
    np.testing.assert_array_equal(out["height_m"].to_numpy(), [12.0, np.nan])  # 0 m is no height
    assert out["height_source"].tolist() == ["observed", "estimated"]
    assert "CC BY-4.0" in out["source"].iloc[0] and "2.5D" in out["source"].iloc[0]


def test_google_rows_below_the_confidence_threshold_are_dropped_and_counted():
    conf = [0.95, 0.75, 0.74, 0.66, np.nan]
    gdf = gpd.GeoDataFrame({"full_plus_code": [f"8PM3XXX{i}+AA" for i in range(5)], "confidence": conf},
                           geometry=[_square(i) for i in range(5)], crs=4326)
    out, rejected = map_google(gdf, "t.csv")  # the dataset table's default, 0.75
    assert mapping()["google"]["min_confidence"] == 0.75
    assert out["building_id"].tolist() == ["gob-8PM3XXX0+AA", "gob-8PM3XXX1+AA"]
    assert [i for i, _ in rejected] == ["gob-8PM3XXX2+AA", "gob-8PM3XXX3+AA", "gob-8PM3XXX4+AA"]
    assert "0.740 below 0.75" in rejected[0][1] and rejected[2][1] == "Google confidence missing"
    out, rejected = map_google(gdf, "t.csv", min_confidence=0.65)
    assert len(out) == 4 and len(rejected) == 1
    out, rejected = map_google(gdf, "t.csv", min_confidence=0.0)
    assert len(out) == 4 and len(out) + len(rejected) == len(gdf)  # rows kept + dropped = rows read
    with pytest.raises(SourceError, match="min_confidence"):
        map_google(gdf, "t.csv", min_confidence=75)


def test_min_confidence_is_refused_for_other_datasets(tmp_path):
    with pytest.raises(SourceError, match="--min-confidence applies to Google"):
        read_open_buildings(tmp_path / "x.parquet", "overture", frame=overture_frame(), min_confidence=0.7)


def test_google_without_height_columns_estimates_all_and_duplicate_codes_give_no_ids():
    gdf = gpd.GeoDataFrame({"full_plus_code": ["X", "X"]}, geometry=[_square(0), _square(1)], crs=4326)
    out, _ = map_google(gdf, "t.csv")
    assert out["height_m"].isna().all() and "building_id" not in out
    assert "footprints" in out["source"].iloc[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.just(-1.0), st.floats(0.1, 500), st.none()), min_size=1, max_size=20))
def test_microsoft_minus_one_is_unknown_and_positive_heights_kept(heights):
    gdf = gpd.GeoDataFrame({"height": heights, "confidence": -1.0},
                           geometry=[_square(i) for i in range(len(heights))], crs=4326)
    out, _ = map_microsoft(gdf, "m.geojsonl")
    for h, got, src in zip(heights, out["height_m"], out["height_source"], strict=True):
        if h is None or h <= 0:
            assert np.isnan(got) and src == "estimated"
        else:
            assert got == h and src == "observed"
    assert (out["source"].str.contains("ODbL")).all()


def test_detect_layout_by_columns_and_names(tmp_path):
    p = tmp_path / "ovt.parquet"
    overture_frame().to_parquet(p)
    assert detect_layout(p) == "overture"
    plain = tmp_path / "plain.parquet"
    gpd.GeoDataFrame({"height_m": [3.0]}, geometry=[_square(0)], crs=4326).to_parquet(plain)
    assert detect_layout(plain) is None
    assert detect_layout(tmp_path / "x.csv") == "google"
    assert detect_layout(tmp_path / "x.geojsonl.gz") == "microsoft"
    assert detect_layout(tmp_path / "x.geojson", ["height", "confidence", "geometry"]) == "microsoft"
    assert detect_layout(tmp_path / "x.geojson", ["height", "name", "geometry"]) is None
    assert "ODbL" in licence_of("microsoft")


def test_overture_parquet_without_geo_metadata_is_read_as_wkb(tmp_path):
    df = pd.DataFrame(overture_frame().drop(columns="geometry"))
    df["geometry"] = shapely.to_wkb([_square(i) for i in range(4)])
    p = tmp_path / "duckdb_export.parquet"
    df.to_parquet(p)
    out, _ = read_open_buildings(p, "overture")
    assert len(out) == 4 and out.crs.equals("OGC:CRS84")


def test_bad_files_give_clear_errors(tmp_path):
    bad = tmp_path / "b.geojsonl"
    bad.write_text('{"type": "Feature", "geometry": {"type": "Polygon"}}\nnot json\n')
    with pytest.raises(SourceError, match=r"b\.geojsonl: line 1 .*GeoJSONL"):
        read_open_buildings(bad, "microsoft")
    csv = tmp_path / "g.csv"
    csv.write_text("latitude,longitude,confidence\n30.8,120.1,0.8\n")
    with pytest.raises(SourceError, match="missing area_in_meters, geometry"):
        read_open_buildings(csv, "google")
    wkt = tmp_path / "w.csv"
    wkt.write_text('latitude,longitude,area_in_meters,confidence,geometry\n'
                   '30.8,120.1,20,0.8,"POLYGON ((1 2"\n')
    with pytest.raises(SourceError, match="not WKT"):
        read_open_buildings(wkt, "google")
    empty = tmp_path / "e.geojsonl"
    empty.write_text("\n")
    with pytest.raises(SourceError, match="no features"):
        read_open_buildings(empty, "microsoft")
    line = json.dumps({"type": "Feature", "properties": {"height": 5}, "geometry": None})
    (tmp_path / "n.geojsonl").write_text(line + "\n")
    with pytest.raises(SourceError, match="line 1"):
        read_open_buildings(tmp_path / "n.geojsonl", "microsoft")
