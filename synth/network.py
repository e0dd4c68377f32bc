"""Road-network helpers of :mod:`synth.roads`: Gabriel graph, lattice edges and noding.

Every road is a straight two-point segment. :func:`node_segments` splits segments
where they cross or where one ends on another, so that segments meet only at
shared end points (rounded to 0.01 m) and a graph can be built from end points.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
from scipy.spatial import Delaunay, cKDTree

__all__ = ["gabriel_edges", "lattice_edges", "node_segments"]

logger = logging.getLogger(__name__)

_EPS_M = 0.02  # [m] pieces shorter than this are dropped; split points closer than this merge


def gabriel_edges(xy: np.ndarray) -> np.ndarray:
    """Return the edges ``(k, 2)`` of the Gabriel graph of points ``xy`` ``(n, 2)``.

    A Gabriel edge ``(i, j)`` has no other point inside the circle of diameter
    ``ij``, so the segment lies inside the union of the Voronoi cells of ``i``
    and ``j``; the graph is planar and contains the Euclidean minimum spanning tree.
    """
    n = len(xy)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    if n == 2:
        return np.array([[0, 1]], dtype=np.int64)
    try:
        tri = Delaunay(xy)
    except Exception:  # collinear points: chain them
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        return np.column_stack([order[:-1], order[1:]]).astype(np.int64)
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    mid = (xy[e[:, 0]] + xy[e[:, 1]]) / 2.0
    r = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T) / 2.0
    d, _ = cKDTree(xy).query(mid, k=1)
    return e[d >= r * (1.0 - 1e-9)].astype(np.int64)


def lattice_edges(ok: np.ndarray):
    """Edges between 4-neighbour nodes of a 2-D lattice that are both ``ok``.

    Parameters
    ----------
    ok : ndarray of bool, shape (ni, nj)
        Node is usable.

    Returns
    -------
    a, b : ndarray of int
        Flat (row-major) node indices of each edge.
    axis : ndarray of int
        0 for an edge along the first index, 1 along the second.
    """
    ni, nj = ok.shape
    idx = np.arange(ni * nj).reshape(ni, nj)
    e0 = ok[:-1, :] & ok[1:, :]
    e1 = ok[:, :-1] & ok[:, 1:]
    a = np.concatenate([idx[:-1, :][e0], idx[:, :-1][e1]])
    b = np.concatenate([idx[1:, :][e0], idx[:, 1:][e1]])
    axis = np.concatenate([np.zeros(int(e0.sum()), np.int64), np.ones(int(e1.sum()), np.int64)])
    return a, b, axis


def node_segments(p0: np.ndarray, p1: np.ndarray, rank: np.ndarray):
    """Split straight segments at every crossing and T-junction, and deduplicate.

    Parameters
    ----------
    p0, p1 : ndarray, shape (n, 2)
        End points [m], already rounded to 0.01 m.
    rank : ndarray of int, shape (n,)
        Attribute carried over to the pieces; for duplicate pieces the smallest
        rank (the most important road class) wins.

    Returns
    -------
    q0, q1 : ndarray, shape (m, 2)
        Piece end points [m]; pieces meet only at shared, identical end points.
    src : ndarray of int, shape (m,)
        Index of the input segment each piece came from.
    """
    n = len(p0)
    if n == 0:
        return p0, p1, np.empty(0, dtype=np.int64)
    lines = shapely.linestrings(np.stack([p0, p1], axis=1))
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    r = p1[a] - p0[a]
    s = p1[b] - p0[b]
    qp = p0[b] - p0[a]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    lr = np.hypot(r[:, 0], r[:, 1])
    ls = np.hypot(s[:, 0], s[:, 1])
    par = np.abs(den) <= 1e-12 * lr * ls
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
        u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / den
    t = np.where(par, np.nan, t)
    u = np.where(par, np.nan, u)
    ea = _EPS_M / lr
    eb = _EPS_M / ls
    t_end0, t_end1 = np.abs(t) <= ea, np.abs(t - 1) <= ea
    u_end0, u_end1 = np.abs(u) <= eb, np.abs(u - 1) <= eb
    pt = np.round(p0[a] + t[:, None] * r, 2)
    pt = np.where(t_end0[:, None], p0[a], pt)
    pt = np.where(t_end1[:, None], p1[a], pt)
    pt = np.where(u_end0[:, None], p0[b], pt)
    pt = np.where(u_end1[:, None], p1[b], pt)
    a_int = (t > ea) & (t < 1 - ea) & (u >= -eb) & (u <= 1 + eb)
    b_int = (u > eb) & (u < 1 - eb) & (t >= -ea) & (t <= 1 + ea)
    if np.any(par):
        logger.debug("node_segments: %d parallel touching pairs left unsplit", int(par.sum()))
    seg = np.concatenate([np.arange(n), np.arange(n), a[a_int], b[b_int]])
    tt = np.concatenate([np.zeros(n), np.ones(n), t[a_int], u[b_int]])
    pts = np.concatenate([p0, p1, pt[a_int], pt[b_int]])
    order = np.lexsort((tt, seg))
    seg, pts = seg[order], pts[order]
    same = seg[1:] == seg[:-1]
    q0, q1, src = pts[:-1][same], pts[1:][same], seg[:-1][same]
    ln = np.hypot(*(q1 - q0).T)
    good = ln > 0.005
    q0, q1, src = q0[good], q1[good], src[good]
    # deduplicate identical pieces (either direction), keeping the best rank
    k0 = np.round(q0 * 100).astype(np.int64)
    k1 = np.round(q1 * 100).astype(np.int64)
    swap = (k0[:, 0] > k1[:, 0]) | ((k0[:, 0] == k1[:, 0]) & (k0[:, 1] > k1[:, 1]))
    lo = np.where(swap[:, None], k1, k0)
    hi = np.where(swap[:, None], k0, k1)
    key = np.column_stack([lo, hi, rank[src]])
    order = np.lexsort((key[:, 4], key[:, 3], key[:, 2], key[:, 1], key[:, 0]))
    ks = key[order, :4]
    first = np.ones(len(order), dtype=bool)
    first[1:] = np.any(ks[1:] != ks[:-1], axis=1)
    sel = np.sort(order[first])
    return q0[sel], q1[sel], src[sel]
