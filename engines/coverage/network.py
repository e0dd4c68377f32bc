"""A routable road graph from the ``roads`` layer, and snapping of points to it.

The graph's nodes are the end points of the road centrelines, merged when they
coincide after rounding to ``node_precision_m`` (the generator and most noded
road sources make segments meet only at shared end points). Each road gives one
directed edge per permitted direction (one for ``is_oneway``, two otherwise);
turns are free. Travel time is ``length_m / speed``, the speed being the road's
``speed_kmh`` or, where missing, the class default of :data:`DEFAULT_SPEED_KMH`
(configurable per call).

Walking uses the same nodes, undirected, with the metric length as cost and
motorways removed (:data:`WALK_EXCLUDED_CLASSES`).

References
----------
.. [1] JTG B01-2014 Technical Standard of Highway Engineering (design speeds).
.. [2] CJJ 37-2012 Code for Design of Urban Road Engineering (design speeds).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from layers.roads import DEFAULT_SPEED_KMH
from twin.errors import SchemaError, require_columns

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "csr_graph",
    "edge_arrays",
    "DEFAULT_SPEED_KMH",
    "WALK_EXCLUDED_CLASSES",
    "RoadNetwork",
    "build_network",
    "component_report",
    "snap_points",
    "walking_edges",
]

logger = logging.getLogger(__name__)

#: Road classes a pedestrian may not use (expressways / motorways, GB 5768 and the Road
#: Traffic Safety Law art. 67 bar pedestrians from expressways).
WALK_EXCLUDED_CLASSES = ("motorway",)


@dataclass(frozen=True)
class RoadNetwork:
    """A directed road graph.

    Attributes
    ----------
    nodes_xy : ndarray, shape (n, 2)
        Node coordinates in the roads' CRS [m]; node id = row.
    edges : DataFrame
        One row per directed edge: ``u``, ``v`` (int node ids), ``time_s`` [s],
        ``length_m`` [m], ``road_id``, ``road_class``.
    component : ndarray of int, shape (n,)
        Weakly connected component of each node; 0 is the largest.
    crs : object
        CRS of the coordinates (pyproj-compatible), or None.
    """

    nodes_xy: np.ndarray
    edges: pd.DataFrame
    component: np.ndarray
    crs: object = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes_xy)


def _speeds(roads: pd.DataFrame, speeds_kmh: dict[str, float] | None) -> np.ndarray:
    table = {**DEFAULT_SPEED_KMH, **(speeds_kmh or {})}
    given = (pd.to_numeric(roads["speed_kmh"], errors="coerce")
             if "speed_kmh" in roads.columns else pd.Series(np.nan, index=roads.index))
    cls = roads["road_class"].astype(str) if "road_class" in roads.columns else None
    default = cls.map(table) if cls is not None else pd.Series(np.nan, index=roads.index)
    speed = given.where(given.notna(), default).astype("float64")
    missing = speed.isna()
    if missing.any():
        ids = roads.index[missing][:5].tolist()
        classes = sorted(set(cls[missing])) if cls is not None else []
        msg = (f"roads: {int(missing.sum())} road(s) have no speed_kmh and a road_class without a "
               f"default speed (rows {ids}, classes {classes}); give speed_kmh or pass "
               f"speeds_kmh={{class: km/h}}")
        raise SchemaError(msg)
    bad = ~(speed > 0) | ~np.isfinite(speed)
    if bad.any():
        rows = roads.index[bad][:5].tolist()
        msg = (f"roads: {int(bad.sum())} road(s) have a zero, negative or infinite speed_kmh "
               f"(rows {rows}, values {speed[bad].head(5).tolist()}); speeds must be > 0 km/h")
        raise SchemaError(msg)
    return speed.to_numpy()


def build_network(roads: gpd.GeoDataFrame, *, speeds_kmh: dict[str, float] | None = None,
                  node_precision_m: float = 0.01) -> RoadNetwork:
    """Build the directed drive graph of a roads layer.

    Parameters
    ----------
    roads : GeoDataFrame
        LineStrings in a metric CRS with ``road_class`` and optionally ``road_id``,
        ``speed_kmh`` [km/h] and ``is_oneway`` (digitised direction only).
    speeds_kmh : dict, optional
        Class -> default free-flow speed [km/h], overriding :data:`DEFAULT_SPEED_KMH`
        where a road has no ``speed_kmh``.
    node_precision_m : float
        End points closer than this grid [m] are the same node.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    SchemaError
        On non-line or empty geometry, duplicate ``road_id``, a missing or
        non-positive speed, or a geographic CRS.
    """
    if roads.crs is not None and roads.crs.is_geographic:
        msg = "roads: the layer is in a geographic CRS; reproject to a metric CRS (EPSG:4549)"
        raise SchemaError(msg)
    geom = roads.geometry.to_numpy()
    kinds = shapely.get_type_id(geom)
    bad = (kinds != 1) | shapely.is_empty(geom)
    if bad.any():
        rows = roads.index[bad][:5].tolist()
        msg = (f"roads: {int(bad.sum())} feature(s) are not non-empty LineStrings (rows {rows}); "
               "explode MultiLineStrings and drop empty geometries first")
        raise SchemaError(msg)
    ids = (roads["road_id"].astype(str).to_numpy() if "road_id" in roads.columns
           else roads.index.astype(str).to_numpy())
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        msg = (f"roads: duplicate road_id values {sorted(set(ids[dup]))[:5]} "
               f"({int(dup.sum())} rows); road ids must be unique")
        raise SchemaError(msg)
    speed = _speeds(roads, speeds_kmh)
    length = np.asarray(shapely.length(geom), dtype="float64")
    n_pts = shapely.get_num_points(geom)
    coords = shapely.get_coordinates(geom)
    start = np.concatenate([[0], np.cumsum(n_pts)[:-1]])
    p0 = coords[start]
    p1 = coords[start + n_pts - 1]
    keys = np.round(np.concatenate([p0, p1]) / node_precision_m).astype(np.int64)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    m = len(roads)
    a, b = inv[:m], inv[m:]
    loops = a == b
    if loops.any():
        logger.info("roads: %d closed or zero-length road(s) give no edge: %s",
                    int(loops.sum()), ids[loops][:5].tolist())
    oneway = (roads["is_oneway"].fillna(False).astype(bool).to_numpy()
              if "is_oneway" in roads.columns else np.zeros(m, bool))
    time_s = length / (speed / 3.6)
    cls = (roads["road_class"].astype(str).to_numpy() if "road_class" in roads.columns
           else np.full(m, "", dtype=object))
    fwd = ~loops
    back = ~loops & ~oneway
    edges = pd.DataFrame({
        "u": np.concatenate([a[fwd], b[back]]).astype(np.int64),
        "v": np.concatenate([b[fwd], a[back]]).astype(np.int64),
        "time_s": np.concatenate([time_s[fwd], time_s[back]]),
        "length_m": np.concatenate([length[fwd], length[back]]),
        "road_id": np.concatenate([ids[fwd], ids[back]]),
        "road_class": np.concatenate([cls[fwd], cls[back]]),
    })
    nodes_xy = uniq.astype("float64") * node_precision_m
    comp = _components(len(nodes_xy), edges["u"].to_numpy(), edges["v"].to_numpy())
    net = RoadNetwork(nodes_xy, edges, comp, roads.crs)
    rep = component_report(net)
    if len(rep) > 1:
        logger.warning("road graph has %d weakly connected components; the largest holds %d of %d "
                       "nodes; the others hold %s nodes", len(rep), int(rep["n_nodes"].iloc[0]),
                       net.n_nodes, rep["n_nodes"].iloc[1:6].tolist())
    return net


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    _, lab = connected_components(g, directed=True, connection="weak")
    sizes = np.bincount(lab)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[lab].astype(np.int64)


def component_report(net: RoadNetwork) -> pd.DataFrame:
    """Size of every weakly connected component, largest first.

    Returns
    -------
    DataFrame
        ``component`` (0 = largest), ``n_nodes``, ``n_edges`` (directed), ``length_m``
        (sum of directed edge lengths [m]) and ``is_largest``.
    """
    n_nodes = np.bincount(net.component, minlength=int(net.component.max(initial=-1)) + 1)
    ec = net.component[net.edges["u"].to_numpy()] if len(net.edges) else np.empty(0, np.int64)
    n_edges = np.bincount(ec, minlength=len(n_nodes))
    length = np.bincount(ec, weights=net.edges["length_m"].to_numpy(), minlength=len(n_nodes))
    return pd.DataFrame({"component": np.arange(len(n_nodes)), "n_nodes": n_nodes,
                         "n_edges": n_edges, "length_m": length,
                         "is_largest": np.arange(len(n_nodes)) == 0})


def walking_edges(net: RoadNetwork, *, excluded: Collection[str] = WALK_EXCLUDED_CLASSES) -> pd.DataFrame:
    """Undirected walking edges of a road graph, cost = length [m].

    Returns
    -------
    DataFrame
        ``u``, ``v``, ``time_s`` (holding the length [m], so the shortest-path engine can
        be used unchanged) in both directions, without ``excluded`` classes.
    """
    # column arrays, not a filtered copy of the whole edge frame (road ids and classes too)
    keep = ~net.edges["road_class"].isin(excluded).to_numpy()
    u, v, w = (net.edges[c].to_numpy()[keep] for c in ("u", "v", "length_m"))
    return pd.DataFrame({"u": np.concatenate([u, v]), "v": np.concatenate([v, u]),
                         "time_s": np.concatenate([w, w])})


def snap_points(net: RoadNetwork, xy: np.ndarray, *, nodes: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Snap points to their nearest graph node.

    Parameters
    ----------
    net : RoadNetwork
    xy : ndarray, shape (k, 2)
        Point coordinates in the network's CRS [m].
    nodes : ndarray of int, optional
        Allowed nodes (e.g. nodes with walking edges); all nodes when omitted.

    Returns
    -------
    node : ndarray of int
        Nearest allowed node of each point (-1 when the graph has no allowed node).
    distance_m : ndarray of float
        Straight-line snapping distance [m] (inf when there is no node).
    """
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    cand = np.arange(net.n_nodes) if nodes is None else np.asarray(nodes, dtype=np.int64)
    if len(cand) == 0 or len(xy) == 0:
        return np.full(len(xy), -1, np.int64), np.full(len(xy), np.inf)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        msg = (f"snap_points: {int(bad.sum())} point(s) have non-finite coordinates "
               f"(rows {np.flatnonzero(bad)[:5].tolist()}); drop or fix their geometry")
        raise SchemaError(msg)
    d, i = cKDTree(net.nodes_xy[cand]).query(xy, k=1)
    return cand[i].astype(np.int64), np.asarray(d, dtype="float64")


def edge_arrays(edges: pd.DataFrame, n_nodes: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Validated ``u``, ``v`` (int64), ``time_s`` (float64) of an edge table and the node count."""
    require_columns(edges, ("u", "v", "time_s"), "edges", "edges need integer u, v and time_s [s]")
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    for name, a in (("u", u), ("v", v)):
        if len(a) and not np.issubdtype(a.dtype, np.integer):
            msg = f"edges: column {name!r} must hold integer node ids (got dtype {a.dtype})"
            raise SchemaError(msg)
    u = u.astype(np.int64)
    v = v.astype(np.int64)
    w = edges["time_s"].to_numpy(dtype="float64")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        rows = edges.index[bad][:5].tolist()
        msg = (f"edges: {int(bad.sum())} edge(s) have a negative, NaN or infinite time_s "
               f"(rows {rows}); times must be finite and >= 0 s (check the speeds)")
        raise SchemaError(msg)
    if len(u) and (min(u.min(), v.min()) < 0):
        msg = "edges: node ids must be >= 0"
        raise SchemaError(msg)
    top = int(max(u.max(initial=-1), v.max(initial=-1))) + 1
    n = top if n_nodes is None else int(n_nodes)
    if n < top:
        msg = f"edges: node id {top - 1} >= n_nodes={n}"
        raise SchemaError(msg)
    return u, v, w, n


def csr_graph(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> csr_matrix:
    """CSR adjacency keeping the fastest of parallel edges (scipy would sum them)."""
    key = u * np.int64(n) + v
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    if len(key):
        start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        w = np.minimum.reduceat(w, start)
        key = key[start]
    rows, cols = key // n, key % n
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return csr_matrix((w, cols, indptr), shape=(n, n))
