"""A DEM's terrain horizon reaches rooftop PV: a ridge to the south costs yield, flat land costs none."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from engines.pv.rooftop import read_terrain, rooftop_potential
from engines.pv.scenarios import load_scenarios
from engines.pv.weather import location_from_meta, read_epw

EPW = (Path(__file__).resolve().parents[3] / "data" / "real" / "weather"
       / "CHN_Zhejiang.Hangzhou.584570_SWERA.epw")
CELL_M = 50.0
ORIGIN = (-3000.0, 3000.0)  # x of the west edge, y of the north edge [m]


@pytest.fixture(scope="module")
def setting():
    weather, meta = read_epw(EPW)
    b = gpd.GeoDataFrame({"building_id": ["a"], "height_m": [9.0], "roof_type": ["flat"],
                          "use_class": ["residential"], "is_new_build": [False],
                          "is_public_institution": [False]},
                         geometry=[box(0, 0, 12, 10)], crs=4549)
    return weather, location_from_meta(meta), b


def terrain(kind: str) -> tuple[np.ndarray, object]:
    n = int(6000 / CELL_M)
    dem = np.full((n, n), 20.0)
    if kind == "ridge_south":  # a 400 m ridge from 300 to 600 m south of the building
        ys = ORIGIN[1] - (np.arange(n) + 0.5) * CELL_M
        dem[(ys < -300) & (ys > -600), :] = 420.0
    return dem, from_origin(*ORIGIN, CELL_M, CELL_M)


def test_ridge_to_the_south_raises_the_horizon_and_lowers_the_yield(setting):
    weather, loc, b = setting
    f0, pb0 = rooftop_potential(b, weather, loc, load_scenarios())
    f1, pb1 = rooftop_potential(b, weather, loc, load_scenarios(), terrain=terrain("ridge_south"))
    south = f1["horizon_elev_deg_180"].to_numpy()
    # the ridge top, 400 m above ground and 300 m away, stands about atan(400/300) = 53 deg high
    # (without terrain the south horizon is the racked rows' own masking angle, about 10 deg)
    assert (south > 40).all() and (south > f0["horizon_elev_deg_180"].to_numpy() + 30).all()
    np.testing.assert_allclose(f1["horizon_elev_deg_000"], f0["horizon_elev_deg_000"])  # nothing to the north
    assert pb1["pv_yield_kwh_per_yr"].sum() < 0.8 * pb0["pv_yield_kwh_per_yr"].sum()


def test_flat_terrain_changes_nothing(setting):
    weather, loc, b = setting
    _, pb0 = rooftop_potential(b, weather, loc, load_scenarios())
    _, pb1 = rooftop_potential(b, weather, loc, load_scenarios(), terrain=terrain("flat"))
    np.testing.assert_allclose(pb1["pv_yield_kwh_per_yr"], pb0["pv_yield_kwh_per_yr"], rtol=1e-9)


def test_read_terrain_reprojects_a_lonlat_dem_to_metres(tmp_path):
    p = tmp_path / "copdem_glo30.tif"
    arr = np.linspace(0, 300, 40 * 40, dtype="float32").reshape(40, 40)
    with rasterio.open(p, "w", driver="GTiff", height=40, width=40, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(120.0, 30.9, 1 / 3600, 1 / 3600),
                       nodata=-32767.0) as dst:
        dst.write(arr, 1)
    dem, tr = read_terrain(p, "EPSG:4549")
    assert 20 < abs(tr.a) < 35  # 1 arc-second is about 27 m (east-west) at 30.9 N
    assert np.nanmin(dem) >= -1 and np.nanmax(dem) <= 301
