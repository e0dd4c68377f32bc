"""Private numba kernel of :mod:`engines.coverage.siting`: many bounded single-source Dijkstra runs.

Each run stops at ``limit`` and resets only the nodes it touched, so the cost of a
run is proportional to the size of its catchment, not of the graph.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bounded_dijkstra_many"]


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
