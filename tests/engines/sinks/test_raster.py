"""Windowed zonal accounting on small synthetic rasters with known class areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from engines.sinks.factors import read_factors
from engines.sinks.indicators import compute_indicators, ledger_from_class_areas
from engines.sinks.raster import class_areas, pixel_area_rows_m2, zonal_class_counts
from twin.errors import SourceError

X0, Y0 = 500_000.0, 3_300_000.0
TABLE = {1: "mixed_forest", 2: "cropland", 3: "water", 4: "bamboo_forest", 5: "shrubland", 255: ""}


def write(path, arr, *, crs="EPSG:4549", transform=None, nodata=255, dtype=None):
    arr = np.asarray(arr)
    transform = transform or from_origin(X0, Y0 + 10 * arr.shape[0], 10, 10)
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=dtype or arr.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(arr, 1)
    return path


def zones_two(width=20, height=10):
    """Two townships: left and right halves of a width x height grid of 10 m cells."""
    half = X0 + 10 * width / 2
    return gpd.GeoDataFrame(
        {"adcode": ["330100001", "330100002"], "parent_adcode": ["330101", "330102"]},
        geometry=[shapely.box(X0, Y0, half, Y0 + 10 * height),
                  shapely.box(half, Y0, X0 + 10 * width, Y0 + 10 * height)], crs="EPSG:4549")


def test_known_class_areas_and_coverage(tmp_path):
    arr = np.full((10, 20), 2, dtype="uint8")
    arr[:, :6] = 1       # 60 forest cells in township 1
    arr[:5, 10:14] = 4   # 20 bamboo cells in township 2
    arr[9, 19] = 255     # one nodata cell
    arr[0, 0] = 7        # one unknown code
    path = write(tmp_path / "lc.tif", arr)
    zc = zonal_class_counts(path, zones_two(), "adcode", rows_per_window=3)
    assert zc.n_windows == 4 and not zc.is_geographic and zc.pixel_area_m2 == 100.0
    areas, unknown, nodata = class_areas(zc.table, TABLE)
    a = areas.set_index(["zone", "lc_class"])["area_m2"]
    assert a[("330100001", "mixed_forest")] == 59 * 100.0
    assert a[("330100002", "bamboo_forest")] == 20 * 100.0
    assert unknown.to_dict("records") == [
        {"zone": "330100001", "code": 7, "n_pixels": 1, "area_m2": 100.0}]
    assert nodata["n_pixels"].sum() == 1
    # forest coverage over the mapped area (unknown counted in the area, nodata not)
    areas["township_code"] = areas["zone"]
    areas["district_adcode"] = areas["zone"].map({"330100001": "330101", "330100002": "330102"})
    ledger = ledger_from_class_areas(areas, read_factors())
    zones = pd.DataFrame({"adcode": ["330100", "330101", "330102", "330100001", "330100002"],
                          "level": ["city", "district", "district", "township", "township"],
                          "name_zh": [""] * 5, "parent_adcode": ["", "330100", "330100",
                                                                  "330101", "330102"],
                          "zone_area_m2": [0, 0, 0, 100 * 100.0, 99 * 100.0]})
    ind = compute_indicators(ledger, zones, None, input_kind="raster").set_index(
        ["adcode", "indicator"])["value"]
    assert ind[("330100001", "forest_coverage_pct")] == pytest.approx(59.0)
    assert ind[("330100002", "forest_coverage_pct")] == pytest.approx(100 * 20 / 99)
    assert ind[("330100", "forest_coverage_pct")] == pytest.approx(100 * 79 / 199)
    assert ind[("330100", "bamboo_forest_area_mu")] == pytest.approx(2000 / (10000 / 15))


def test_zones_in_other_crs_are_reprojected(tmp_path):
    arr = np.ones((10, 20), dtype="uint8")
    path = write(tmp_path / "lc.tif", arr)
    z = zones_two()
    a = zonal_class_counts(path, z, "adcode").table
    b = zonal_class_counts(path, z.to_crs(4326), "adcode").table
    assert a["n_pixels"].sum() == 200
    assert abs(b["n_pixels"].sum() - 200) <= 2  # edges may shift by a cell after a round trip


def test_geographic_raster_uses_ellipsoidal_pixel_areas(tmp_path):
    tr = from_origin(120.0, 30.1, 0.01, 0.01)
    arr = np.ones((10, 10), dtype="uint16")
    path = write(tmp_path / "geo.tif", arr, crs="EPSG:4326", transform=tr, nodata=0)
    z = gpd.GeoDataFrame({"adcode": ["a"]}, geometry=[shapely.box(119.9, 29.9, 120.2, 30.2)],
                         crs="EPSG:4326").to_crs("EPSG:4549")
    zc = zonal_class_counts(path, z, "adcode")
    assert zc.is_geographic
    geod = rasterio.crs.CRS.from_epsg(4326)
    rows = pixel_area_rows_m2(tr, 10, geod)
    assert zc.table["area_m2"].sum() == pytest.approx(10 * rows.sum())
    # about 1.11 km x 0.96 km per 0.01 deg cell at 30 N, not 1e-4 "square degrees"
    assert 0.9e6 < rows.mean() < 1.2e6


def test_bad_rasters(tmp_path):
    z = zones_two()
    p = tmp_path / "nocrs.tif"
    with rasterio.open(p, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8") as d:
        d.write(np.ones((2, 2), "uint8"), 1)
    with pytest.raises(SourceError, match="no CRS"):
        zonal_class_counts(p, z, "adcode")
    pf = write(tmp_path / "float.tif", np.ones((4, 4), "float32"), nodata=None)
    with pytest.raises(SourceError, match="integer class codes"):
        zonal_class_counts(pf, z, "adcode")
    with pytest.raises(SourceError, match=r"missing\.tif: no such file; check the path"):
        zonal_class_counts(tmp_path / "missing.tif", z, "adcode")
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(SourceError, match=r"junk\.tif: cannot be read as a land-cover raster"):
        zonal_class_counts(tmp_path / "junk.tif", z, "adcode")


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 7))
def test_district_sums_equal_city_total(tmp_path_factory, seed, rows_per_window):
    rng = np.random.default_rng(seed)
    arr = rng.choice([1, 2, 3, 4, 5, 255], size=(10, 20)).astype("uint8")
    path = write(tmp_path_factory.mktemp("r") / "lc.tif", arr)
    zc = zonal_class_counts(path, zones_two(), "adcode", rows_per_window=rows_per_window)
    areas, _, nodata = class_areas(zc.table, TABLE)
    assert zc.table["n_pixels"].sum() == 200
    assert areas["n_pixels"].sum() + nodata["n_pixels"].sum() == 200
    areas["township_code"] = areas["zone"]
    areas["district_adcode"] = areas["zone"].map({"330100001": "330101", "330100002": "330102"})
    ledger = ledger_from_class_areas(areas, read_factors())
    zones = pd.DataFrame({"adcode": ["330100", "330101", "330102", "330100001", "330100002"],
                          "level": ["city", "district", "district", "township", "township"],
                          "name_zh": [""] * 5,
                          "parent_adcode": ["", "330100", "330100", "330101", "330102"],
                          "zone_area_m2": [0, 0, 0, 1e4, 1e4]})
    ind = compute_indicators(ledger, zones, None, input_kind="raster")
    for name in ("carbon_stock_t_c", "co2_uptake_t_per_yr", "forest_area_mu", "wetland_stock_mu"):
        rows = ind.loc[ind["indicator"] == name]
        city = rows.loc[rows["level"] == "city", "value"].sum()
        dist = rows.loc[rows["level"] == "district", "value"].sum()
        assert dist == pytest.approx(city, rel=1e-12, abs=1e-9)
        assert (rows.loc[rows["indicator"] == "carbon_stock_t_c", "value"] >= 0).all()
