"""Wind turbine placement: setbacks from buildings and settlements, elliptical spacing, projects."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.transform import from_origin

from engines.wind import screen as ws
from tests.conftest import X0, Y0
from twin.params import load_toml


def _grid(district: np.ndarray, cell_m: float = 100.0) -> ws.EligibilityGrid:
    """A grid whose eligible cells are ``district`` (no exclusions)."""
    return ws.EligibilityGrid(from_origin(X0, Y0, cell_m, cell_m), district.shape, "EPSG:4549",
                              cell_m, district.astype(np.int32), ["330100"], {})


def test_siting_defaults_are_data():
    raw = load_toml(ws.SITING_PATH)
    assert raw["setbacks_m"] == ws.SETBACKS_M
    p = ws.WindParams()
    assert (p.spacing_along_d, p.spacing_across_d) == (raw["spacing"]["along_d"], raw["spacing"]["across_d"])
    assert p.min_project_turbines == raw["project"]["min_turbines"] == 3
    assert p.max_slope_pct == raw["slope"]["max_pct"]
    assert p.min_full_load_hours == raw["viability"]["min_full_load_hours"] == 1300.0
    # every reason the data names is a known exclusion reason
    assert set(raw["setbacks_m"]) | set(raw["setback_rules"]) <= set(ws.REASONS)


def test_sites_keep_the_setback_of_every_building_and_settlement():
    """A dwelling, a factory and a village polygon in open land: no turbine within 500 m of the
    dwelling or the village, or 1.5 x (hub + D) = 345 m of the factory, and the nearest
    turbines sit close to those distances (the setback, not more, is what excludes)."""
    district = gpd.GeoDataFrame({"adcode": ["330100"]},
                                geometry=[shapely.box(X0, Y0, X0 + 8000, Y0 + 8000)], crs=4549)
    house = shapely.box(X0 + 1990, Y0 + 1990, X0 + 2010, Y0 + 2010)
    factory = shapely.box(X0 + 5950, Y0 + 1950, X0 + 6050, Y0 + 2050)
    village = shapely.Point(X0 + 4000, Y0 + 6000).buffer(400.0)
    buildings = gpd.GeoDataFrame({"use_class": ["rural_residential", "industrial"]},
                                 geometry=[house, factory], crs=4549)
    landcover = gpd.GeoDataFrame({"lc_class": ["built_up"]}, geometry=[village], crs=4549)
    sources = ws.exclusion_sources(buildings=buildings, landcover=landcover)
    setbacks = ws.WindParams().effective_setbacks()
    assert (setbacks["residential_building"], setbacks["built_up_land"]) == (500.0, 500.0)
    assert setbacks["other_building"] == pytest.approx(345.0)
    grid = ws.eligibility_grid(district, sources, setbacks, cell_m=50.0)
    sites = ws.place_turbines_greedy(grid, 120.0, 30.0)
    sites = sites.loc[ws.screen_points(sites, sources, setbacks) == ""]
    assert len(sites) > 20
    for geom, d in ((house, 500.0), (factory, 345.0), (village, 500.0)):
        dist = sites.distance(geom)
        assert dist.min() > d, (geom, d)
        assert dist.min() < d + 150.0, "the setback is the distance that binds"
    # the grid pre-screen already excludes them: the vector check removes (almost) nothing
    grid_sites = ws.place_turbines_greedy(grid, 120.0, 30.0)
    assert (ws.screen_points(grid_sites, sources, setbacks) == "").mean() > 0.97


def _ellipse_distance(pts: np.ndarray, axis_deg: float, a: float, b: float) -> np.ndarray:
    u, v = ws._rotated(pts[:, 0], pts[:, 1], axis_deg)
    du, dv = u[:, None] - u[None, :], v[:, None] - v[None, :]
    return np.sqrt((du / a) ** 2 + (dv / b) ** 2)


@settings(max_examples=40, deadline=None)
@given(mask=arrays(bool, (24, 30), elements=st.booleans()),
       axis=st.floats(0.0, 360.0), along=st.floats(3.0, 9.0), across=st.floats(2.0, 5.0),
       rotor=st.floats(60.0, 170.0))
def test_spacing_never_below_the_rotor_diameter_multiples(mask, axis, along, across, rotor):
    grid = _grid(mask, cell_m=100.0)
    sites = ws.place_turbines_greedy(grid, rotor, axis, spacing_along_d=along, spacing_across_d=across)
    assert len(sites) <= int(mask.sum())
    assert (len(sites) > 0) == bool(mask.any())  # the best cell is always taken
    pts = np.column_stack([sites.geometry.x, sites.geometry.y])
    r, c, inside = grid.cell_of(pts[:, 0], pts[:, 1])
    assert inside.all() and mask[r, c].all()
    if len(pts) > 1:
        e = _ellipse_distance(pts, axis, along * rotor, across * rotor)
        np.fill_diagonal(e, np.inf)
        assert e.min() >= 1.0 - 1e-6
        d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(d, np.inf)
        assert d.min() >= min(along, across) * rotor - 1e-6


def test_greedy_takes_the_best_resource_first_and_packs_a_block_like_a_lattice():
    mask = np.ones((40, 40), bool)
    grid = _grid(mask)
    score = np.zeros(mask.shape)
    score[5, 7] = 10.0  # the windiest cell
    sites = ws.place_turbines_greedy(grid, 100.0, 0.0, score=score)
    x, y = X0 + 750.0, Y0 - 550.0
    assert np.min(np.hypot(sites.geometry.x - x, sites.geometry.y - y)) < 1e-6
    lattice = ws.place_turbines(grid, 100.0, 0.0)
    # an elliptical rule lets rows stagger, so a block may hold a few more than the 5 D x 3 D lattice
    assert 0.8 * len(lattice) <= len(sites) <= 1.25 * len(lattice)


def test_an_isolated_small_patch_yields_no_site():
    """A 4 km block keeps its turbines; a 300 m patch between villages (room for 1) keeps none."""
    mask = np.zeros((60, 60), bool)
    mask[5:45, 5:45] = True        # 4 x 4 km
    mask[52:55, 52:55] = True      # 300 x 300 m, isolated
    grid = _grid(mask)
    placed = ws.place_turbines_greedy(grid, 120.0, 30.0)
    r, c, _ = grid.cell_of(placed.geometry.x, placed.geometry.y)
    assert (r >= 52).any(), "the patch would get a turbine without the project rule"
    labels = ws.eligible_areas(grid)
    kept = ws.drop_small_projects(placed, grid, labels, 3)
    r, c, _ = grid.cell_of(kept.geometry.x, kept.geometry.y)
    assert len(kept) >= 3 and not (r >= 52).any()
    assert kept["wind_area_id"].nunique() == 1
    kept["capacity_mw"] = 2.5
    areas = ws.area_polygons(grid, labels, kept)
    assert len(areas) == 1 and areas["n_turbines"].iloc[0] == len(kept)
    assert areas["area_km2"].iloc[0] == pytest.approx(16.0)
    assert areas.geometry.iloc[0].area == pytest.approx(16e6)
    # two turbines in one area are no project either
    assert len(ws.drop_small_projects(placed.iloc[:0], grid, labels, 3)) == 0
    pair = mask.copy()
    pair[:] = False
    pair[5:8, 5:20] = True  # 1.5 km strip: room for 2-3 turbines across the wind
    g2 = _grid(pair)
    p2 = ws.place_turbines_greedy(g2, 120.0, 90.0)
    k2 = ws.drop_small_projects(p2, g2, ws.eligible_areas(g2), len(p2) + 1)
    assert len(k2) == 0


def test_lattice_placement_is_still_available():
    assert ws.WindParams(placement="lattice").placement == "lattice"
    with pytest.raises(Exception, match="placement"):
        ws.WindParams(placement="grid").check()


def test_all_pairs_helper_matches_itertools():
    pts = np.array([[0.0, 0.0], [300.0, 0.0], [0.0, 600.0]])
    e = _ellipse_distance(pts, 0.0, 600.0, 300.0)
    for i, j in itertools.combinations(range(3), 2):
        du, dv = pts[i, 1] - pts[j, 1], pts[i, 0] - pts[j, 0]  # axis 0 deg: along = north
        assert e[i, j] == pytest.approx(np.hypot(du / 600.0, dv / 300.0))


@settings(max_examples=30, deadline=None)
@given(mask=arrays(bool, (30, 30), elements=st.booleans()), axis=st.floats(0.0, 180.0),
       min_turbines=st.integers(1, 6))
def test_every_kept_area_holds_the_minimum_project(mask, axis, min_turbines):
    grid = _grid(mask)
    placed = ws.place_turbines_greedy(grid, 60.0, axis)
    labels = ws.eligible_areas(grid)
    kept = ws.drop_small_projects(placed, grid, labels, min_turbines)
    assert len(kept) <= len(placed)
    counts = kept["wind_area_id"].value_counts()
    assert (counts >= min_turbines).all()
    # nothing dropped that sat in an area holding enough turbines
    r, c, _ = grid.cell_of(placed.geometry.x, placed.geometry.y)
    per_area = np.bincount(labels[r, c], minlength=int(labels.max()) + 1)
    assert len(kept) == int(per_area[per_area >= min_turbines].sum())
