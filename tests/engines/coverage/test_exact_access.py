"""Exact walking and drive access: points on segments, noded crossings, access legs, congestion."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engines.coverage.access import drive_time_coverage, walking_coverage
from engines.coverage.network import (
    build_network,
    drive_segments,
    node_roads,
    road_levels,
    snap_to_segments,
    split_segments,
    walk_segments,
    with_congestion,
)

CRS = "EPSG:4549"


def _roads(lines, **cols):
    data = {"road_id": [f"r{i}" for i in range(len(lines))],
            "road_class": cols.pop("road_class", ["residential"] * len(lines))}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=[shapely.LineString(c) for c in lines], crs=CRS)


def _points(xy, id_col="stop_id"):
    return gpd.GeoDataFrame({id_col: [f"p{i}" for i in range(len(xy))]},
                            geometry=[shapely.Point(p) for p in xy], crs=CRS)


def _walk(roads, homes, stops, **kw):
    w = walking_coverage(build_network(roads), _points(homes, "demand_id"), _points(stops),
                         threshold_m=300, name="bus_stop", **kw)
    return w["bus_stop_distance_m"].to_numpy()


# --- the cases (issue 15) ------------------------------------------------------------------

def test_home_and_stop_on_the_same_long_road():
    # 1 km road, stop 50 m along it, home 20 m off the road at 100 m: 20 + 50 = 70 m
    d = _walk(_roads([[(0, 0), (1000, 0)]]), [(100, 20)], [(50, 0)])
    assert d[0] == pytest.approx(70.0, abs=1e-9)
    # the other way round, and beyond the stop on the far side
    assert _walk(_roads([[(1000, 0), (0, 0)]]), [(100, -20)], [(50, 0)])[0] == pytest.approx(70.0)
    assert _walk(_roads([[(0, 0), (1000, 0)]]), [(900, 0)], [(950, 5)])[0] == pytest.approx(55.0)


def test_crossing_roads_without_a_shared_vertex_meet():
    roads = _roads([[(0, 0), (1000, 0)], [(500, -500), (500, 500)]])
    d = _walk(roads, [(100, 0)], [(500, 400)])
    assert d[0] == pytest.approx(800.0)  # 400 m to the crossing + 400 m up
    net = build_network(roads)
    assert net.n_nodes == 5 and len(net.edges) == 8
    assert len(set(net.component)) == 1


def test_crossing_at_an_interior_vertex_meets():
    roads = _roads([[(0, 0), (500, 0), (1000, 0)], [(500, -500), (500, 0), (500, 500)]])
    assert _walk(roads, [(100, 0)], [(500, 400)])[0] == pytest.approx(800.0)


def test_t_junction_on_a_road_interior_meets():
    roads = _roads([[(0, 0), (1000, 0)], [(300, 0), (300, 400)]])
    assert _walk(roads, [(0, 0)], [(300, 400)])[0] == pytest.approx(700.0)


@pytest.mark.parametrize("cols", [{"layer": [0, 1]}, {"bridge": ["", "yes"]},
                                  {"is_tunnel": [False, True]}])
def test_grade_separated_crossing_does_not_meet(cols):
    # the bridge/tunnel/upper-layer road is joined to the other road only at its ends
    roads = _roads([[(0, 0), (1000, 0)], [(500, -500), (500, 500)], [(500, 500), (1000, 500)],
                    [(1000, 500), (1000, 0)]], **{k: list(v) + [v[0], v[0]] for k, v in cols.items()})
    net = build_network(roads)
    assert net.n_nodes == 5  # no node at (500, 0)
    d = _walk(roads, [(100, 0)], [(500, 400)])
    # round the block: 900 + 500 + 500 + 100
    assert d[0] == pytest.approx(2000.0)


def test_levels_from_osm_attributes():
    roads = _roads([[(0, 0), (1, 0)]] * 5, layer=[0, None, 1, 0, 0],
                   bridge=["no", None, None, "viaduct", None])
    lv = road_levels(roads)
    assert lv[0] == lv[1] and len(set(lv)) == 3


def test_noding_keeps_direction_and_source():
    lines = np.array([shapely.LineString([(1000, 0), (0, 0)]), shapely.LineString([(500, -5), (500, 5)])])
    src, pieces = node_roads(lines)
    assert src.tolist() == [0, 0, 1, 1]
    # pieces follow their road's direction, in order along it
    assert [p.coords[0] for p in pieces] == [(1000, 0), (500, 0), (500, -5), (500, 0)]
    assert sum(p.length for p in pieces[:2]) == pytest.approx(1000.0)


def test_one_way_road_is_noded_one_way():
    roads = _roads([[(0, 0), (1000, 0)], [(500, -500), (500, 500)]], is_oneway=[True, False],
                   speed_kmh=[36.0, 36.0])
    net = build_network(roads)
    e = net.edges[net.edges["road_id"] == "r0"]
    assert len(e) == 2 and e["is_forward"].all()
    x = net.nodes_xy
    assert (x[e["v"], 0] > x[e["u"], 0]).all()


# --- exact against networkx with the points as real nodes ------------------------------------------

def _reference(roads, homes, stops, max_snap_m=np.inf, tie=assume):
    """Walking distance on a networkx graph where homes and stops are inserted as real nodes."""
    src, pieces = node_roads(roads.geometry.to_numpy())
    g = nx.Graph()

    def key(p):
        return (round(p[0] / 0.01), round(p[1] / 0.01))

    segs = []
    for ln in pieces:
        c = np.asarray(ln.coords)
        a, b = key(c[0]), key(c[-1])
        if a != b:
            segs.append((a, b, ln))
    lines = np.array([s[2] for s in segs])
    inserted = {}

    def attach(name, p):
        pt = shapely.Point(p)
        d = shapely.distance(lines, pt)
        i = int(np.argmin(d))
        if d[i] > max_snap_m:
            return
        # a point as near to two roads at different places has two answers: not a test case
        tied = shapely.line_interpolate_point(lines[d <= d[i] + 1e-6],
                                              shapely.line_locate_point(lines[d <= d[i] + 1e-6], pt))
        tie(float(shapely.distance(tied, tied[0]).max()) < 1e-6)
        inserted.setdefault(i, []).append((lines[i].project(pt), name))
        g.add_edge(name, ("on", name), weight=float(d[i]))

    for i, p in enumerate(homes):
        attach(("home", i), p)
    for i, p in enumerate(stops):
        attach(("stop", i), p)
    for i, (a, b, ln) in enumerate(segs):
        chain = [(0.0, a)] + sorted((o, ("on", nm)) for o, nm in inserted.get(i, [])) + [(ln.length, b)]
        for (o0, n0), (o1, n1) in zip(chain[:-1], chain[1:], strict=True):
            if not g.has_edge(n0, n1) or g[n0][n1]["weight"] > o1 - o0:
                g.add_edge(n0, n1, weight=o1 - o0)
    stop_nodes = [("stop", i) for i in range(len(stops)) if ("stop", i) in g]
    out = np.full(len(homes), np.inf)
    if stop_nodes:
        dist = nx.multi_source_dijkstra_path_length(g, stop_nodes)
        for i in range(len(homes)):
            out[i] = dist.get(("home", i), np.inf)
    return out


@st.composite
def _cases(draw):
    n = draw(st.integers(2, 4))
    step = 400.0
    # a grid with random missing streets and a few diagonal roads crossing it anywhere
    lines = []
    for i in range(n):
        for j in range(n - 1):
            if draw(st.booleans()) or i == 0:
                lines.append([(i * step, j * step), (i * step, (j + 1) * step)])
            if draw(st.booleans()) or j == 0:
                lines.append([(j * step, i * step), ((j + 1) * step, i * step)])
    coord = st.floats(-50, (n - 1) * step + 50, allow_nan=False).map(lambda v: round(v, 2))
    for _ in range(draw(st.integers(0, 2))):
        lines.append([(draw(coord), draw(coord)), (draw(coord), draw(coord))])
    homes = draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=8))
    stops = draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=4))
    return lines, homes, stops


@settings(max_examples=40, deadline=None)
@given(_cases())
def test_walking_distance_equals_networkx_with_points_as_nodes(case):
    lines, homes, stops = case
    lines = [ln for ln in lines if ln[0] != ln[1]]
    roads = _roads(lines)
    got = _walk(roads, homes, stops, max_snap_m=1e6)
    want = _reference(roads, homes, stops)
    # the straight line is a lower bound the engine keeps, and a point at a stop is there
    euclid = np.array([min(np.hypot(h[0] - s[0], h[1] - s[1]) for s in stops) for h in homes])
    want = np.where(euclid == 0, 0.0, np.maximum(want, euclid))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert (got + 1e-9 >= euclid).all()


def test_random_grid_points_are_exact():
    # the measurement: 200 random points on a 400 m grid, stops on the streets
    rng = np.random.default_rng(15)
    n, step = 6, 400.0
    lines = [[(i * step, j * step), (i * step, (j + 1) * step)] for i in range(n) for j in range(n - 1)]
    lines += [[(j * step, i * step), ((j + 1) * step, i * step)] for i in range(n) for j in range(n - 1)]
    roads = _roads(lines)
    homes = rng.uniform(0, (n - 1) * step, (200, 2))
    stops = rng.uniform(0, (n - 1) * step, (12, 2))
    stops[:, 0] = np.round(stops[:, 0] / step) * step  # on a north-south street
    got = _walk(roads, homes, stops, max_snap_m=1e6)
    want = _reference(roads, homes, stops, tie=lambda ok: None)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


# --- split graph -----------------------------------------------------------------------------------

def test_split_segments_keeps_one_way_and_costs():
    roads = _roads([[(0, 0), (1000, 0)]], is_oneway=[True], speed_kmh=[36.0])
    g = drive_segments(build_network(roads))
    seg, d, f = snap_to_segments(g, np.array([[250.0, 3.0], [750.0, -4.0]]))
    assert seg.tolist() == [0, 0] and d.tolist() == [3.0, 4.0]
    u, v, w, pn = split_segments(g, seg, f)
    assert len(u) == 3  # 0 -> p0 -> p1 -> end, forward only
    assert sorted(w.tolist()) == pytest.approx([25.0, 25.0, 50.0])
    assert {(int(a), int(b)) for a, b in zip(u, v, strict=True)} >= {(int(pn[0]), int(pn[1]))}


def test_walk_segments_drop_duplicate_geometry():
    roads = _roads([[(0, 0), (100, 0)], [(100, 0), (0, 0)]], road_class=["residential", "service"])
    g = walk_segments(build_network(roads, node_intersections=False))
    assert int(g.usable.sum()) == 1


# --- drive access ----------------------------------------------------------------------------------

def _stations(xy):
    return _points(xy, "station_id")


def _demand(xy, urban=True):
    d = _points(xy, "demand_id")
    d["is_urban"] = urban
    return d


def test_drive_access_leg_is_added():
    roads = _roads([[(0, 0), (1000, 0)]], speed_kmh=[36.0])
    net = build_network(roads)
    st_ = _stations([(0, 0)])
    dm = _demand([(500, 0), (500, 6500)])
    free = drive_time_coverage(net, st_, dm)
    assert free["drive_time_s"].tolist() == pytest.approx([50.0, 50.0])
    acc = drive_time_coverage(net, st_, dm, access_speed_kmh=18.0)
    # 6.5 km at 18 km/h = 1300 s, not "reached in 50 s"
    assert acc["drive_time_s"].tolist() == pytest.approx([50.0, 1350.0])
    assert acc["access_time_s"].tolist() == pytest.approx([0.0, 1300.0])
    assert acc["is_charging_covered"].tolist() == [True, False]
    assert acc["nearest_station_id"].tolist() == ["p0", "p0"]


def test_drive_on_one_way_road_goes_the_legal_way():
    # one-way eastward road, closed by a two-way return road 100 m north
    roads = _roads([[(0, 0), (1000, 0)], [(1000, 0), (1000, 100)], [(1000, 100), (0, 100)],
                    [(0, 100), (0, 0)]], is_oneway=[True, False, False, False],
                   speed_kmh=[36.0] * 4)
    net = build_network(roads)
    east = drive_time_coverage(net, _stations([(600, 0)]), _demand([(400, 0)]))
    assert east["drive_time_s"].iloc[0] == pytest.approx(20.0)
    # the station behind: round the block, 400 + 100 + 1000 + 100 + 400 = 2000 m
    west = drive_time_coverage(net, _stations([(400, 0)]), _demand([(600, 0)]))
    assert west["drive_time_s"].iloc[0] == pytest.approx(200.0)


def test_congestion_factor_scales_drive_times():
    roads = _roads([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]], road_class=["primary", "residential"],
                   speed_kmh=[36.0, 36.0])
    net = build_network(roads)
    st_, dm = _stations([(0, 0)]), _demand([(2000, 0)])
    t0 = drive_time_coverage(net, st_, dm)["drive_time_s"].iloc[0]
    t1 = drive_time_coverage(with_congestion(net, {"primary": 2.0}), st_, dm)["drive_time_s"].iloc[0]
    assert (t0, t1) == pytest.approx((200.0, 300.0))
    assert with_congestion(net, None) is net
    with pytest.raises(Exception, match="congestion"):
        with_congestion(net, {"primary": 0.0})


def test_drive_times_reuse_the_callers_snapping_exactly():
    # a block with a one-way side, demand on every side, two stations
    roads = _roads([[(0, 0), (1000, 0)], [(1000, 0), (1000, 700)], [(1000, 700), (0, 700)],
                    [(0, 700), (0, 0)]], is_oneway=[True, False, False, False],
                   speed_kmh=[36.0, 50.0, 30.0, 40.0])
    net = build_network(roads)
    st_ = _stations([(300, 10), (990, 650)])
    dm = _demand([(100, -20), (700, 5), (1010, 300), (500, 720), (-30, 350), (5000, 5000)])
    snap = snap_to_segments(drive_segments(net), shapely.get_coordinates(dm.geometry.to_numpy()))
    own = drive_time_coverage(net, st_, dm, access_speed_kmh=18.0)
    given_snap = drive_time_coverage(net, st_, dm, access_speed_kmh=18.0, demand_snap=snap)
    assert own.equals(given_snap)
    assert np.isfinite(own["drive_time_s"]).all() and own["nearest_station_id"].nunique() == 2
    with pytest.raises(Exception, match="demand_snap"):
        drive_time_coverage(net, st_, dm, demand_snap=tuple(a[:2] for a in snap))
