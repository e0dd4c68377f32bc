"""Private numba kernels of the coverage engine: shortest paths on CSR arrays.

* :func:`bounded_dijkstra_many` (:mod:`engines.coverage.siting`): many bounded
  single-source Dijkstra runs. Each run stops at ``limit`` and resets only the nodes it
  touched, so the cost of a run is proportional to the size of its catchment, not of the
  graph.
* :func:`csr_from_edges` and :func:`multi_source_dijkstra`
  (:func:`engines.coverage.access.nearest_source_times`): one multi-source Dijkstra pass,
  the nearest source of every node, on CSR arrays built in one counting-sort pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bounded_dijkstra_many", "csr_from_edges", "multi_source_dijkstra"]


@njit(nogil=True, cache=True)
def _push(hd: np.ndarray, hn: np.ndarray, size: int, d: float, x: int) -> int:
    i = size
    hd[i] = d
    hn[i] = x
    while i > 0:
        p = (i - 1) >> 1
        if hd[p] <= hd[i]:
            break
        hd[p], hd[i] = hd[i], hd[p]
        hn[p], hn[i] = hn[i], hn[p]
        i = p
    return size + 1


@njit(nogil=True, cache=True)
def _pop(hd: np.ndarray, hn: np.ndarray, size: int) -> tuple[float, int, int]:
    d = hd[0]
    x = hn[0]
    size -= 1
    hd[0] = hd[size]
    hn[0] = hn[size]
    i = 0
    while True:
        lft = 2 * i + 1
        if lft >= size:
            break
        c = lft
        if lft + 1 < size and hd[lft + 1] < hd[lft]:
            c = lft + 1
        if hd[i] <= hd[c]:
            break
        hd[c], hd[i] = hd[i], hd[c]
        hn[c], hn[i] = hn[i], hn[c]
        i = c
    return d, x, size


@njit(nogil=True, cache=True)
def bounded_dijkstra_many(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, sources: np.ndarray,
                          limit: float, record: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run one Dijkstra per source, bounded by ``limit``, and list the reached nodes.

    Parameters
    ----------
    indptr, indices, data : ndarray
        CSR adjacency (row = from-node) with non-negative costs.
    sources : ndarray of int64
        Start node of each run.
    limit : float
        Largest cost kept (inclusive).
    record : ndarray of bool
        Only reached nodes with ``record[node]`` are listed.

    Returns
    -------
    run, node : ndarray of int64
        Index into ``sources`` and reached node of each listed pair.
    cost : ndarray of float64
        Shortest cost from the run's source to the node.
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(n, np.int64)
    cap_h = len(data) + 1
    hd = np.empty(cap_h, np.float64)
    hn = np.empty(cap_h, np.int64)
    cap = 1024
    out_r = np.empty(cap, np.int64)
    out_n = np.empty(cap, np.int64)
    out_c = np.empty(cap, np.float64)
    m = 0
    for k in range(len(sources)):
        s = sources[k]
        nt = 0
        size = 0
        dist[s] = 0.0
        touched[nt] = s
        nt += 1
        size = _push(hd, hn, size, 0.0, s)
        while size > 0:
            d, x, size = _pop(hd, hn, size)
            if d > dist[x]:
                continue
            if record[x]:
                if m == cap:
                    cap *= 2
                    out_r2 = np.empty(cap, np.int64)
                    out_n2 = np.empty(cap, np.int64)
                    out_c2 = np.empty(cap, np.float64)
                    out_r2[:m] = out_r[:m]
                    out_n2[:m] = out_n[:m]
                    out_c2[:m] = out_c[:m]
                    out_r, out_n, out_c = out_r2, out_n2, out_c2
                out_r[m] = k
                out_n[m] = x
                out_c[m] = d
                m += 1
            for e in range(indptr[x], indptr[x + 1]):
                y = indices[e]
                nd = d + data[e]
                if nd <= limit and nd < dist[y]:
                    if dist[y] == np.inf:
                        touched[nt] = y
                        nt += 1
                    dist[y] = nd
                    size = _push(hd, hn, size, nd, y)
        for i in range(nt):
            dist[touched[i]] = np.inf
    return out_r[:m], out_n[:m], out_c[:m]


@njit(nogil=True, cache=True)
def csr_from_edges(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (row = ``u``) of directed edges, by one counting sort (O(n + m)).

    Parallel edges are all kept (a shortest-path search takes the fastest of them by
    itself); within a row the edges keep their input order.

    Parameters
    ----------
    u, v : ndarray of int64
        From- and to-node of each edge, ``0 <= u, v < n``.
    w : ndarray of float64
        Cost of each edge.
    n : int
        Number of nodes.

    Returns
    -------
    indptr : ndarray of int64, shape (n + 1,)
    indices : ndarray of int32
    data : ndarray of float64
    """
    m = len(u)
    indptr = np.zeros(n + 1, np.int64)
    for e in range(m):
        indptr[u[e] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    indices = np.empty(m, np.int32)
    data = np.empty(m, np.float64)
    for e in range(m):
        k = fill[u[e]]
        indices[k] = v[e]
        data[k] = w[e]
        fill[u[e]] = k + 1
    return indptr, indices, data


@njit(nogil=True, cache=True)
def multi_source_dijkstra(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, sources: np.ndarray,
                          limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Cost from the nearest of ``sources`` to every node, and which source that is.

    Dijkstra's algorithm seeded with every source at cost 0, on an indexed 4-ary heap
    with decrease-key (three contiguous arrays of one entry per node at most). Costs are
    sums along the path from the source, so they are the same floats as those of any
    exact Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``); a
    node's source is that of the first path to reach its cost.

    Parameters
    ----------
    indptr, indices, data : ndarray
        CSR adjacency (row = from-node) with non-negative costs (:func:`csr_from_edges`).
    sources : ndarray of int64
        Source nodes (duplicates are ignored).
    limit : float
        Largest cost kept (inclusive); beyond it nodes are unreachable.

    Returns
    -------
    dist : ndarray of float64
        Cost of each node (``inf``: unreachable within ``limit``).
    origin : ndarray of int64
        Source node of each node's path (-1: unreachable).
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    origin = np.full(n, -1, np.int64)
    pos = np.full(n, -1, np.int32)  # heap slot of a node; -1: never queued, -2: settled
    hd = np.empty(n, np.float64)  # heap keys (costs) ...
    hn = np.empty(n, np.int32)  # ... and their nodes
    size = 0
    for k in range(len(sources)):
        s = sources[k]
        if pos[s] != -1:
            continue
        dist[s] = 0.0
        origin[s] = s
        hd[size] = 0.0  # every key is 0: appending keeps the heap order
        hn[size] = s
        pos[s] = size
        size += 1
    while size > 0:
        d = hd[0]
        x = hn[0]
        pos[x] = -2
        size -= 1
        if size > 0:  # sift the last entry down from the root
            kd = hd[size]
            kn = hn[size]
            i = 0
            while True:
                c = 4 * i + 1
                if c >= size:
                    break
                best = c
                bd = hd[c]
                end = min(c + 4, size)
                for j in range(c + 1, end):
                    if hd[j] < bd:
                        bd = hd[j]
                        best = j
                if kd <= bd:
                    break
                hd[i] = bd
                hn[i] = hn[best]
                pos[hn[i]] = i
                i = best
            hd[i] = kd
            hn[i] = kn
            pos[kn] = i
        ox = origin[x]
        for e in range(indptr[x], indptr[x + 1]):
            y = indices[e]
            nd = d + data[e]
            if nd < dist[y] and nd <= limit:  # never true for a settled node (costs >= 0)
                dist[y] = nd
                origin[y] = ox
                i = pos[y]
                if i < 0:
                    i = size
                    size += 1
                while i > 0:  # sift up (decrease-key or insert)
                    p = (i - 1) >> 2
                    if hd[p] <= nd:
                        break
                    hd[i] = hd[p]
                    hn[i] = hn[p]
                    pos[hn[i]] = i
                    i = p
                hd[i] = nd
                hn[i] = y
                pos[y] = i
    return dist, origin
