"""Siting: the coverage matrix matches shortest paths; greedy picks the obvious site first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix

from engines.coverage.access import nearest_source_times
from engines.coverage.siting import coverage_matrix, greedy_max_cover
from twin.errors import SchemaError


def _random_edges(seed, n=80, m=300):
    rng = np.random.default_rng(seed)
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    return pd.DataFrame({"u": u[keep], "v": v[keep],
                         "time_s": rng.uniform(1, 60, keep.sum())}), n


@pytest.mark.parametrize("seed", range(5))
def test_matrix_equals_shortest_paths(seed):
    edges, n = _random_edges(seed)
    rng = np.random.default_rng(seed)
    cand = rng.choice(n, 10, replace=False)
    dem = np.append(rng.integers(0, n, 40), -1)  # one point off the graph
    thr = rng.uniform(10, 120, len(dem))
    m = coverage_matrix(edges, cand, dem, thr, n_nodes=n, n_threads=2).toarray()
    for i, c in enumerate(cand):
        t = nearest_source_times(edges, [c], n_nodes=n, reverse=True).time_s
        expected = np.where(dem >= 0, t[np.maximum(dem, 0)] <= thr, False)
        np.testing.assert_array_equal(m[i], expected)


def test_obvious_site_first():
    # a star: candidate 2 reaches all of nodes 10..19; the others one node each
    u = list(range(10, 20)) + [0, 1]
    v = [2] * 10 + [10, 11]
    edges = pd.DataFrame({"u": u, "v": v, "time_s": 1.0})
    dem = np.arange(10, 20)
    m = coverage_matrix(edges, [0, 1, 2], dem, 5.0, n_nodes=20)
    # demand drives towards the candidate: nodes 10..19 all drive to 2
    picks, need = greedy_max_cover(m, np.ones(10), k=3, target_share=1.0)
    assert picks["candidate"].iloc[0] == 2
    assert picks["gain_weight"].iloc[0] == 10
    assert len(picks) == 1  # nothing left to gain after it
    assert need == 1


def test_greedy_marginal_gains_and_k_needed():
    m = csr_matrix(np.array([[1, 1, 1, 0, 0, 0],
                             [0, 0, 0, 1, 1, 0],
                             [1, 1, 1, 1, 0, 0],
                             [0, 0, 0, 0, 0, 1]], bool))
    w = np.array([1, 1, 1, 1, 1, 5.0])
    picks, need = greedy_max_cover(m, w, k=2, target_share=1.0)
    assert picks["candidate"].tolist() == [3, 2, 1]
    assert picks["gain_weight"].tolist() == [5, 4, 1]
    assert picks["within_k"].tolist() == [True, True, False]
    assert need == 3
    assert picks["coverage_share"].iloc[-1] == pytest.approx(1.0)
    # already-covered demand is not gained again
    picks2, _ = greedy_max_cover(m, w, k=1, covered=[0, 0, 0, 0, 0, 1])
    assert picks2["candidate"].tolist() == [2]
    # unreachable target
    _, need3 = greedy_max_cover(m[:2], w, k=1, target_share=1.0)
    assert need3 is None


def test_ties_go_to_the_lower_index():
    m = csr_matrix(np.eye(3, dtype=bool)[[1, 0, 0]])  # candidates 1 and 2 cover the same point
    picks, _ = greedy_max_cover(m, [1.0, 1.0, 1.0], k=3)
    assert picks["candidate"].tolist() == [0, 1]


def test_bad_input():
    m = csr_matrix(np.eye(2, dtype=bool))
    with pytest.raises(SchemaError, match="weight"):
        greedy_max_cover(m, [1.0, -1.0], k=1)
    with pytest.raises(SchemaError, match="weight has"):
        greedy_max_cover(m, [1.0], k=1)
    with pytest.raises(SchemaError, match="candidate_nodes"):
        coverage_matrix(pd.DataFrame({"u": [0], "v": [1], "time_s": [1.0]}), [7], [0], 5.0)
