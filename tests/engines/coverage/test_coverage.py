"""Coverage engine: exact drive times (vs networkx), coverage on a grid, walking, invariants."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.coverage.access import (
    assign_admin,
    coverage_share,
    demand_grid,
    drive_time_coverage,
    isochrones,
    nearest_source_times,
    residents_from_buildings,
    walking_coverage,
    walking_coverages,
)
from engines.coverage.network import build_network, walking_edges
from twin.errors import SchemaError


def _random_edges(seed, n=60, m=200):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    keep = u != v
    return pd.DataFrame({"u": u[keep], "v": v[keep],
                         "time_s": rng.uniform(1, 100, keep.sum()).round(1)}), n


def _nx_times(edges, sources, n, cutoff=None, reverse=False):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for r in edges.itertuples():
        a, b = (r.v, r.u) if reverse else (r.u, r.v)
        if not g.has_edge(a, b) or g[a][b]["weight"] > r.time_s:
            g.add_edge(a, b, weight=r.time_s)
    dist = nx.multi_source_dijkstra_path_length(g, set(sources), cutoff=cutoff)
    out = np.full(n, np.inf)
    for k, d in dist.items():
        out[k] = d
    return out, g


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("reverse", [False, True])
def test_times_equal_networkx_on_random_graphs(seed, reverse):
    edges, n = _random_edges(seed)
    sources = np.random.default_rng(seed + 100).choice(n, 4, replace=False)
    res = nearest_source_times(edges, sources, n_nodes=n, reverse=reverse)
    expected, g = _nx_times(edges, sources, n, reverse=reverse)
    np.testing.assert_allclose(res.time_s, expected)
    reach = np.isfinite(expected)
    assert set(res.source[reach]) <= set(sources)
    assert (res.source[~reach] == -1).all()
    # the reported source really is at that distance
    for node in np.flatnonzero(reach):
        d = nx.dijkstra_path_length(g, int(res.source[node]), int(node))
        assert d == pytest.approx(res.time_s[node])


@pytest.mark.parametrize("seed", range(3))
def test_cutoff_equals_networkx(seed):
    edges, n = _random_edges(seed)
    res = nearest_source_times(edges, [0, 1], cutoff_s=60.0, n_nodes=n)
    expected, _ = _nx_times(edges, [0, 1], n, cutoff=60.0)
    np.testing.assert_allclose(res.time_s, expected)


def test_hand_drawn_graph():
    #   0 --10--> 1 --10--> 2          sources 0 and 4
    #   ^          |
    #   5          3 (one way 1->3, 1 s)
    #   |
    #   4      6 isolated
    edges = pd.DataFrame({"u": [0, 1, 1, 4, 2], "v": [1, 2, 3, 0, 1],
                          "time_s": [10.0, 10.0, 1.0, 5.0, 2.0]})
    t, s = nearest_source_times(edges, [0, 4], n_nodes=7)
    np.testing.assert_allclose(t, [0, 10, 20, 11, 0, np.inf, np.inf])
    assert s.tolist() == [0, 0, 0, 0, 4, -1, -1]
    # time to reach a source: 2 -> 1 -> ? no edge back to 0
    t2, _ = nearest_source_times(edges, [0], n_nodes=7, reverse=True)
    np.testing.assert_allclose(t2, [0, np.inf, np.inf, np.inf, 5, np.inf, np.inf])
    # parallel edges: the fastest counts (scipy alone would add them)
    par = pd.concat([edges, pd.DataFrame({"u": [0], "v": [1], "time_s": [3.0]})])
    assert nearest_source_times(par, [0], n_nodes=7).time_s[1] == 3.0


@pytest.mark.parametrize("bad", [
    pd.DataFrame({"u": [0], "v": [1], "time_s": [-1.0]}),
    pd.DataFrame({"u": [0], "v": [1], "time_s": [np.nan]}),
    pd.DataFrame({"u": [0.5], "v": [1.0], "time_s": [1.0]}),
    pd.DataFrame({"u": [0], "v": [1]}),
])
def test_bad_edges_are_errors(bad):
    with pytest.raises(SchemaError):
        nearest_source_times(bad, [0])


def test_source_out_of_range_is_an_error():
    with pytest.raises(SchemaError, match="n_nodes"):
        nearest_source_times(pd.DataFrame({"u": [0], "v": [1], "time_s": [1.0]}), [5], n_nodes=2)


# --- a grid with known answers ------------------------------------------------------------------

def _grid_roads(n=5, step=100.0, speed=36.0):
    segs = []
    for i in range(n):
        for j in range(n - 1):
            segs.append([(j * step, i * step), ((j + 1) * step, i * step)])
            segs.append([(i * step, j * step), (i * step, (j + 1) * step)])
    return gpd.GeoDataFrame({"road_id": [f"r{k}" for k in range(len(segs))],
                             "road_class": ["residential"] * len(segs),
                             "speed_kmh": np.full(len(segs), speed)},
                            geometry=[shapely.LineString(s) for s in segs], crs="EPSG:4549")


def _grid_demand(n=5, step=100.0, urban=True):
    xy = [(i * step, j * step) for i in range(n) for j in range(n)]
    return gpd.GeoDataFrame({"residents_count": np.ones(len(xy)), "is_urban": urban},
                            geometry=[shapely.Point(p) for p in xy], crs="EPSG:4549")


def _stations(points):
    return gpd.GeoDataFrame({"station_id": [f"s{i}" for i in range(len(points))]},
                            geometry=[shapely.Point(p) for p in points], crs="EPSG:4549")


def test_grid_coverage_known_answer():
    net = build_network(_grid_roads())  # 10 s per 100 m edge
    demand = _grid_demand()
    # 0.5 min = 30 s = 3 edges from the corner: nodes with i + j <= 3 -> 10 of 25
    out = drive_time_coverage(net, _stations([(0, 0)]), demand, urban_threshold_min=0.5)
    assert out["is_charging_covered"].sum() == 10
    x, y = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    np.testing.assert_allclose(out["drive_time_s"], (x + y) / 10.0)
    assert (out["nearest_station_id"] == "s0").all()
    assert set(out["charging_method"]) == {"network"}
    # rural points use the rural threshold: 30 min covers everything
    out_r = drive_time_coverage(net, _stations([(0, 0)]), _grid_demand(urban=False),
                                urban_threshold_min=0.5)
    assert out_r["is_charging_covered"].all()
    assert out_r["drive_threshold_min"].eq(30.0).all()


def test_far_demand_is_flagged_not_dropped():
    net = build_network(_grid_roads())
    demand = pd.concat([_grid_demand(), _grid_demand().iloc[:1].set_geometry(
        [shapely.Point(5000, 5000)], crs="EPSG:4549")], ignore_index=True)
    out = drive_time_coverage(net, _stations([(0, 0)]), demand, max_snap_m=500)
    assert len(out) == 26
    assert out["is_far_from_road"].sum() == 1
    assert out["snap_distance_m"].iloc[-1] == pytest.approx(np.hypot(4600, 4600))


def test_isochrone_grows_with_threshold():
    net = build_network(_grid_roads())
    t = nearest_source_times(net.edges, [0], n_nodes=net.n_nodes, reverse=True).time_s
    iso = isochrones(net, t, [0.5, 5], buffer_m=10)
    assert iso["threshold_min"].tolist() == [0.5, 5.0]
    assert 0 < iso["area_km2"].iloc[0] < iso["area_km2"].iloc[1]
    assert iso.geometry.iloc[0].within(iso.geometry.iloc[1].buffer(1e-6))


# --- walking ---------------------------------------------------------------------------------------

def test_walking_network_and_straight_line():
    roads = _grid_roads(n=3, step=200.0)  # 400 m square
    net = build_network(roads)
    stops = _stations([(-10, 100)])  # 10 m off the middle of the (0,0)-(0,200) road
    demand = gpd.GeoDataFrame(geometry=[shapely.Point(200, 205), shapely.Point(2000, 2000)],
                              crs="EPSG:4549")
    w = walking_coverage(net, demand, stops, threshold_m=300, name="bus_stop", max_snap_m=50)
    # (200, 205) lies on the x = 200 road: 5 m to the corner + 200 m + 100 m + 10 m = 315 m,
    # more than 300 m although the straight line is only 235 m
    assert w["bus_stop_distance_m"].iloc[0] == pytest.approx(315.0)
    assert w["bus_stop_method"].iloc[0] == "network"
    assert not w["is_bus_stop_covered"].iloc[0]
    # far from any road: straight line
    assert w["bus_stop_method"].iloc[1] == "euclidean"
    assert w["bus_stop_distance_m"].iloc[1] == pytest.approx(np.hypot(2010, 1900))
    # without a network everything is straight-line
    w0 = walking_coverage(None, demand, stops, threshold_m=300, name="bus_stop")
    assert set(w0["bus_stop_method"]) == {"euclidean"}
    assert w0["bus_stop_distance_m"].iloc[0] == pytest.approx(np.hypot(210, 105))
    assert w0["is_bus_stop_covered"].iloc[0]


def test_point_in_park_has_zero_distance():
    net = build_network(_grid_roads(n=3, step=200.0))
    park = gpd.GeoDataFrame(geometry=[shapely.box(20, 20, 180, 180)], crs="EPSG:4549")
    demand = gpd.GeoDataFrame(geometry=[shapely.Point(100, 100), shapely.Point(390, 390)],
                              crs="EPSG:4549")
    w = walking_coverage(net, demand, park, threshold_m=500, name="park", max_snap_m=200)
    assert w["park_distance_m"].iloc[0] == 0.0
    # the far corner walks 10 m to the road, back along it, into the park's boundary
    assert w["park_distance_m"].iloc[1] >= np.hypot(210, 210)
    assert w["is_park_covered"].all()


def _walk_case():
    net = build_network(_grid_roads(n=4, step=200.0))
    rng = np.random.default_rng(3)
    demand = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(-300, 900, (400, 2))),
                              crs="EPSG:4549")
    stops = _stations([(-10, 100), (410, 590), (250, 3000)])
    green = gpd.GeoDataFrame(geometry=[shapely.box(20, 20, 180, 180),  # between roads
                                       shapely.box(2000, 2000, 2100, 2100)],  # off the network
                             crs="EPSG:4549")
    return net, demand, {"bus_stop": (stops, 300.0), "green_space": (green, 300.0),
                         "park": (green.iloc[:1], 500.0)}


def test_walking_coverages_equal_one_layer_at_a_time():
    net, demand, targets = _walk_case()
    both = walking_coverages(net, demand, targets, max_snap_m=150)
    assert list(both.columns) == [f"{c}" for name in targets for c in (
        f"{name}_distance_m", f"{name}_method", f"is_{name}_covered")]
    one = pd.concat([walking_coverage(net, demand, tg, threshold_m=thr, name=name, max_snap_m=150)
                     for name, (tg, thr) in targets.items()], axis=1)
    pd.testing.assert_frame_equal(both, one, check_exact=True)
    assert {"network", "euclidean"} <= set(both["bus_stop_method"])


def test_walking_snapping_in_batches_is_exact(monkeypatch):
    import engines.coverage.access as cov

    net, demand, targets = _walk_case()
    whole = walking_coverages(net, demand, targets, max_snap_m=150)
    monkeypatch.setattr(cov, "_SNAP_CHUNK", 7)
    pd.testing.assert_frame_equal(walking_coverages(net, demand, targets, max_snap_m=150), whole,
                                  check_exact=True)


def test_isochrone_is_the_union_of_edge_buffers():
    net = build_network(_grid_roads())
    t = nearest_source_times(net.edges, [0], n_nodes=net.n_nodes, reverse=True).time_s
    iso = isochrones(net, t, [0.5], buffer_m=10)
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    reach = np.maximum(t[u], t[v]) <= 30.0
    key = np.unique(np.column_stack([np.minimum(u, v), np.maximum(u, v)])[reach], axis=0)
    lines = shapely.linestrings(np.stack([net.nodes_xy[key[:, 0]], net.nodes_xy[key[:, 1]]], axis=1))
    assert iso.geometry.iloc[0].wkb == shapely.union_all(shapely.buffer(lines, 10, quad_segs=4)).wkb


def test_walking_edges_keep_the_edge_order():
    net = build_network(_grid_roads(n=3))
    we = walking_edges(net)
    e = net.edges
    np.testing.assert_array_equal(we["u"], np.concatenate([e["u"], e["v"]]))
    np.testing.assert_array_equal(we["time_s"], np.concatenate([e["length_m"], e["length_m"]]))


# --- demand ----------------------------------------------------------------------------------------

def test_residents_from_floor_area():
    b = pd.DataFrame({"use_class": ["residential", "rural_residential", "office"],
                      "gross_floor_area_m2": [4000.0, 468.0, 9999.0]})
    r = residents_from_buildings(b)
    assert r.tolist() == pytest.approx([100.0, 10.0, 0.0])
    b.loc[0, "gross_floor_area_m2"] = np.nan
    with pytest.raises(SchemaError, match="gross_floor_area_m2"):
        residents_from_buildings(b)


def test_demand_grid_and_admin():
    bnd = gpd.GeoDataFrame({
        "adcode": ["330500", "330501", "330501001", "330501002"],
        "level": ["city", "district", "township", "township"],
        "parent_adcode": ["", "330500", "330501", "330501"],
        "is_urban": [False, False, True, False],
    }, geometry=[shapely.box(0, 0, 2000, 1000), shapely.box(0, 0, 2000, 1000),
                 shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        crs="EPSG:4549")
    cells = demand_grid(bnd.iloc[[2]], cell_m=100)
    assert len(cells) == 100
    assert cells["cell_area_m2"].sum() == pytest.approx(1e6)
    pts = gpd.GeoDataFrame({"district_adcode": ["", "", ""], "township_code": ["", "", ""]},
                           geometry=[shapely.Point(10, 10), shapely.Point(1500, 10),
                                     shapely.Point(9000, 9000)], crs="EPSG:4549")
    a = assign_admin(pts, bnd)
    assert a["township_code"].tolist() == ["330501001", "330501002", ""]
    assert a["is_urban"].tolist() == [True, False, False]
    assert a["is_outside_city"].tolist() == [False, False, True]


# --- invariants ------------------------------------------------------------------------------------

_NET = build_network(_grid_roads(n=6, step=150.0))
_DEMAND = _grid_demand(n=6, step=150.0)
_DEMAND["is_urban"] = np.arange(len(_DEMAND)) % 3 != 0
_XY = [(i * 150.0, j * 150.0) for i in range(6) for j in range(6)]


def _share(points, thr=0.4):
    out = drive_time_coverage(_NET, _stations(points), _DEMAND, urban_threshold_min=thr,
                              rural_threshold_min=2 * thr)
    return coverage_share(out["is_charging_covered"], _DEMAND["residents_count"]), out


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(_XY), min_size=1, max_size=6), st.sampled_from(_XY),
       st.floats(0.05, 2.0), st.randoms(use_true_random=False))
def test_coverage_invariants(points, extra, thr, rnd):
    share, out = _share(points, thr)
    assert 0.0 <= share <= 1.0
    # adding a station never lowers coverage (nor raises any drive time)
    share2, out2 = _share([*points, extra], thr)
    assert share2 >= share
    assert (out2["drive_time_s"].to_numpy() <= out["drive_time_s"].to_numpy() + 1e-9).all()
    # independent of station order
    shuffled = list(points)
    rnd.shuffle(shuffled)
    share3, out3 = _share(shuffled, thr)
    assert share3 == share
    np.testing.assert_array_equal(out3["drive_time_s"], out["drive_time_s"])


def test_share_rows_equal_a_groupby_of_the_names():
    from engines.coverage.city import _groups, _share_rows

    rng = np.random.default_rng(5)
    n = 300
    df = pd.DataFrame({"district_adcode": rng.choice(["330102", "330105", "", None], n),
                       "township_code": rng.choice(["330102001", "330105002", "330105001", ""], n)})
    w = rng.uniform(0, 50, n)
    c = rng.random(n) < 0.6
    m = rng.random(n) < 0.5
    rows = _share_rows(_groups(df), c[m], w[m], m, metric="x")
    # reference: a groupby of the names themselves
    sub = df[m]
    ref = []
    for level, key in (("city", np.full(len(sub), "city")),
                       ("district", sub["district_adcode"].astype(str).to_numpy()),
                       ("township", sub["township_code"].astype(str).to_numpy())):
        tot = pd.Series(w[m]).groupby(key).sum()
        cov = pd.Series(np.where(c[m], w[m], 0.0)).groupby(key).sum()
        ref += [{"level": level, "code": code, "value": min(100.0, 100.0 * cov[code] / t),
                 "denominator": float(t), "metric": "x"} for code, t in tot.items() if code != ""]
    got = pd.DataFrame(rows)
    assert (got.pop("synthetic_share") == 0).all()  # no synthetic flags given
    pd.testing.assert_frame_equal(got, pd.DataFrame(ref), check_exact=True)
    # the synthetic share is the weighted share of flagged rows in each unit
    s = rng.random(n) < 0.3
    rows = pd.DataFrame(_share_rows(_groups(df), c[m], w[m], m, s[m], metric="x"))
    city = rows[rows["level"] == "city"].iloc[0]
    assert city["synthetic_share"] == pytest.approx(w[m][s[m]].sum() / w[m].sum())


# --- a built twin ---------------------------------------------------------------------------------

def test_compute_coverage_from_building_points_equals_footprints(twin_env, monkeypatch):
    """compute_coverage reads the buildings as representative points, in batches: the
    results equal those computed from the whole layers with their footprints."""
    import engines.coverage.city as cc
    import shell.runners as rc
    from twin.config import load_city
    from twin.store import TwinStore

    monkeypatch.setattr(rc, "BUILDING_BATCH_ROWS", 100)
    res = rc.run_engine("coverage", "huzhou", home=twin_env, commit=False)
    got = {"results": res.results, "tables": res.tables, "meta": res.meta}
    store = TwinStore("huzhou", twin_env)
    layers = {n: store.read_layer(n) for n in ("roads", "buildings", "boundaries",
                                               "charging_stations", "service_areas",
                                               "bus_stops", "green_space", "landcover")}
    want = cc.compute_city_coverage(layers, load_city("huzhou"))
    assert set(layers) >= {"roads", "buildings"}  # the caller's dict is left alone
    for part in ("results", "tables"):
        assert list(got[part]) == list(want[part])
        for name, a in want[part].items():
            b = got[part][name]
            if isinstance(a, gpd.GeoDataFrame):
                assert a.crs == b.crs
                assert [g.wkb for g in a.geometry] == [g.wkb for g in b.geometry], name
            pd.testing.assert_frame_equal(pd.DataFrame(b), pd.DataFrame(a), check_exact=True)
    assert got["meta"] == want["meta"]



def test_cli_coverage_on_built_twin(twin_copy):
    from shell.cli import main
    from twin.store import TwinStore

    assert main(["coverage", "--city", "huzhou", "--sites", "3"]) == 0
    store = TwinStore("huzhou", twin_copy)
    s = store.table("coverage_summary")
    city = s[s["level"] == "city"]
    assert {"C-Z2-5min", "C-Z2-30min", "C-Z3-urban", "C-Z3-rural", "T-Z1",
            "C-Z1-county", "C-Z1-township"} <= set(city["target_id"])
    pct = s[s["unit"] == "pct"]["value"].dropna()
    assert ((pct >= 0) & (pct <= 100)).all()
    demand = store.read_layer("coverage_demand")
    assert set(demand["charging_method"]) == {"network"}
    assert set(demand["bus_stop_method"]) <= {"network", "euclidean"}
    sites = store.read_layer("coverage_sites")
    assert sites["within_k"].sum() <= 3
    assert sites["gain_residents_count"].is_monotonic_decreasing
    piles = city[(city["metric"] == "public_piles_count") & (city["area"] == "all")]["value"]
    st = store.read_layer("charging_stations")
    assert piles.iloc[0] == st.loc[st["is_public"], "piles"].sum()
