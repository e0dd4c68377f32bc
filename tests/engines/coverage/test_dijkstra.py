"""The multi-source Dijkstra kernel of nearest_source_times: bit-equal to scipy and networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from engines.coverage._dijkstra import csr_from_edges, multi_source_dijkstra
from engines.coverage.access import nearest_source_times
from engines.coverage.network import csr_graph
from twin.errors import SchemaError


def _scipy(edges: pd.DataFrame, sources, n: int, cutoff=None, reverse=False):
    """The implementation before the numba kernel: deduplicated CSR + scipy's min_only Dijkstra."""
    u, v = edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)
    w = edges["time_s"].to_numpy(np.float64)
    g = csr_graph(v, u, w, n) if reverse else csr_graph(u, v, w, n)
    d, _, s = dijkstra(g, directed=True, indices=np.unique(sources), min_only=True,
                       return_predecessors=True, limit=np.inf if cutoff is None else cutoff)
    return d, np.where(np.isfinite(d), s, -1)


def _lattice(side: int, seed: int, one_way_share: float = 0.0) -> pd.DataFrame:
    """A road lattice of side**2 nodes, 100 m edges at 24-40 km/h, some one-way."""
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    a = np.concatenate([idx[:-1, :].ravel(), idx[:, :-1].ravel()])
    b = np.concatenate([idx[1:, :].ravel(), idx[:, 1:].ravel()])
    t = 100.0 / (rng.uniform(24.0, 40.0, len(a)) / 3.6)
    back = rng.uniform(size=len(a)) >= one_way_share
    return pd.DataFrame({"u": np.concatenate([a, b[back]]), "v": np.concatenate([b, a[back]]),
                         "time_s": np.concatenate([t, t[back]])})


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cutoff", [None, 120.0])
def test_lattice_bit_equal_to_scipy(reverse, cutoff):
    edges = _lattice(60, seed=3, one_way_share=0.2)
    n = 3600
    src = np.random.default_rng(4).choice(n, 40, replace=False)
    res = nearest_source_times(edges, src, cutoff, n_nodes=n, reverse=reverse)
    d, s = _scipy(edges, src, n, cutoff, reverse)
    np.testing.assert_array_equal(res.time_s, d)  # the same floats, inf where unreachable
    # float costs: no ties, so the nearest source is the same too
    np.testing.assert_array_equal(res.source, s)
    assert np.isfinite(res.time_s).mean() > 0.5
    if cutoff is not None:
        assert np.isinf(res.time_s).any() and res.time_s[np.isfinite(res.time_s)].max() <= cutoff


def test_cutoff_is_inclusive_as_scipy():
    edges = pd.DataFrame({"u": [0, 1, 2], "v": [1, 2, 3], "time_s": [0.1, 0.2, 0.3]})
    reach = 0.1 + 0.2  # the float the search adds up (0.30000000000000004)
    res = nearest_source_times(edges, [0], reach, n_nodes=4)
    d, _ = _scipy(edges, [0], 4, reach)
    np.testing.assert_array_equal(res.time_s, d)
    assert res.time_s[2] == reach and np.isinf(res.time_s[3])
    below = nearest_source_times(edges, [0], 0.3, n_nodes=4)
    np.testing.assert_array_equal(below.time_s, _scipy(edges, [0], 4, 0.3)[0])
    assert np.isinf(below.time_s[2])


@pytest.mark.parametrize("cutoff", [-1.0, float("nan")])
def test_negative_or_nan_cutoff_is_an_error(cutoff):
    edges = pd.DataFrame({"u": [0], "v": [1], "time_s": [1.0]})
    with pytest.raises(SchemaError, match="cutoff_s"):
        nearest_source_times(edges, [0], cutoff)


def test_zero_costs_self_loops_parallel_edges_and_duplicate_sources():
    edges = pd.DataFrame({"u": [0, 0, 0, 1, 2, 2, 3], "v": [1, 1, 0, 2, 2, 3, 4],
                          "time_s": [5.0, 2.0, 0.0, 0.0, 1.0, 3.0, 0.0]})
    res = nearest_source_times(edges, [0, 0, 0], n_nodes=6)
    np.testing.assert_array_equal(res.time_s, [0.0, 2.0, 2.0, 5.0, 5.0, np.inf])
    np.testing.assert_array_equal(res.source, [0, 0, 0, 0, 0, -1])
    np.testing.assert_array_equal(res.time_s, _scipy(edges, [0], 6)[0])


def test_csr_from_edges_keeps_every_edge_in_row_order():
    u = np.array([2, 0, 2, 1, 0], np.int64)
    v = np.array([1, 2, 0, 0, 2], np.int64)
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    indptr, indices, data = csr_from_edges(u, v, w, 4)
    assert indptr.tolist() == [0, 2, 3, 5, 5]
    assert indices.dtype == np.int32
    assert indices.tolist() == [2, 2, 0, 1, 0]
    assert data.tolist() == [2.0, 5.0, 4.0, 1.0, 3.0]


def test_kernel_on_empty_rows_and_isolated_sources():
    indptr, indices, data = csr_from_edges(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), 3)
    d, o = multi_source_dijkstra(indptr, indices, data, np.array([1], np.int64), np.inf)
    np.testing.assert_array_equal(d, [np.inf, 0.0, np.inf])
    np.testing.assert_array_equal(o, [-1, 1, -1])


@st.composite
def _graphs(draw):
    n = draw(st.integers(1, 30))
    m = draw(st.integers(0, 90))
    node = st.integers(0, n - 1)
    u = draw(st.lists(node, min_size=m, max_size=m))
    v = draw(st.lists(node, min_size=m, max_size=m))
    # small integers and binary fractions make ties and zero costs common
    w = draw(st.lists(st.one_of(st.integers(0, 5).map(float),
                                st.floats(0, 100, allow_nan=False, allow_infinity=False)),
                      min_size=m, max_size=m))
    src = draw(st.lists(node, min_size=1, max_size=5))
    cutoff = draw(st.one_of(st.none(), st.floats(0, 150)))
    return pd.DataFrame({"u": u, "v": v, "time_s": w}, dtype=object).astype(
        {"u": np.int64, "v": np.int64, "time_s": np.float64}), n, src, cutoff


@settings(max_examples=150, deadline=None)
@given(_graphs(), st.booleans())
def test_equal_to_networkx_and_scipy_on_random_graphs(graph, reverse):
    edges, n, src, cutoff = graph
    res = nearest_source_times(edges, src, cutoff, n_nodes=n, reverse=reverse)
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for a, b, w in zip(edges["u"], edges["v"], edges["time_s"], strict=True):
        g.add_edge(*((b, a) if reverse else (a, b)), weight=w)
    dist, paths = nx.multi_source_dijkstra(g, set(src), cutoff=cutoff)
    expected = np.full(n, np.inf)
    for k, d in dist.items():
        expected[k] = d
    np.testing.assert_array_equal(res.time_s, expected)  # bit-equal, not approximately
    np.testing.assert_array_equal(res.time_s, _scipy(edges, src, n, cutoff, reverse)[0])
    reach = np.isfinite(expected)
    assert (res.source[~reach] == -1).all()
    assert set(res.source[reach].tolist()) <= set(src)
    # with ties the source may differ from networkx's, but it is a nearest one
    for node in np.flatnonzero(reach):
        assert nx.dijkstra_path_length(g, int(res.source[node]), int(node)) == res.time_s[node]
