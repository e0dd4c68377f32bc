"""Ground PV on other land: user layers, land-cover candidates, exclusions, slope, capacity."""

import affine
import geopandas as gpd
import numpy as np
import pytest
import shapely

from engines.pv.facets import row_spacing
from engines.pv.ground import landcover_candidates, screen_ground, user_candidates
from engines.pv.water import load_site_params
from twin.errors import SchemaError

LAT = 30.23
CRS = "EPSG:4549"


def rect(x, y, w, h):
    return shapely.box(x, y, x + w, y + h)


def users(rows):
    return gpd.GeoDataFrame({"site_id": [r[0] for r in rows], "category": [r[1] for r in rows],
                             "district_adcode": "330110"},
                            geometry=[r[2] for r in rows], crs=CRS)


def no_setback(**extra):
    cats = {c: {"edge_setback_m": 0.0} for c in load_site_params()["ground"]["categories"]}
    return load_site_params(ground={"categories": cats, **extra})


def test_user_mine_capacity_is_area_times_coverage_times_density():
    p = no_setback()
    cand = user_candidates(users([("m1", "abandoned_mine", rect(0, 0, 400, 300))]), p)
    out, _ = screen_ground(cand, latitude_deg=LAT, params=p)
    r = out.iloc[0]
    assert r["site_exclusion_reason"] == "" and r["pv_site_id"] == "user-m1"
    cp = p["ground"]["categories"]["abandoned_mine"]
    rule = row_spacing(p["mountings"]["ground_fixed"]["tilt_deg"], LAT, solar_window_h=(9.0, 15.0))[1]
    gcr = min(rule, cp["gcr_max"])
    dens = cp["array_coverage_ratio"] * gcr * p["common"]["module_power_density_kw_per_m2"] * 1000
    assert r["capacity_mwp"] == pytest.approx(0.12 * dens, rel=1e-12)


def test_agrivoltaic_gcr_is_capped():
    p = no_setback()
    cand = user_candidates(users([("f", "farmland", rect(0, 0, 400, 300))]), p)
    out, _ = screen_ground(cand, latitude_deg=LAT, params=p)
    assert out["ground_coverage_ratio"].iloc[0] == pytest.approx(
        p["ground"]["categories"]["farmland"]["gcr_max"])
    assert out["ground_coverage_ratio"].iloc[0] < row_spacing(20.0, LAT)[1]


def test_exclusions_remove_known_areas():
    p = no_setback()
    site = rect(0, 0, 400, 300)                                   # 12 ha landfill
    water = gpd.GeoDataFrame({"water_id": ["w"], "water_type": ["pond"]},
                             geometry=[rect(300, 0, 200, 100)], crs=CRS)       # 1 ha inside
    protected = gpd.GeoDataFrame(geometry=[rect(-50, 200, 150, 200)], crs=CRS)  # 1 ha inside
    lc = gpd.GeoDataFrame({"landcover_id": ["b"], "lc_class": ["built_up"]},
                          geometry=[rect(0, 0, 100, 50)], crs=CRS)              # 0.5 ha inside
    cand = user_candidates(users([("l", "closed_landfill", site),
                                  ("gone", "closed_landfill", rect(1000, 0, 120, 100))]), p)
    red = gpd.GeoDataFrame(geometry=[rect(990, -10, 200, 200)], crs=CRS)
    out, _ = screen_ground(cand, latitude_deg=LAT, params=p, water=water, landcover=lc,
                           protected_areas=gpd.GeoDataFrame(
                               geometry=[*protected.geometry, *red.geometry], crs=CRS))
    r = out.set_index("pv_site_id").loc["user-l"]
    assert r["removed_water_m2"] == pytest.approx(10_000)
    assert r["removed_protected_area_m2"] == pytest.approx(10_000)
    assert r["removed_built_up_m2"] == pytest.approx(5_000)
    assert r["usable_area_m2"] == pytest.approx(120_000 - 25_000)
    assert out.set_index("pv_site_id").loc["user-gone", "site_exclusion_reason"] == "protected_area"


def test_slope_removes_the_steep_share_and_excludes_steep_sites():
    p = no_setback()
    # 10 m grid over x 0..1000, y 0..500; west half 30°, east half 5°
    slope = np.where(np.arange(100)[None, :] < 50, 30.0, 5.0) * np.ones((50, 1))
    tr = affine.Affine(10.0, 0.0, 0.0, 0.0, -10.0, 500.0)
    cand = user_candidates(users([("half", "abandoned_mine", rect(300, 100, 400, 300)),
                                  ("steep", "abandoned_mine", rect(0, 100, 300, 300))]), p)
    out, _ = screen_ground(cand, latitude_deg=LAT, params=p, slope_deg=slope, slope_transform=tr)
    o = out.set_index("pv_site_id")
    assert o.loc["user-half", "usable_area_m2"] == pytest.approx(60_000)
    assert o.loc["user-half", "removed_slope_m2"] == pytest.approx(60_000)
    assert o.loc["user-steep", "site_exclusion_reason"] == "slope"
    # without a DEM nothing is removed for slope
    out2, _ = screen_ground(cand, latitude_deg=LAT, params=p)
    assert (out2["removed_slope_m2"] == 0).all() and (out2["site_exclusion_reason"] == "").all()


def test_too_small_and_setback():
    p = load_site_params()
    cand = user_candidates(users([("tiny", "abandoned_mine", rect(0, 0, 80, 80)),
                                  ("ok", "abandoned_mine", rect(1000, 0, 200, 150))]), p)
    out, _ = screen_ground(cand, latitude_deg=LAT, params=p)
    o = out.set_index("pv_site_id")
    assert o.loc["user-tiny", "site_exclusion_reason"] == "too_small"
    sb = p["ground"]["categories"]["abandoned_mine"]["edge_setback_m"]
    assert o.loc["user-ok", "usable_area_m2"] == pytest.approx((200 - 2 * sb) * (150 - 2 * sb))


def test_landcover_candidates_follow_the_category_table():
    lc = gpd.GeoDataFrame({
        "landcover_id": ["a", "b", "c", "d", "e", "f", "g"],
        "lc_class": ["tea_garden", "cropland", "evergreen_broadleaf_forest", "shrubland",
                     "built_up", "bamboo_forest", "grassland"],
        "district_adcode": "330127", "is_synthetic": True, "source": "test"},
        geometry=[rect(i * 1000, 0, 500, 500) for i in range(7)], crs=CRS)
    cand = landcover_candidates(lc)
    got = dict(zip(cand["landcover_id"], cand["site_category"], strict=True))
    # by default no land a city would not give to PV: no cultivated land, no shrubland
    # (counted as forest in Zhejiang), no arbor or bamboo forest
    assert got == {"a": "tea_garden", "g": "forest_land"}
    assert cand["is_synthetic"].all()
    # a scenario may open them, as parameters
    opened = load_site_params(ground={"categories": {"farmland": {"lc_classes": ["cropland"]},
                                                     "forest_land": {"lc_classes": ["shrubland",
                                                                                     "grassland"]}}})
    cand = landcover_candidates(lc, opened)
    got = dict(zip(cand["landcover_id"], cand["site_category"], strict=True))
    assert got == {"a": "tea_garden", "b": "farmland", "d": "forest_land", "g": "forest_land"}


def test_user_layer_needs_known_categories():
    with pytest.raises(SchemaError, match="gold_mine"):
        user_candidates(users([("x", "gold_mine", rect(0, 0, 200, 200))]))
    bad = gpd.GeoDataFrame({"kind": ["abandoned_mine"]}, geometry=[rect(0, 0, 200, 200)], crs=CRS)
    with pytest.raises(SchemaError, match="category"):
        user_candidates(bad)
    with pytest.raises(SchemaError, match="duplicate"):
        user_candidates(users([("x", "abandoned_mine", rect(0, 0, 200, 200)),
                               ("x", "abandoned_mine", rect(500, 0, 200, 200))]))


def test_self_intersecting_user_polygon_is_repaired():
    bowtie = shapely.Polygon([(0, 0), (400, 400), (400, 0), (0, 400), (0, 0)])
    cand = user_candidates(users([("bow", "abandoned_mine", bowtie)]))
    with pytest.warns(UserWarning, match="bow"):
        out, rep = screen_ground(cand, latitude_deg=LAT)
    assert list(rep["feature_id"]) == ["user-bow"]
    assert out.geometry.is_valid.all()


def test_run_commits_ground_layers(twin_home, tmp_path):
    import shutil

    from shell.runners import run_engine
    from twin.store import TwinStore

    shutil.copytree(twin_home / "huzhou", tmp_path / "huzhou")
    mine = gpd.GeoDataFrame({"site_id": ["m1"], "category": ["abandoned_mine"]},
                            geometry=[shapely.Point(0, 0).buffer(300)], crs=CRS)
    store = TwinStore("huzhou", tmp_path)
    water = store.read_layer("water")
    mine = mine.set_geometry(mine.geometry.translate(*water.total_bounds[:2] - 2000))
    res = run_engine("pv_sites", "huzhou", home=tmp_path, user_sites=mine)
    out = {"ground_sites": res.results["ground_pv_sites"],
           "ground_exclusions": res.results["ground_pv_exclusions"]}
    gs = store.read_layer("ground_pv_sites")
    assert len(gs) == len(out["ground_sites"])
    gd = store.table("ground_pv_districts")
    assert gd.loc[gd["site_category"] == "all", "capacity_mwp"].sum() == pytest.approx(
        gs["capacity_mwp"].sum(), rel=1e-9)
    assert "user-m1" in set(out["ground_sites"]["pv_site_id"]) | set(
        out["ground_exclusions"]["pv_site_id"])
    assert not gs.loc[gs["pv_site_id"] == "user-m1", "is_synthetic"].any()


def test_read_slope_from_a_dem(tmp_path):
    import rasterio

    from engines.pv.sites import read_slope

    x0, y0, cell = 500_000.0, 3_350_000.0, 30.0
    cols = np.arange(40)
    dem = np.tile(0.5 * cols * cell, (30, 1)).astype("float32")  # rises 0.5 m per m eastwards
    path = tmp_path / "dem.tif"
    tr = affine.Affine(cell, 0, x0, 0, -cell, y0)
    with rasterio.open(path, "w", driver="GTiff", width=40, height=30, count=1, dtype="float32",
                       crs=CRS, transform=tr, nodata=-9999) as dst:
        dst.write(dem, 1)

    slope, str_ = read_slope(path, CRS)
    inner = slope[2:-2, 2:-2]
    np.testing.assert_allclose(inner[np.isfinite(inner)], np.degrees(np.arctan(0.5)), atol=0.05)
    assert str_.a == pytest.approx(cell)
