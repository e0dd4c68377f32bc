import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from engines.pv.facets import roof_facets
from engines.pv.shading import (
    facet_horizons,
    horizon_columns,
    horizon_from_dem,
    horizon_profiles,
    obstacles_from_polygons,
)
from twin.errors import ConfigError, SchemaError

ORIGIN = [[0.0, 0.0, 5.0]]


def deg(x):
    return math.degrees(math.atan(x))


def sampled_reference(point, polygons, heights, n_sectors=36, radius=300.0, step=0.02):
    """Brute force: sample every footprint edge densely and keep the max per sector."""
    px, py, pz = point
    w = 360.0 / n_sectors
    out = np.zeros(n_sectors)
    for poly, h in zip(polygons, heights, strict=True):
        if h <= pz:
            continue
        xy = np.asarray(poly.exterior.coords)
        for a, b in zip(xy[:-1], xy[1:], strict=True):
            n = max(int(np.hypot(*(b - a)) / step), 1) + 1
            t = np.linspace(0.0, 1.0, n)[:, None]
            pts = a + t * (b - a) - (px, py)
            d = np.hypot(pts[:, 0], pts[:, 1])
            ok = (d <= radius) & (d > 1e-9)
            az = np.degrees(np.arctan2(pts[ok, 0], pts[ok, 1])) % 360.0
            k = np.floor((az + w / 2) / w).astype(int) % n_sectors
            np.maximum.at(out, k, np.degrees(np.arctan((h - pz) / d[ok])))
    return out


# --- exact geometry -----------------------------------------------------------------


@pytest.mark.parametrize(("dist", "height"), [(30.0, 25.0), (12.5, 40.0), (150.0, 60.0)])
def test_wall_due_south_gives_atan_h_over_d(dist, height):
    wall = box(-200.0, -dist - 0.3, 200.0, -dist)  # long, thin block south of the point
    h = horizon_profiles(ORIGIN, obstacles_from_polygons([wall], [height]))
    south = horizon_columns().index("horizon_elev_deg_180")
    assert h[0, south] == pytest.approx(deg((height - 5.0) / dist), abs=0.1)
    assert h[0, south] == pytest.approx(deg((height - 5.0) / dist), abs=1e-9)
    # neighbouring sector: the nearest wall point is on the sector edge, 5 deg off south
    assert h[0, south - 1] == pytest.approx(
        deg((height - 5.0) * math.cos(math.radians(5.0)) / dist), abs=1e-9)
    assert (h[0, :9] == 0).all()  # nothing to the north


def test_open_field_and_far_block_give_zero():
    assert (horizon_profiles(ORIGIN, obstacles_from_polygons([], [])) == 0).all()
    far = obstacles_from_polygons([box(400, 0, 420, 20)], [200.0])
    assert (horizon_profiles(ORIGIN, far, radius_m=300.0) == 0).all()
    assert horizon_profiles(ORIGIN, far, radius_m=500.0).max() > 0


def test_neighbour_lower_than_roof_gives_zero():
    ob = obstacles_from_polygons([box(10, -10, 30, 10), box(-30, -10, -10, 10)], [5.0, 3.0])
    assert (horizon_profiles(ORIGIN, ob) == 0).all()


def test_sector_boundaries_follow_the_convention():
    # a pole at azimuth 7 deg lies in sector 1 (covers [5, 15)); at 4 deg in sector 0
    for az, sector in [(7.0, 1), (4.0, 0), (357.0, 0), (184.0, 18)]:
        x, y = 100 * math.sin(math.radians(az)), 100 * math.cos(math.radians(az))
        pole = box(x - 0.05, y - 0.05, x + 0.05, y + 0.05)
        h = horizon_profiles(ORIGIN, obstacles_from_polygons([pole], [50.0]))
        assert np.flatnonzero(h[0]).tolist() == [sector]


def test_own_building_is_excluded_and_courtyards_see_inner_walls():
    ring = Polygon(box(-50, -50, 50, 50).exterior.coords, [box(-10, -10, 10, 10).exterior.coords])
    ob = obstacles_from_polygons([ring, box(-5, -5, 5, 5)], [30.0, 60.0])
    h = horizon_profiles(ORIGIN, ob, exclude=[1])  # point on building 1, in the courtyard
    # worst sectors flank the corners: [35, 45) reaches the north wall at 10 / cos 35 m
    assert h[0].min() == pytest.approx(deg(25.0 * math.cos(math.radians(35.0)) / 10.0))
    assert h[0].max() == pytest.approx(deg(25.0 / 10.0))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_exact_kernel_matches_dense_sampling(seed):
    rng = np.random.default_rng(seed)
    polys, heights = [], []
    for _ in range(6):
        cx, cy = rng.uniform(-120, 120, 2)
        if math.hypot(cx, cy) < 25:
            continue
        w, h = rng.uniform(3, 30, 2)
        polys.append(box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        heights.append(rng.uniform(0, 40))
    point = (0.0, 0.0, 8.0)
    got = horizon_profiles([point], obstacles_from_polygons(polys, heights))[0]
    ref = sampled_reference(point, polys, heights)
    assert (got >= ref - 1e-9).all()  # the exact value bounds any sample from above
    assert np.abs(got - ref).max() < 0.05


# --- invariants ---------------------------------------------------------------------


def random_scene(data):
    n = data.draw(st.integers(1, 8))
    polys, heights = [], []
    for _ in range(n):
        cx = data.draw(st.floats(-150, 150))
        cy = data.draw(st.floats(-150, 150))
        w = data.draw(st.floats(2, 40))
        h = data.draw(st.floats(2, 40))
        polys.append(box(cx, cy, cx + w, cy + h))
        heights.append(data.draw(st.floats(0, 80)))
    pts = [[data.draw(st.floats(-100, 100)), data.draw(st.floats(-100, 100)),
            data.draw(st.floats(0, 30))] for _ in range(3)]
    return polys, np.array(heights), np.array(pts)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_raising_a_neighbour_never_lowers_any_angle(data):
    polys, heights, pts = random_scene(data)
    i = data.draw(st.integers(0, len(polys) - 1))
    before = horizon_profiles(pts, obstacles_from_polygons(polys, heights))
    raised = heights.copy()
    raised[i] += data.draw(st.floats(0.1, 50))
    after = horizon_profiles(pts, obstacles_from_polygons(polys, raised))
    assert (after >= before - 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_results_do_not_depend_on_obstacle_order(data):
    polys, heights, pts = random_scene(data)
    perm = data.draw(st.permutations(range(len(polys))))
    a = horizon_profiles(pts, obstacles_from_polygons(polys, heights))
    b = horizon_profiles(pts, obstacles_from_polygons([polys[k] for k in perm], heights[perm]))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_many_points_match_one_at_a_time():
    rng = np.random.default_rng(1)
    polys = [box(x, y, x + 15, y + 10) for x, y in rng.uniform(-200, 200, (40, 2))]
    ob = obstacles_from_polygons(polys, rng.uniform(5, 60, 40))
    pts = np.column_stack([rng.uniform(-200, 200, (25, 2)), rng.uniform(0, 20, 25)])
    together = horizon_profiles(pts, ob, cell_m=25.0)
    single = np.vstack([horizon_profiles(p[None], ob) for p in pts])
    np.testing.assert_allclose(together, single, atol=1e-12)


# --- API ----------------------------------------------------------------------------


def test_horizon_columns():
    cols = horizon_columns()
    assert len(cols) == 36 and cols[:2] == ["horizon_elev_deg_000", "horizon_elev_deg_010"]
    assert cols[-1] == "horizon_elev_deg_350"
    assert horizon_columns(8)[1] == "horizon_elev_deg_045"
    with pytest.raises(ConfigError, match="divide 360"):
        horizon_columns(7)


def test_bad_inputs():
    ob = obstacles_from_polygons([box(0, 0, 1, 1)], [1.0])
    with pytest.raises(ConfigError, match="shape"):
        horizon_profiles([[0.0, 0.0]], ob)
    with pytest.raises(ConfigError, match="not finite"):
        horizon_profiles([[0.0, np.nan, 1.0]], ob)
    with pytest.raises(ConfigError, match="heights"):
        obstacles_from_polygons([box(0, 0, 1, 1)], [np.nan])


# --- terrain ------------------------------------------------------------------------


def dem_with_ridge(dist, rise):
    """10 m DEM, ground at 100 m, a ridge `rise` m higher from `dist` m east of x = 0."""
    x0, y0, res = -2000.0, 2000.0, 10.0
    cols = np.arange(400) * res + x0 + res / 2
    dem = np.full((400, 400), 100.0)
    dem[:, cols >= dist] += rise
    return dem, (res, 0.0, x0, 0.0, -res, y0)


def test_dem_flat_is_zero_and_ridge_gives_its_angle():
    flat = np.full((50, 50), 20.0)
    h = horizon_from_dem(ORIGIN, flat, (10.0, 0, -250.0, 0, -10.0, 250.0))
    assert (h == 0).all()
    dem, tr = dem_with_ridge(500.0, 80.0)
    h = horizon_from_dem(ORIGIN, dem, tr, radius_m=1900.0, refraction_coefficient=1.0)
    east = horizon_columns().index("horizon_elev_deg_090")
    assert h[0, east] == pytest.approx(deg(75.0 / 500.0), abs=0.2)
    # the ridge (x >= 500 m) is within 1900 m only for azimuths with sin(az) > 500/1900
    assert h[0, :2].max() == 0 and h[0, 18:].max() == 0
    assert (h[0, 2:17] > 0).all()
    curved = horizon_from_dem(ORIGIN, dem, tr, radius_m=1900.0)
    assert (curved <= h).all()


def test_facet_horizons_combines_buildings_and_terrain_on_facet_index():
    b = gpd.GeoDataFrame(
        {"building_id": ["lo", "hi"], "height_m": [6.0, 40.0], "roof_type": ["flat", "flat"]},
        geometry=[box(0, 0, 20, 20), box(-40, 0, -20, 20)], crs=4549)
    f = roof_facets(b, latitude_deg=30.0)
    f.index = pd.Index([7, 3])
    h = facet_horizons(f, b, samples_per_sector=0)  # exact sector maxima
    assert list(h.index) == [7, 3] and list(h.columns) == horizon_columns()
    assert h.loc[3].max() == 0  # the tall block sees nothing above itself
    west = "horizon_elev_deg_270"
    assert h.loc[7, west] == pytest.approx(deg(34.0 / 30.0))
    dem, tr = dem_with_ridge(500.0, 80.0)
    both = facet_horizons(f, b, dem=dem, dem_transform=tr, dem_radius_m=1900.0, samples_per_sector=0)
    assert both.loc[7, west] == h.loc[7, west]
    assert both.loc[7, "horizon_elev_deg_090"] > 0 and both.loc[3, "horizon_elev_deg_090"] > 0
    assert (both.to_numpy() >= h.to_numpy()).all()
    with pytest.raises(SchemaError, match="not in the buildings layer"):
        facet_horizons(f.assign(building_id=["zz", "lo"]), b)
    with pytest.raises(ConfigError, match="dem_transform"):
        facet_horizons(f, b, dem=dem)
