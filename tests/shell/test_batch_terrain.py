"""A batch run's tiles see the DEM's terrain exactly as `twin pv` does, from windowed reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from shell.batch import read_output, run_batch
from shell.batch.tiles import read_terrain_window, write_terrain
from shell.runners import run_engine
from twin.store import TwinStore

pytestmark = pytest.mark.slow

#: A ridge 300 m high, 500 m south of the southernmost building (Gaussian across, sigma 250 m).
RIDGE_H_M, RIDGE_GAP_M, RIDGE_SIGMA_M = 300.0, 500.0, 250.0
#: DEM cell: 3 arc-seconds (about 80 x 93 m at 30.9 N), in EPSG:4326 so the run must warp it.
CELL_DEG = 3 / 3600


def _pv(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["building_id", "pv_capacity_kwp", "pv_yield_kwh_per_yr", "shading_loss_fraction",
            "specific_yield_kwh_per_kwp"]
    return pd.DataFrame(frame[cols]).sort_values("building_id").reset_index(drop=True)


def _ridge_dem(path, bounds, crs) -> None:
    """A lon/lat DEM over the buildings and 7 km around: 10 m plain, an E-W ridge to their south."""
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lon0, lat0 = to_ll.transform(bounds[0] - 7000, bounds[1] - 7000)
    lon1, lat1 = to_ll.transform(bounds[2] + 7000, bounds[3] + 7000)
    w, h = int((lon1 - lon0) / CELL_DEG) + 1, int((lat1 - lat0) / CELL_DEG) + 1
    lon = lon0 + (np.arange(w) + 0.5) * CELL_DEG
    lat = lat1 - (np.arange(h) + 0.5) * CELL_DEG
    _, y = to_m.transform(*np.meshgrid(lon, lat))
    ridge_y = bounds[1] - RIDGE_GAP_M
    dem = 10.0 + RIDGE_H_M * np.exp(-0.5 * ((y - ridge_y) / RIDGE_SIGMA_M) ** 2)
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(lon0, lat1, CELL_DEG, CELL_DEG),
                       nodata=-9999.0) as dst:
        dst.write(dem.astype("float32"), 1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small Huzhou twin (40 neighbouring buildings): `twin pv` without and with a DEM, and a batch run."""
    from shell.demo import build_city
    from shell.importer import import_raster

    home = tmp_path_factory.mktemp("terrain-home")
    store = build_city("huzhou", home=home, scale=300)
    b = store.read_layer("buildings")
    c = b.geometry.centroid
    mid = np.array([np.median(c.x), np.median(c.y)])
    near = np.argsort(np.hypot(c.x - mid[0], c.y - mid[1]).to_numpy())[:40]
    b = b.iloc[np.sort(near)].reset_index(drop=True)
    store.commit(layers={"buildings": b})
    flat = run_engine("pv", "huzhou", home=home, commit=False)
    dem = tmp_path_factory.mktemp("dem") / "ridge_copdem.tif"
    _ridge_dem(dem, tuple(b.total_bounds), b.crs)
    import_raster(TwinStore("huzhou", home), "dem", dem, min_cover=0.0)
    single = run_engine("pv", "huzhou", home=home, commit=False)
    out = tmp_path_factory.mktemp("terrain-out")
    res = run_batch("huzhou", home=home, stages=["pv"], out=out, workers=1, tile_m=1500)
    return flat, single, out, res, home


def test_batch_equals_single_run_with_a_dem_and_differs_without(runs):
    flat, single, out, res, _ = runs
    assert res.manifest["tile_count"] >= 3  # several tiles, each reading its own DEM window
    a = _pv(single.results["pv_buildings"])
    b = _pv(read_output(out, "pv_buildings"))
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    f = _pv(flat.results["pv_buildings"])
    assert (a["building_id"] == f["building_id"]).all()
    # terrain only adds shade; the ridge to the south shades the roofs near it (the farthest,
    # kilometres north, see it below their buildings' horizon) and costs the city yield
    assert (a["shading_loss_fraction"] >= f["shading_loss_fraction"] - 1e-12).all()
    assert (a["shading_loss_fraction"] > f["shading_loss_fraction"] + 0.01).sum() >= len(a) // 4
    assert (a["pv_yield_kwh_per_yr"] <= f["pv_yield_kwh_per_yr"] * (1 + 1e-12)).all()
    assert a["pv_yield_kwh_per_yr"].sum() < f["pv_yield_kwh_per_yr"].sum()


def test_terrain_use_is_recorded(runs):
    flat, single, out, res, home = runs
    assert "terrain not used" in flat.meta["pv"]["terrain_horizon"]
    assert "terrain horizons from the DEM" in single.meta["pv"]["terrain_horizon"]
    # the batch run says so too: in the catalog it commits and in its timings
    batch_meta = TwinStore("huzhou", home).meta()["pv"]
    assert batch_meta["terrain_horizon"] == single.meta["pv"]["terrain_horizon"]
    assert batch_meta["terrain_used"] is single.meta["pv"]["terrain_used"] is True
    assert flat.meta["pv"]["terrain_used"] is False
    manifest = json.loads((out / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert "pv_terrain" in manifest["timings_s"]


def test_terrain_window_holds_the_whole_files_cells(tmp_path):
    dem = np.arange(40 * 50, dtype="float64").reshape(40, 50)
    dem[3, 4] = np.nan
    tr = from_origin(1000.0, 9000.0, 100.0, 100.0)
    path = write_terrain(dem, tr, "EPSG:4549", tmp_path / "terrain.tif")
    arr, wtr = read_terrain_window(path, (2000.0, 6000.0, 2300.0, 6100.0), 500.0)
    # cols (1500-1000)/100 - 1 = 4 .. (2800-1000)/100 + 1 = 19;
    # rows (9000-6600)/100 - 1 = 23 .. (9000-5500)/100 + 1 = 36
    c0, r0 = round((wtr.c - tr.c) / 100.0), round((tr.f - wtr.f) / 100.0)
    assert (c0, r0) == (4, 23) and arr.shape == (36 - 23, 19 - 4)
    np.testing.assert_array_equal(arr, dem[r0:r0 + arr.shape[0], c0:c0 + arr.shape[1]])
    whole, _ = read_terrain_window(path, (0.0, 0.0, 1e6, 1e7), 0.0)
    np.testing.assert_array_equal(whole, dem)  # cut to the raster, NaN kept
    assert read_terrain_window(path, (1e6, 1e6, 1e6 + 10, 1e6 + 10), 100.0) is None
