"""Real-format files inside Huzhou imported into a small built twin: buildings, heights, land cover, wind."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from shell.importer import import_layer
from twin.errors import ConfigError, SchemaError, TwinError
from twin.store import TwinStore

LON, LAT = 120.09, 30.87  # central Huzhou (Wuxing)
CRS_M = "EPSG:4549"


def squares_m(n: int, size_m: float = 20.0, step_m: float = 60.0) -> gpd.GeoSeries:
    """n square footprints in a row, in lon/lat, built in metres around central Huzhou."""
    c = gpd.GeoSeries([shapely.Point(LON, LAT)], crs=4326).to_crs(CRS_M).iloc[0]
    boxes = [shapely.box(c.x + i * step_m, c.y, c.x + i * step_m + size_m, c.y + size_m) for i in range(n)]
    return gpd.GeoSeries(boxes, crs=CRS_M).to_crs(4326)


def write_overture(path, n=4):
    gdf = gpd.GeoDataFrame(
        {
            "id": [f"08b{i:05d}" for i in range(n)],
            "version": 1,
            "height": [30.0, None, None, 6.0],
            "num_floors": [10, 4, None, None],
            "roof_shape": ["flat", "hipped", None, "gabled"],
            "class": ["apartments", "office", None, "house"],
            "subtype": ["residential", "commercial", "industrial", "residential"],
            "is_underground": False,
            "sources": [[{"property": "", "dataset": "OpenStreetMap", "record_id": f"w{i}"}]
                        for i in range(n)],
        },
        geometry=list(squares_m(n)), crs="OGC:CRS84",
    )
    gdf.to_parquet(path)


def test_overture_geoparquet_imports_with_mapped_values_and_defaults(twin_copy, tmp_path):
    p = tmp_path / "overture_buildings.parquet"
    write_overture(p)
    report = import_layer("huzhou", "buildings", p)
    assert report.n_out == 4
    store = TwinStore("huzhou")
    b = store.read_layer("buildings").set_index("building_id")
    assert list(b.index) == ["ovt-08b00000", "ovt-08b00001", "ovt-08b00002", "ovt-08b00003"]
    assert b.loc["ovt-08b00000", "height_m"] == 30.0 and b.loc["ovt-08b00000", "floors"] == 10
    assert b.loc["ovt-08b00001", "height_m"] == pytest.approx(12.0)  # 4 floors x 3.0 m
    assert b.loc["ovt-08b00002", "height_m"] == pytest.approx(10.0)  # the flagged default
    assert b["height_source"].tolist() == ["observed", "estimated", "estimated", "observed"]
    assert b["height_defaulted"].tolist() == [False, False, True, False]  # only the 10 m default
    assert b["roof_type"].tolist() == ["flat", "hip", "unknown", "gable"]
    assert b["use_class"].tolist() == ["residential", "office", "industrial", "residential"]
    assert not b["is_synthetic"].any()
    assert b["source"].str.contains("Overture Maps buildings, ODbL").all()
    assert (b["footprint_area_m2"].between(390, 410)).all()
    assert (b["district_adcode"] != "").all()
    entry = store.meta()["import_report:buildings"]
    assert entry["dataset"] == "overture" and "ODbL" in entry["licence"]


def test_google_open_buildings_csv_imports(twin_copy, tmp_path):
    geoms = squares_m(3)
    df = pd.DataFrame({
        "latitude": geoms.to_crs(CRS_M).centroid.to_crs(4326).y,
        "longitude": geoms.to_crs(CRS_M).centroid.to_crs(4326).x, "area_in_meters": 400.0,
        "confidence": [0.9, 0.75, 0.7], "geometry": geoms.to_wkt(),
        "full_plus_code": ["8PM3V3C9+2X", "8PM3V3C9+3X", "8PM3V3C9+4X"],
        "building_height": [18.0, np.nan, 9.5],
    })
    p = tmp_path / "open_buildings_v3_polygons_2p5d.csv"
    df.to_csv(p, index=False)
    report = import_layer("huzhou", "buildings", p)
    # confidence 0.7 is below the default 0.75 (data/buildings/open_datasets.toml): dropped, counted
    assert (report.n_in, report.n_out) == (3, 2)
    assert "1 Google building(s) below confidence 0.75" in report.summary()
    assert report.rejected[0][0] == "gob-8PM3V3C9+4X"
    b = TwinStore("huzhou").read_layer("buildings").set_index("building_id")
    assert "gob-8PM3V3C9+4X" not in b.index
    assert b.loc["gob-8PM3V3C9+2X", "height_m"] == 18.0
    assert b.loc["gob-8PM3V3C9+3X", "height_source"] == "estimated"
    assert b["source"].str.contains("Google Open Buildings 2.5D heights, CC BY-4.0").all()


def write_microsoft(path, heights):
    lines = [json.dumps({"type": "Feature", "properties": {"height": h, "confidence": -1.0},
                         "geometry": shapely.geometry.mapping(g)})
             for h, g in zip(heights, squares_m(len(heights)), strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_microsoft_geojsonl_imports_and_height_raster_fills_unknown_heights(twin_copy, tmp_path):
    p = tmp_path / "China.geojsonl"
    write_microsoft(p, [-1.0, 15.0, -1.0, -1.0])
    import_layer("huzhou", "buildings", p)
    store = TwinStore("huzhou")
    b = store.read_layer("buildings")
    assert b["height_source"].tolist() == ["estimated", "observed", "estimated", "estimated"]
    assert b["source"].str.contains("Microsoft Global ML Building Footprints, ODbL").all()

    # A 10 m building-height raster in the metric CRS: building 0 on 24 m cells, building 2 on
    # cells 5 / 7 / 9 (median 7), building 3 off the raster's valid cells (nodata).
    mb = b.to_crs(CRS_M)
    x0, y0 = mb.total_bounds[0] - 20, mb.total_bounds[3] + 20
    tr = from_origin(x0, y0, 10.0, 10.0)
    ncols = int((mb.total_bounds[2] - x0) // 10) + 4
    arr = np.full((8, ncols), -9999.0, dtype="float32")
    from rasterio.features import rasterize

    for i, value in ((0, 24.0), (1, 99.0)):
        mask = rasterize([(mb.geometry.iloc[i], 1)], out_shape=arr.shape, transform=tr, fill=0,
                         all_touched=True)
        arr[mask == 1] = value
    mask2 = rasterize([(mb.geometry.iloc[2], 1)], out_shape=arr.shape, transform=tr, fill=0)
    vals = np.resize([5.0, 7.0, 9.0], int(mask2.sum()))
    if mask2.sum() == 4:
        vals = np.array([5.0, 7.0, 7.0, 9.0])
    arr[mask2 == 1] = vals
    hp = tmp_path / "CNBH10m_huzhou.tif"
    with rasterio.open(hp, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1,
                       dtype="float32", crs=CRS_M, transform=tr, nodata=-9999.0) as dst:
        dst.write(arr, 1)
    report = import_layer("huzhou", "building_height", hp)
    b2 = store.read_layer("buildings")
    assert b2["height_m"].iloc[0] == pytest.approx(24.0)
    assert b2["height_m"].iloc[1] == 15.0  # observed height untouched by the raster's 99 m
    assert b2["height_m"].iloc[2] == pytest.approx(7.0)
    assert b2["height_m"].iloc[3] == pytest.approx(10.0)  # no cell: the estimate stays
    assert b2["height_source"].tolist() == ["observed", "observed", "observed", "estimated"]
    assert b2["floors"].iloc[0] == 8
    assert b2["gross_floor_area_m2"].iloc[0] == pytest.approx(b2["footprint_area_m2"].iloc[0] * 8)
    assert "CNBH10m_huzhou.tif" in b2["source"].iloc[0]
    assert len(report.repaired) == 2 and len(report.rejected) == 1
    assert store.meta()["import_report:building_height"]["n_filled"] == 2


def test_height_raster_errors(twin_copy, tmp_path):
    p = tmp_path / "far.tif"
    with rasterio.open(p, "w", driver="GTiff", height=4, width=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(116.3, 40.0, 0.001, 0.001)) as dst:
        dst.write(np.full((4, 4), 20.0, dtype="float32"), 1)
    with pytest.raises(SchemaError, match="no building of the twin has an estimated height"):
        import_layer("huzhou", "building_height", p)  # the demo twin's buildings are all synthetic
    m = tmp_path / "m.geojsonl"
    write_microsoft(m, [-1.0])
    import_layer("huzhou", "buildings", m)
    with pytest.raises(SchemaError, match="does not overlap the twin's buildings"):
        import_layer("huzhou", "building_height", p)  # a raster over Beijing


def test_unknown_overture_columns_fall_back_to_the_twin_layout(twin_copy, tmp_path):
    p = tmp_path / "mine.parquet"
    gpd.GeoDataFrame({"building_id": ["a"], "height_m": [5.0]}, geometry=squares_m(1).values,
                     crs=4326).to_parquet(p)
    import_layer("huzhou", "buildings", p)
    b = TwinStore("huzhou").read_layer("buildings")
    assert b["source"].iloc[0] == "imported from mine.parquet"


def test_land_survey_polygons_map_bamboo_and_tea(twin_copy, tmp_path):
    codes = ["0301", "0302", "0202", "0101", "1101", "05H1", "0202K"]
    geoms = squares_m(len(codes), size_m=50.0, step_m=80.0)
    gdf = gpd.GeoDataFrame({"BSM": range(len(codes)), "DLBM": codes,
                            "DLMC": ["乔木林地", "竹林地", "茶园", "水田", "河流水面", "商业服务业设施用地",
                                     "可调整茶园"]},
                           geometry=geoms.to_crs(CRS_M).values, crs=CRS_M)
    p = tmp_path / "dltb_2022.gpkg"
    gdf.to_file(p, driver="GPKG")
    import_layer("huzhou", "landcover", p, scheme="cn_landsurvey")
    lc = TwinStore("huzhou").read_layer("landcover")
    assert lc["lc_class"].tolist() == ["mixed_forest", "bamboo_forest", "tea_garden", "cropland", "water",
                                       "built_up", "tea_garden"]
    assert lc["source_class"].tolist() == codes
    assert (lc["source_scheme"] == "cn_landsurvey").all()
    assert lc["area_m2"].iloc[0] == pytest.approx(2500.0, rel=1e-3)


def test_land_survey_unknown_codes_are_refused(twin_copy, tmp_path):
    gdf = gpd.GeoDataFrame({"DLBM": ["0302", "9999", "9999"]}, geometry=squares_m(3).values, crs=4326)
    p = tmp_path / "bad.gpkg"
    gdf.to_file(p, driver="GPKG")
    before = TwinStore("huzhou").read_layer("landcover")
    with pytest.raises(SchemaError, match=r"class codes \{'9999': 2\}.*cn_landsurvey"):
        import_layer("huzhou", "landcover", p, scheme="cn_landsurvey")
    assert len(TwinStore("huzhou").read_layer("landcover")) == len(before)  # twin unchanged
    with pytest.raises(SchemaError, match="--scheme cn_landsurvey"):
        import_layer("huzhou", "landcover", p)
    with pytest.raises(ConfigError, match="cn_landsurvey, modis_igbp, worldcover"):
        import_layer("huzhou", "landcover", p, scheme="corine")
    gdf.rename(columns={"DLBM": "code"}).to_file(tmp_path / "nocol.gpkg", driver="GPKG")
    with pytest.raises(SchemaError, match="--rename COLUMN=source_class"):
        import_layer("huzhou", "landcover", tmp_path / "nocol.gpkg", scheme="cn_landsurvey")


def write_landcover_raster(path, codes, crs="EPSG:4326"):
    arr = np.asarray(codes, dtype="uint8")
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1,
                       dtype="uint8", crs=crs, transform=from_origin(LON, LAT, 1e-4, 1e-4), nodata=0) as dst:
        dst.write(arr, 1)


# The import gate asks a raster to cover half the city; these small test tiles cover less
# (min_cover=0, as `--min-cover 0` on the command line).
def test_worldcover_raster_imports_with_its_scheme(twin_copy, tmp_path):
    p = tmp_path / "ESA_WorldCover_10m_2021_v200_N30E120_Map.tif"
    write_landcover_raster(p, [[10, 10, 40, 50], [80, 90, 30, 0], [20, 60, 95, 10]])
    import_layer("huzhou", "landcover_raster", p, scheme="worldcover", min_cover=0)
    _, meta = TwinStore("huzhou").raster_path("landcover_raster")
    assert meta["scheme"] == "worldcover"
    with pytest.raises(TwinError, match=r"class codes \[20, 30, 40"):
        import_layer("huzhou", "landcover_raster", p, min_cover=0)  # WorldCover codes read as MODIS IGBP


def test_land_survey_raster_codes_are_integers(twin_copy, tmp_path):
    p = tmp_path / "survey.tif"
    arr = np.array([[301, 302], [202, 1101]], dtype="uint16")
    with rasterio.open(p, "w", driver="GTiff", height=2, width=2, count=1, dtype="uint16", crs="EPSG:4326",
                       transform=from_origin(LON, LAT, 1e-4, 1e-4), nodata=0) as dst:
        dst.write(arr, 1)
    import_layer("huzhou", "landcover_raster", p, scheme="cn_landsurvey", min_cover=0)
    assert TwinStore("huzhou").raster_path("landcover_raster")[1]["scheme"] == "cn_landsurvey"


def write_grid(path, value, *, crs="EPSG:4326", nodata=-9999.0):
    arr = np.full((20, 20), value, dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", height=20, width=20, count=1, dtype="float32", crs=crs,
                       transform=from_origin(LON - 0.01, LAT + 0.01, 0.001, 0.001), nodata=nodata) as dst:
        dst.write(arr, 1)


def test_global_wind_atlas_weibull_rasters_import_with_their_height(twin_copy, tmp_path):
    a, k = tmp_path / "CHN_combined-Weibull-A_100m.tif", tmp_path / "CHN_combined-Weibull-k_100m.tif"
    write_grid(a, 6.8)
    write_grid(k, 2.1)
    with pytest.raises(SchemaError, match="needs its height above ground"):
        import_layer("huzhou", "wind_weibull_a", a, min_cover=0)
    import_layer("huzhou", "wind_weibull_a", a, height_m=100, min_cover=0)
    with pytest.raises(SchemaError, match=r"Weibull shapes k outside 0.5-10.*combined-Weibull-k"):
        import_layer("huzhou", "wind_weibull_k", _k_bad(tmp_path), height_m=100, min_cover=0)
    import_layer("huzhou", "wind_weibull_k", k, height_m=100, min_cover=0)
    store = TwinStore("huzhou")
    assert store.raster_path("wind_weibull_a")[1]["height_m"] == 100.0
    assert store.raster_path("wind_weibull_k")[1]["height_m"] == 100.0
    # the wind screen and rooftop PV find what was imported
    from engines.pv import rooftop
    from engines.pv.params import RooftopParams
    from engines.wind import screen
    from shell.runners import StoreSource
    from twin.config import load_city

    source = StoreSource(store, load_city("huzhou"))
    inputs = screen.load(source, screen.WindParams())
    assert inputs.weibull_rasters is not None and inputs.weibull_rasters[0][0].name.endswith(".tif")
    pv_in = rooftop.load(source, RooftopParams(), buildings=False)
    assert pv_in.terrain is None and "no DEM in the twin" in pv_in.terrain_note
    dem = tmp_path / "copdem.tif"
    write_grid(dem, 35.0)
    import_layer("huzhou", "dem", dem, min_cover=0)
    pv_in = rooftop.load(source, RooftopParams(), buildings=False)
    assert pv_in.terrain is not None and "terrain horizons from the DEM" in pv_in.terrain_note
    assert np.nanmax(pv_in.terrain[0]) == pytest.approx(35.0)


def _k_bad(tmp_path):
    p = tmp_path / "k_with_speeds.tif"
    write_grid(p, 12.5)
    return p
