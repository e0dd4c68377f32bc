"""Road graph: nodes from end points, one-way edges, speeds, components, snapping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from engines.coverage.network import build_network, component_report, snap_points, walking_edges
from twin.errors import SchemaError


def _roads(segments, **cols):
    data = {"road_id": [f"r{i}" for i in range(len(segments))],
            "road_class": ["residential"] * len(segments)}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=[shapely.LineString(s) for s in segments],
                            crs="EPSG:4549")


def test_nodes_edges_and_times():
    roads = _roads([[(0, 0), (100, 0)], [(100, 0), (100, 100)], [(100, 100), (0, 0.004)]],
                   is_oneway=[False, True, False], speed_kmh=[36.0, 36.0, np.nan])
    net = build_network(roads)
    # (0, 0) and (0, 0.004) round to the same 0.01 m node
    assert net.n_nodes == 3
    assert len(net.edges) == 5  # 2 + 1 (one-way) + 2
    e = net.edges[net.edges["road_id"] == "r1"]
    assert len(e) == 1
    assert e["time_s"].iloc[0] == pytest.approx(10.0)  # 100 m at 10 m/s
    # class default for the missing speed: residential 30 km/h
    e2 = net.edges[net.edges["road_id"] == "r2"]
    assert e2["time_s"].iloc[0] == pytest.approx(np.hypot(100, 100) / (30 / 3.6), rel=1e-4)
    # one-way keeps the digitised direction
    u, v = e[["u", "v"]].iloc[0]
    assert tuple(net.nodes_xy[u]) == (100, 0) and tuple(net.nodes_xy[v]) == (100, 100)


def test_speed_override_by_class():
    roads = _roads([[(0, 0), (100, 0)]])
    net = build_network(roads, speeds_kmh={"residential": 3.6})
    assert net.edges["time_s"].iloc[0] == pytest.approx(100.0)


@pytest.mark.parametrize("speed", [0.0, -5.0])
def test_bad_speed_is_an_error(speed):
    roads = _roads([[(0, 0), (100, 0)], [(100, 0), (200, 0)]], speed_kmh=[30.0, speed])
    with pytest.raises(SchemaError, match="speed"):
        build_network(roads)


def test_unknown_class_without_speed_is_an_error():
    roads = _roads([[(0, 0), (100, 0)]], road_class=["footpath"])
    with pytest.raises(SchemaError, match="footpath"):
        build_network(roads)


def test_duplicate_ids_are_an_error():
    roads = _roads([[(0, 0), (100, 0)], [(100, 0), (200, 0)]], road_id=["a", "a"])
    with pytest.raises(SchemaError, match="duplicate road_id"):
        build_network(roads)


def test_geographic_crs_is_an_error():
    roads = _roads([[(0, 0), (1, 0)]]).set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(SchemaError, match="geographic"):
        build_network(roads)


def test_components_reported_with_sizes(caplog):
    roads = _roads([[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(1000, 0), (1100, 0)]])
    with caplog.at_level("WARNING"):
        net = build_network(roads)
    rep = component_report(net)
    assert rep["n_nodes"].tolist() == [3, 2]
    assert rep["is_largest"].tolist() == [True, False]
    assert "2 weakly connected components" in caplog.text
    assert net.component[snap_points(net, [[1050, 0]])[0][0]] == 1


def test_snap_keeps_distance():
    net = build_network(_roads([[(0, 0), (100, 0)]]))
    node, d = snap_points(net, [[0, 30], [90, -40]])
    assert node.tolist() == [snap_points(net, [[0, 0]])[0][0], snap_points(net, [[100, 0]])[0][0]]
    assert d == pytest.approx([30.0, np.hypot(10, 40)])


def test_walking_edges_undirected_without_motorways():
    roads = _roads([[(0, 0), (100, 0)], [(100, 0), (200, 0)]], is_oneway=[True, False],
                   road_class=["residential", "motorway"])
    w = walking_edges(build_network(roads))
    assert len(w) == 2  # the one-way residential road, both ways; no motorway
    assert sorted(w["time_s"]) == [100.0, 100.0]
