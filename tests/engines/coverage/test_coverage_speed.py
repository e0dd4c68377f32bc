"""The faster paths of the coverage engine give what the direct ones gave (issue 19, item 1)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.coverage.access import _containing_codes, isochrones, nearest_source_times
from engines.coverage.network import build_network
from tests.engines.coverage.test_coverage import _grid_roads


def _direct(points: np.ndarray, polys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The original assignment: each point queries a tree of the polygons; first listed wins."""
    out = np.full(len(points), "", dtype=object)
    idx_p, idx_b = shapely.STRtree(polys).query(points, predicate="intersects")
    out[idx_p[::-1]] = codes[idx_b[::-1]]
    return out


def _grid_polys(nx: int, ny: int) -> np.ndarray:
    return np.array([shapely.box(i * 10.0, j * 10.0, (i + 1) * 10.0, (j + 1) * 10.0)
                     for i in range(nx) for j in range(ny)], dtype=object)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4),
       st.lists(st.tuples(st.integers(-4, 44), st.integers(-4, 44)), min_size=0, max_size=60),
       st.booleans())
def test_containing_codes_equal_to_direct_query(nx, ny, cells, overlap):
    # points on a 2.5 m lattice: many lie on shared borders and corners of the 10 m boxes
    polys = _grid_polys(nx, ny)
    if overlap:  # an overlapping polygon on top: points inside meet two polygons
        polys = np.append(polys, shapely.box(5.0, 5.0, 17.5, 12.5))
    codes = np.array([f"c{i}" for i in range(len(polys))], dtype=object)
    pts = shapely.points(np.array(cells, dtype=float).reshape(-1, 2) * 2.5) if cells else \
        np.empty(0, dtype=object)
    got = _containing_codes(pts, polys, codes)
    assert got.tolist() == _direct(pts, polys, codes).tolist()


def test_containing_codes_border_and_outside():
    polys = _grid_polys(2, 1)  # [0,10]x[0,10] and [10,20]x[0,10]
    codes = np.array(["a", "b"], dtype=object)
    pts = shapely.points([[5, 5], [15, 5], [10, 5], [30, 5]])
    got = _containing_codes(pts, polys, codes)
    assert got[0] == "a" and got[1] == "b" and got[3] == ""
    assert got[2] in {"a", "b"} and got.tolist() == _direct(pts, polys, codes).tolist()
    assert _containing_codes(pts[:0], polys, codes).tolist() == []
    assert _containing_codes(pts, polys[:0], codes[:0]).tolist() == ["", "", "", ""]


def _direct_union(net, t, thr, buffer_m):
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    reach = np.maximum(t[u], t[v]) <= thr * 60.0
    key = np.unique(np.column_stack([np.minimum(u, v), np.maximum(u, v)])[reach], axis=0)
    if not len(key):
        return shapely.MultiPolygon()
    lines = shapely.linestrings(np.stack([net.nodes_xy[key[:, 0]], net.nodes_xy[key[:, 1]]], axis=1))
    return shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.05, 3.0), min_size=1, max_size=4), st.integers(0, 63),
       st.sampled_from([7.0, 30.0, 80.0]))
def test_nested_isochrones_equal_the_direct_union(thresholds, source, buffer_m):
    # Tolerance, and why: a polygon after the first is the previous polygon joined with the
    # buffers of the edges added, the same union taken in another order; only the overlay's
    # rounding differs (new vertices are intersections computed from other segments), so
    # areas agree to 1e-9 relative and boundaries to 1e-6 m.
    net = build_network(_grid_roads(n=8, step=100.0, speed=30.0))
    t = nearest_source_times(net.edges, [source], n_nodes=net.n_nodes, reverse=True).time_s
    iso = isochrones(net, t, thresholds, buffer_m=buffer_m)
    for thr, g in zip(iso["threshold_min"], iso.geometry, strict=True):
        ref = _direct_union(net, t, thr, buffer_m)
        assert g.is_empty == ref.is_empty
        if ref.is_empty:
            continue
        assert g.is_valid
        assert abs(g.area - ref.area) <= 1e-9 * ref.area
        assert shapely.symmetric_difference(g, ref).area <= 1e-9 * ref.area
        assert shapely.hausdorff_distance(g.boundary, ref.boundary) <= 1e-6
    first = iso.geometry.iloc[0]
    assert first.equals_exact(_direct_union(net, t, iso["threshold_min"].iloc[0], buffer_m), 0.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), min_size=1, max_size=30),
       st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), min_size=0, max_size=50),
       st.floats(1e5, 5e6))
def test_point_target_distance_is_geos_distance(targets, points, offset):
    # projected coordinates far from the origin, as a city's metric CRS has them
    from engines.coverage.access import _nearest_distance

    tg = shapely.points(np.array(targets) + offset)
    xy = np.array(points, dtype=float).reshape(-1, 2) + offset
    got = _nearest_distance(tg, xy)
    ref = np.full(len(xy), np.inf)
    if len(xy):
        (ip, _), dist = shapely.STRtree(tg).query_nearest(shapely.points(xy), return_distance=True,
                                                           all_matches=False)
        ref[ip] = dist
    assert np.array_equal(got, ref)  # bitwise
