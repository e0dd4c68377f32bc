"""The horizon kernels give bit-equal horizons to the version before the grid walk was shared.

``data/horizons_before.npz`` holds the horizons of random scenes computed by the
two separate kernels (sector maximum and sampled) of commit f9070fb. Regenerate it
only when a change of the results is intended::

    PYTHONPATH=. python tests/engines/pv/test_shading_regression.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from engines.pv.shading import horizon_profiles, obstacles_from_polygons, sun_table

FIXTURE = Path(__file__).parent / "data" / "horizons_before.npz"
SEEDS = (1, 2, 3)


def scene(seed: int) -> dict:
    """Random blocks (rotated rectangles, L shapes, a courtyard with a hole) and points among them."""
    rng = np.random.default_rng(seed)
    n = 120
    cx, cy = rng.uniform(0, 400, n), rng.uniform(0, 400, n)
    ln, wd = rng.uniform(6, 40, n), rng.uniform(5, 25, n)
    ang = rng.uniform(0, 180, n)
    geoms = []
    for i in range(n):
        box = shapely.box(-ln[i] / 2, -wd[i] / 2, ln[i] / 2, wd[i] / 2)
        if i % 7 == 3:  # L shape
            box = box.difference(shapely.box(0, 0, ln[i], wd[i]))
        if i % 11 == 5:  # courtyard
            box = box.difference(shapely.box(-ln[i] / 6, -wd[i] / 6, ln[i] / 6, wd[i] / 6))
        geoms.append(shapely.affinity.translate(shapely.affinity.rotate(box, ang[i]), cx[i], cy[i]))
    heights = np.round(rng.uniform(0, 60, n), 1)
    heights[rng.uniform(size=n) < 0.05] = 0.0
    m = 160
    own = rng.integers(-1, n, m)
    pts = np.column_stack([rng.uniform(-20, 420, m), rng.uniform(-20, 420, m), rng.uniform(0, 40, m)])
    has = own >= 0
    c = shapely.centroid(np.asarray(geoms, dtype=object)[own[has]])
    pts[has, 0], pts[has, 1] = shapely.get_x(c), shapely.get_y(c)
    pts[has, 2] = heights[own[has]] + 0.3
    rows = np.where(rng.uniform(size=(m, 1)) < 0.3, rng.uniform(0, 30, (m, 3)), 0.0)
    return {"obstacles": obstacles_from_polygons(geoms, heights), "pts": pts, "own": own,
            "rows": rows, "row_az": rng.uniform(0, 360, m)}


def horizons(seed: int) -> dict[str, np.ndarray]:
    """Every mode of :func:`horizon_profiles` on the scene of ``seed``."""
    s = scene(seed)
    kw = {"exclude": s["own"], "radius_m": 150.0}
    sun = sun_table(36, 10, latitude_deg=30.25, longitude_deg=120.2, utc_offset_h=8.0)
    return {
        f"max36_{seed}": horizon_profiles(s["pts"], s["obstacles"], **kw),
        f"max24_{seed}": horizon_profiles(s["pts"], s["obstacles"], n_sectors=24, cell_m=17.0, **kw),
        f"plain4_{seed}": horizon_profiles(s["pts"], s["obstacles"], samples_per_sector=4, **kw),
        f"sun10_{seed}": horizon_profiles(s["pts"], s["obstacles"], samples_per_sector=10, sun=sun,
                                          row_masking_deg=s["rows"], row_azimuth_deg=s["row_az"], **kw),
    }


@pytest.fixture(scope="module")
def before() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("seed", SEEDS)
def test_horizons_bit_equal_to_before(before, seed):
    now = horizons(seed)
    for key, arr in now.items():
        assert arr.dtype == before[key].dtype
        np.testing.assert_array_equal(arr, before[key], err_msg=key)


def test_edge_side_points_to_the_footprint():
    """Each edge's side: the footprint's interior (not a hole) lies just beside its midpoint there."""
    outer = [(0, 0), (10, 0), (10, 10), (0, 10)]
    hole = [(3, 3), (6, 3), (6, 6), (3, 6)]
    polys = [shapely.Polygon(outer, [hole]), shapely.Polygon(outer[::-1], [hole[::-1]]),
             shapely.MultiPolygon([shapely.box(20, 0, 25, 5), shapely.Polygon([(30, 0), (30, 5), (35, 0)])])]
    obs = obstacles_from_polygons(polys, [5.0, 5.0, 5.0])
    e = obs.edges
    mid = 0.5 * (e[:, :2] + e[:, 2:])
    left = np.column_stack([-(e[:, 3] - e[:, 1]), e[:, 2] - e[:, 0]])
    left /= np.linalg.norm(left, axis=1)[:, None]
    probe = mid + 1e-3 * obs.edge_side[:, None] * left
    owner = np.repeat(np.arange(len(polys)), np.diff(obs.edge_start))
    assert shapely.contains_xy(np.asarray(polys, dtype=object)[owner], probe[:, 0], probe[:, 1]).all()
    assert set(np.unique(obs.edge_side)) == {-1.0, 1.0}


def test_skipping_edges_changes_no_horizon():
    """Horizons with the facing-edge test equal those without it (points inside boxes included)."""
    import dataclasses

    s = scene(5)
    kw = {"exclude": s["own"], "radius_m": 150.0, "samples_per_sector": 10}
    plain = dataclasses.replace(s["obstacles"], edge_side=None)
    np.testing.assert_array_equal(horizon_profiles(s["pts"], s["obstacles"], **kw),
                                  horizon_profiles(s["pts"], plain, **kw))


def test_fixture_is_not_trivial(before):
    """The scenes shade: most sectors are raised, and the modes differ."""
    for seed in SEEDS:
        assert (before[f"max36_{seed}"] > 0).mean() > 0.3
        assert (before[f"sun10_{seed}"] > 0).mean() > 0.3
        assert not np.array_equal(before[f"max36_{seed}"], before[f"sun10_{seed}"])


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    np.savez_compressed(FIXTURE, **{k: v for seed in SEEDS for k, v in horizons(seed).items()})
    print("wrote", FIXTURE)
