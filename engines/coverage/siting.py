"""Siting new charging stations: greedy maximal covering of the uncovered demand.

:func:`coverage_matrix` lists, for every candidate site, the demand points that
could drive to it within their own threshold (5 min urban, 30 min rural), as a
sparse candidate x demand matrix built from bounded Dijkstra runs on the reversed
graph (numba). :func:`greedy_max_cover` then adds, one at a time, the candidate
that covers the most not-yet-covered demand weight (lazy greedy: a candidate's
gain can only fall as others are added, so stale gains are upper bounds [1]_),
which is within 1 - 1/e of the optimal cover for any K [2]_.

References
----------
.. [1] Minoux, M. (1978). Accelerated greedy algorithms for maximizing submodular set
   functions. Optimization Techniques, LNCIS 7, 234-243. doi:10.1007/BFb0006528
.. [2] Church, R. and ReVelle, C. (1974). The maximal covering location problem. Papers of
   the Regional Science Association 32, 101-118. doi:10.1007/BF01942293
"""

from __future__ import annotations

import heapq
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix, sparray, spmatrix

from engines.coverage._dijkstra import bounded_dijkstra_many
from engines.coverage.network import csr_graph, edge_arrays
from twin.errors import SchemaError

__all__ = ["candidate_grid", "coverage_matrix", "greedy_max_cover"]

logger = logging.getLogger(__name__)


def coverage_matrix(edges: pd.DataFrame, candidate_nodes: npt.ArrayLike, demand_nodes: npt.ArrayLike,
                    demand_threshold_s: npt.ArrayLike, *,
                    n_nodes: int | None = None, reverse: bool = True, n_threads: int | None = None
                    ) -> csr_matrix:
    """Which demand points each candidate covers.

    Parameters
    ----------
    edges : DataFrame
        Directed edges ``u``, ``v``, ``time_s`` [s] (as for
        :func:`engines.coverage.access.nearest_source_times`).
    candidate_nodes : array-like of int
        Graph node of each candidate site.
    demand_nodes : array-like of int
        Graph node of each demand point (-1: not on the graph, never covered).
    demand_threshold_s : float or array-like
        Covering time of each demand point [s].
    n_nodes : int, optional
        Number of graph nodes.
    reverse : bool
        True (default): time from the demand point to the candidate (driving to it).
    n_threads : int, optional
        Threads for the numba searches (default: CPU count, at most 8).

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (n_candidates, n_demand)
    """
    u, v, w, n = edge_arrays(edges, n_nodes)
    cand = np.asarray(candidate_nodes, dtype=np.int64).ravel()
    dem = np.asarray(demand_nodes, dtype=np.int64).ravel()
    thr = np.broadcast_to(np.asarray(demand_threshold_s, dtype="float64"), dem.shape)
    if len(cand) and (cand.min() < 0 or cand.max() >= n):
        msg = f"candidate_nodes must be node ids in 0..{n - 1}"
        raise SchemaError(msg)
    if len(dem) and dem.max() >= n:
        msg = f"demand_nodes must be node ids < {n} (or -1)"
        raise SchemaError(msg)
    if np.any(~(thr >= 0)):
        msg = "demand_threshold_s must be >= 0 s"
        raise SchemaError(msg)
    # reversed graph: a search from the candidate follows edges backwards = demand -> candidate
    g = csr_graph(v, u, w, n) if reverse else csr_graph(u, v, w, n)
    on = dem >= 0
    order = np.argsort(np.where(on, dem, n), kind="stable")
    order = order[on[order]]
    ptr = np.searchsorted(dem[order], np.arange(n + 1))
    record = np.zeros(n, bool)
    record[dem[on]] = True
    limit = float(thr[on].max()) if on.any() else 0.0
    n_threads = n_threads or min(os.cpu_count() or 1, 8)
    chunks = [c for c in np.array_split(cand, max(1, min(n_threads * 4, len(cand)))) if len(c)]
    offsets = np.cumsum([0] + [len(c) for c in chunks])

    def work(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, node, cost = bounded_dijkstra_many(g.indptr, g.indices, g.data, chunks[i], limit, record)
        return r + offsets[i], node, cost

    if len(chunks) > 1 and n_threads > 1:
        with ThreadPoolExecutor(n_threads) as ex:
            parts = list(ex.map(work, range(len(chunks))))
    else:
        parts = [work(i) for i in range(len(chunks))]
    if parts:
        r = np.concatenate([p[0] for p in parts])
        node = np.concatenate([p[1] for p in parts])
        cost = np.concatenate([p[2] for p in parts])
    else:
        r = node = np.empty(0, np.int64)
        cost = np.empty(0)
    # expand node -> demand points at that node
    cnt = ptr[node + 1] - ptr[node]
    rows = np.repeat(r, cnt)
    costs = np.repeat(cost, cnt)
    start = np.repeat(ptr[node], cnt)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cols = order[start + within]
    ok = costs <= thr[cols]
    m = csr_matrix((np.ones(int(ok.sum()), bool), (rows[ok], cols[ok])),
                   shape=(len(cand), len(dem)))
    m.sum_duplicates()
    return m


def greedy_max_cover(matrix: spmatrix | sparray | npt.ArrayLike, weight: npt.ArrayLike, *, k: int,
                     covered: npt.ArrayLike | None = None, target_share: float | None = None,
                     k_max: int | None = None) -> tuple[pd.DataFrame, int | None]:
    """Pick candidates one by one, each covering the most uncovered demand weight.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (n_candidates, n_demand)
        Non-zero where the candidate covers the demand point (:func:`coverage_matrix`).
    weight : array-like, shape (n_demand,)
        Demand weight (residents, area) >= 0.
    k : int
        Number of sites to report at least.
    covered : array-like of bool, optional
        Demand already covered (by existing stations).
    target_share : float, optional
        Coverage share in [0, 1] to reach; the search goes on past ``k`` (up to
        ``k_max``) to find how many sites reach it.
    k_max : int, optional
        Most sites tried when looking for ``target_share`` (default: all candidates).

    Returns
    -------
    picks : DataFrame
        One row per added site, in order: ``site_rank`` (1-based), ``candidate``
        (row of ``matrix``), ``gain_weight`` (newly covered weight),
        ``covered_weight`` and ``coverage_share`` after adding it, ``within_k``.
        Ties go to the lower candidate index; picks stop early when no candidate
        adds any demand.
    k_needed : int or None
        Sites needed to reach ``target_share`` (0 when already reached; None when
        not reachable with the candidates, or no target given).
    """
    m = csr_matrix(matrix, dtype=bool)
    w = np.asarray(weight, dtype="float64").ravel()
    if m.shape[1] != len(w):
        msg = f"weight has {len(w)} values but the matrix has {m.shape[1]} demand columns"
        raise SchemaError(msg)
    if np.any(~(w >= 0)):
        msg = "weight must be finite and >= 0"
        raise SchemaError(msg)
    if k < 0:
        msg = f"k must be >= 0 (got {k})"
        raise SchemaError(msg)
    cov = (np.zeros(len(w), bool) if covered is None
           else np.asarray(covered, bool).ravel().copy())
    total = w.sum()
    done = w[cov].sum()
    def share(x: float) -> float:
        return (x / total if total > 0 else float("nan"))
    need = None
    if target_share is not None and total > 0 and share(done) >= target_share - 1e-12:
        need = 0
    n_cand = m.shape[0]
    limit = k if target_share is None else max(k, n_cand if k_max is None else k_max)
    limit = min(limit, n_cand)
    open_w = np.where(cov, 0.0, w)
    gains = m @ open_w if n_cand else np.empty(0)
    heap = [(-g, c) for c, g in enumerate(gains) if g > 0]
    heapq.heapify(heap)
    fresh = np.ones(n_cand, np.int64)  # initial gains are exact at step 1
    rows: list[dict[str, Any]] = []
    step = 1
    indptr, indices = m.indptr, m.indices
    while heap and len(rows) < limit:
        if need is not None and len(rows) >= k:
            break
        g, c = heapq.heappop(heap)
        if fresh[c] != step:
            cols = indices[indptr[c]:indptr[c + 1]]
            gain = open_w[cols].sum()
            fresh[c] = step
            if gain > 0:
                heapq.heappush(heap, (-gain, c))
            continue
        cols = indices[indptr[c]:indptr[c + 1]]
        gain = -g
        open_w[cols] = 0.0
        cov[cols] = True
        done += gain
        rows.append({"site_rank": step, "candidate": int(c), "gain_weight": float(gain),
                     "covered_weight": float(done), "coverage_share": share(done),
                     "within_k": step <= k})
        if need is None and target_share is not None and share(done) >= target_share - 1e-12:
            need = step
        step += 1
    picks = pd.DataFrame(rows, columns=["site_rank", "candidate", "gain_weight", "covered_weight",
                                        "coverage_share", "within_k"])
    return picks, need


def candidate_grid(areas: gpd.GeoDataFrame, spacing_m: float = 2000.0) -> gpd.GeoDataFrame:
    """Candidate sites on a square grid inside ``areas`` [m spacing].

    Returns
    -------
    GeoDataFrame
        ``candidate_id`` (``"grid-<i>"``), ``candidate_kind`` = ``"grid"`` and points.
    """
    if not spacing_m > 0:
        msg = f"candidate_grid: spacing_m must be > 0 m (got {spacing_m})"
        raise SchemaError(msg)
    geom = areas.geometry.union_all()
    if geom.is_empty:
        xy = np.empty((0, 2))
    else:
        x0, y0, x1, y1 = geom.bounds
        gx, gy = np.meshgrid(np.arange(x0 + spacing_m / 2, x1, spacing_m),
                             np.arange(y0 + spacing_m / 2, y1, spacing_m))
        xy = np.column_stack([gx.ravel(), gy.ravel()])
        shapely.prepare(geom)
        xy = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]
    return gpd.GeoDataFrame({"candidate_id": [f"grid-{i}" for i in range(len(xy))],
                             "candidate_kind": "grid"},
                            geometry=shapely.points(xy) if len(xy) else [], crs=areas.crs)
