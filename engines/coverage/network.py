"""A routable road graph from the ``roads`` layer, and snapping of points to it.

Roads are first noded (:func:`node_roads`): every road is split where it crosses or
touches another road on the same level (OSM ``layer`` / ``bridge`` / ``tunnel``; roads on
different levels cross without meeting), with :func:`shapely.node`. The graph's nodes
are then the end points of the pieces (*segments*), merged when they coincide after
rounding to ``node_precision_m``. Each segment gives one directed edge per permitted
direction (one for ``is_oneway``, two otherwise); turns are free. Travel time is
``length_m / speed``, the speed being the road's ``speed_kmh`` or, where missing, the
class default of :data:`DEFAULT_SPEED_KMH` (configurable per call).

Walking uses the same nodes, undirected, with the metric length as cost and
motorways removed (:data:`WALK_EXCLUDED_CLASSES`).

Points (homes, stops, stations) are snapped to the nearest point of the nearest
segment (:func:`snap_to_segments`) and inserted into the graph as nodes that split
their segments (:func:`split_segments`), so a point reaches a target on the same
segment directly, and partial segments count by their share of the length.

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
    "LEVEL_COLUMNS",
    "SegmentGraph",
    "csr_graph",
    "edge_arrays",
    "DEFAULT_SPEED_KMH",
    "WALK_EXCLUDED_CLASSES",
    "RoadNetwork",
    "build_network",
    "component_report",
    "drive_segments",
    "node_roads",
    "road_levels",
    "snap_points",
    "snap_to_segments",
    "split_segments",
    "walk_segments",
    "walking_edges",
    "with_congestion",
]

logger = logging.getLogger(__name__)

#: Road classes a pedestrian may not use (expressways / motorways, GB 5768 and the Road
#: Traffic Safety Law art. 67 bar pedestrians from expressways).
WALK_EXCLUDED_CLASSES = ("motorway",)

#: Road attributes that put a road on its own level (OSM keys ``layer``, ``bridge`` and
#: ``tunnel``, or the flags ``is_bridge`` / ``is_tunnel``): roads on different levels are
#: not noded where they cross (grade-separated crossings); shared end points still join.
LEVEL_COLUMNS = ("layer", "bridge", "tunnel", "is_bridge", "is_tunnel")

#: Distance [m] within which a noded piece's midpoint lies on the road it came from.
_PIECE_TOLERANCE_M = 1e-6


@dataclass(frozen=True)
class RoadNetwork:
    """A directed road graph.

    Attributes
    ----------
    nodes_xy : ndarray, shape (n, 2)
        Node coordinates in the roads' CRS [m]; node id = row.
    edges : DataFrame
        One row per directed edge: ``u``, ``v`` (int node ids), ``time_s`` [s],
        ``length_m`` [m], ``road_id``, ``road_class``, ``segment`` (row of ``segments``)
        and ``is_forward`` (True: ``u`` is the segment's first point).
    component : ndarray of int, shape (n,)
        Weakly connected component of each node; 0 is the largest.
    crs : object
        CRS of the coordinates (pyproj-compatible), or None.
    segments : ndarray of LineString, optional
        Geometry of each noded road piece (closed pieces have no edge).
    """

    nodes_xy: np.ndarray
    edges: pd.DataFrame
    component: np.ndarray
    crs: object = None
    segments: np.ndarray | None = None

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
                  node_precision_m: float = 0.01, node_intersections: bool = True) -> RoadNetwork:
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
    node_intersections : bool
        Split roads where they cross or touch on the same level first (:func:`node_roads`);
        False joins roads only at shared end points (for sources noded already).

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
    oneway = (roads["is_oneway"].fillna(False).astype(bool).to_numpy()
              if "is_oneway" in roads.columns else np.zeros(len(roads), bool))
    cls = (roads["road_class"].astype(str).to_numpy() if "road_class" in roads.columns
           else np.full(len(roads), "", dtype=object))
    if node_intersections and len(roads):
        src, geom = node_roads(geom, road_levels(roads))
        ids, speed, oneway, cls = ids[src], speed[src], oneway[src], cls[src]
    length = np.asarray(shapely.length(geom), dtype="float64")
    n_pts = shapely.get_num_points(geom)
    coords = shapely.get_coordinates(geom)
    start = np.concatenate([[0], np.cumsum(n_pts)[:-1]])
    p0 = coords[start]
    p1 = coords[start + n_pts - 1]
    keys = np.round(np.concatenate([p0, p1]) / node_precision_m).astype(np.int64)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    m = len(geom)
    a, b = inv[:m], inv[m:]
    loops = a == b
    if loops.any():
        logger.info("roads: %d closed or zero-length road piece(s) give no edge: %s",
                    int(loops.sum()), ids[loops][:5].tolist())
    time_s = length / (speed / 3.6)
    fwd = ~loops
    back = ~loops & ~oneway
    seg = np.arange(m, dtype=np.int64)
    edges = pd.DataFrame({
        "u": np.concatenate([a[fwd], b[back]]).astype(np.int64),
        "v": np.concatenate([b[fwd], a[back]]).astype(np.int64),
        "time_s": np.concatenate([time_s[fwd], time_s[back]]),
        "length_m": np.concatenate([length[fwd], length[back]]),
        "road_id": np.concatenate([ids[fwd], ids[back]]),
        "road_class": np.concatenate([cls[fwd], cls[back]]),
        "segment": np.concatenate([seg[fwd], seg[back]]),
        "is_forward": np.concatenate([np.ones(int(fwd.sum()), bool), np.zeros(int(back.sum()), bool)]),
    })
    nodes_xy = uniq.astype("float64") * node_precision_m
    comp = _components(len(nodes_xy), edges["u"].to_numpy(), edges["v"].to_numpy())
    net = RoadNetwork(nodes_xy, edges, comp, roads.crs, np.asarray(geom, dtype=object))
    rep = component_report(net)
    if len(rep) > 1:
        logger.warning("road graph has %d weakly connected components; the largest holds %d of %d "
                       "nodes; the others hold %s nodes", len(rep), int(rep["n_nodes"].iloc[0]),
                       net.n_nodes, rep["n_nodes"].iloc[1:6].tolist())
    return net


def _truthy(values: pd.Series) -> np.ndarray:
    """OSM-style flags (``yes``, ``true``, ``1``, a bridge kind such as ``viaduct``) as bools."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower().fillna("")
    return (~text.isin(["", "no", "false", "0", "nan", "none"])).to_numpy(bool)


def road_levels(roads: pd.DataFrame) -> np.ndarray:
    """Level of each road for noding: equal codes may meet at a crossing, others never.

    The level is the tuple (``layer``, bridge, tunnel) of :data:`LEVEL_COLUMNS` (OSM
    convention; a missing or blank ``layer`` is 0, missing flags are False), so a bridge
    does not meet the road it spans even where both say ``layer=0``.

    Returns
    -------
    ndarray of int64
        A level code per road (0 .. k-1); all 0 when the layer has none of the columns.
    """
    n = len(roads)
    if not any(c in roads.columns for c in LEVEL_COLUMNS):
        return np.zeros(n, np.int64)
    layer = (pd.to_numeric(roads["layer"], errors="coerce").fillna(0.0).round().to_numpy()
             if "layer" in roads.columns else np.zeros(n))
    flags = []
    for names in (("bridge", "is_bridge"), ("tunnel", "is_tunnel")):
        f = np.zeros(n, bool)
        for c in names:
            if c in roads.columns:
                f |= _truthy(roads[c])
        flags.append(f)
    key = pd.MultiIndex.from_arrays([layer, flags[0], flags[1]])
    codes, _ = pd.factorize(key)
    return np.asarray(codes, dtype=np.int64)


def node_roads(geom: np.ndarray, level: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split lines where they cross or touch other lines of the same level.

    Real road files (OSM, most GIS exports) join roads at intersections only through a
    shared vertex, or not at all; a graph built from end points would keep crossing
    roads apart. Each level's lines are noded together with :func:`shapely.node` (GEOS
    noding); every piece is then matched back to the line(s) it lies on (its midpoint
    within :data:`_PIECE_TOLERANCE_M`) and oriented as that line (for one-way roads).
    Overlapping collinear lines give one piece per line.

    Parameters
    ----------
    geom : ndarray of LineString
        Road centrelines (projected CRS).
    level : ndarray of int, optional
        Level code per line (:func:`road_levels`); all lines on one level when omitted.

    Returns
    -------
    source : ndarray of int64
        Row of ``geom`` each piece comes from (pieces of a line in order along it).
    pieces : ndarray of LineString
    """
    geom = np.asarray(geom, dtype=object)
    level = np.zeros(len(geom), np.int64) if level is None else np.asarray(level, dtype=np.int64)
    srcs, parts_all, pos_all = [], [], []
    for lv in np.unique(level):
        idx = np.flatnonzero(level == lv)
        g = geom[idx]
        parts = shapely.get_parts(shapely.node(shapely.multilinestrings(g)))
        if len(parts) == 0:
            continue
        mid = shapely.line_interpolate_point(parts, 0.5, normalized=True)
        ip, it = shapely.STRtree(g).query(mid, predicate="dwithin", distance=_PIECE_TOLERANCE_M)
        parts = parts[ip]
        line = g[it]
        p0 = shapely.line_locate_point(line, shapely.get_point(parts, 0))
        p1 = shapely.line_locate_point(line, shapely.get_point(parts, -1))
        flip = p1 < p0
        parts = np.where(flip, shapely.reverse(parts), parts)
        srcs.append(idx[it])
        parts_all.append(parts)
        pos_all.append(np.minimum(p0, p1))
    if not srcs:
        return np.empty(0, np.int64), np.empty(0, dtype=object)
    src = np.concatenate(srcs)
    pieces = np.concatenate(parts_all)
    order = np.lexsort((np.concatenate(pos_all), src))
    return src[order].astype(np.int64), pieces[order]


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


@dataclass(frozen=True)
class SegmentGraph:
    """A road graph by segment, for inserting points on segments (:func:`split_segments`).

    Attributes
    ----------
    start, end : ndarray of int64, shape (s,)
        Node at the segment's first and last point (-1: the segment has no edge).
    cost_fwd, cost_back : ndarray of float, shape (s,)
        Cost start -> end and end -> start (NaN: that direction is not allowed).
    usable : ndarray of bool, shape (s,)
        Segments a point may be snapped to (at least one direction allowed).
    lines : ndarray of LineString, shape (s,)
        Segment geometry (the offsets of snapped points are measured along it).
    n_nodes : int
        Nodes of the underlying network.
    """

    start: np.ndarray
    end: np.ndarray
    cost_fwd: np.ndarray
    cost_back: np.ndarray
    usable: np.ndarray
    lines: np.ndarray
    n_nodes: int


def _segment_graph(net: RoadNetwork, cost: np.ndarray, keep: np.ndarray) -> SegmentGraph:
    if net.segments is None:
        msg = "road network has no segment geometry; build it with build_network"
        raise SchemaError(msg)
    s = len(net.segments)
    seg = net.edges["segment"].to_numpy()[keep]
    fwd = net.edges["is_forward"].to_numpy(bool)[keep]
    u = net.edges["u"].to_numpy()[keep]
    v = net.edges["v"].to_numpy()[keep]
    c = cost[keep]
    start = np.full(s, -1, np.int64)
    end = np.full(s, -1, np.int64)
    cf = np.full(s, np.nan)
    cb = np.full(s, np.nan)
    start[seg[fwd]], end[seg[fwd]], cf[seg[fwd]] = u[fwd], v[fwd], c[fwd]
    start[seg[~fwd]], end[seg[~fwd]], cb[seg[~fwd]] = v[~fwd], u[~fwd], c[~fwd]
    return SegmentGraph(start, end, cf, cb, start >= 0, net.segments, net.n_nodes)


def drive_segments(net: RoadNetwork) -> SegmentGraph:
    """The directed drive graph by segment, cost = ``time_s`` [s] (one-way roads kept one-way)."""
    return _segment_graph(net, net.edges["time_s"].to_numpy(dtype="float64"),
                          np.ones(len(net.edges), bool))


def walk_segments(net: RoadNetwork, *, excluded: Collection[str] = WALK_EXCLUDED_CLASSES) -> SegmentGraph:
    """The undirected walking graph by segment, cost = length [m], without ``excluded`` classes.

    Of segments with the same geometry (overlapping roads) only the first is kept, so
    two points on the same stretch of pavement always share their segment.
    """
    keep = ~net.edges["road_class"].isin(excluded).to_numpy()
    g = _segment_graph(net, net.edges["length_m"].to_numpy(dtype="float64"), keep)
    ok = np.flatnonzero(g.usable)
    if len(ok):
        wkb = pd.Series(shapely.to_wkb(shapely.normalize(g.lines[ok])))
        dup = ok[wkb.duplicated().to_numpy()]
    else:
        dup = np.empty(0, np.int64)
    usable = g.usable.copy()
    usable[dup] = False
    length = np.where(usable, np.where(np.isnan(g.cost_fwd), g.cost_back, g.cost_fwd), np.nan)
    start = np.where(usable, g.start, -1)
    end = np.where(usable, g.end, -1)
    return SegmentGraph(start, end, length, length.copy(), usable, g.lines, g.n_nodes)


def with_congestion(net: RoadNetwork, factors: dict[str, float] | None) -> RoadNetwork:
    """The network with every edge's ``time_s`` multiplied by its road class's congestion factor.

    Parameters
    ----------
    net : RoadNetwork
    factors : dict of str to float, optional
        Road class -> travel-time factor (congested / free-flow time, >= 1 in practice);
        classes not listed keep 1 (free flow). None or empty: ``net`` unchanged.
    """
    if not factors:
        return net
    bad = {k: v for k, v in factors.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        msg = f"congestion factors must be finite and > 0 (got {bad})"
        raise SchemaError(msg)
    f = net.edges["road_class"].map(factors).fillna(1.0).to_numpy(dtype="float64")
    edges = net.edges.assign(time_s=net.edges["time_s"].to_numpy() * f)
    return RoadNetwork(net.nodes_xy, edges, net.component, net.crs, net.segments)


def snap_to_segments(graph: SegmentGraph, xy: np.ndarray, *, chunk: int = 65_536
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Snap points to the nearest point of the nearest usable segment.

    Parameters
    ----------
    graph : SegmentGraph
    xy : ndarray, shape (k, 2)
        Points in the network's (projected) CRS [m].
    chunk : int
        Points per query batch (bounds the temporary point geometries).

    Returns
    -------
    segment : ndarray of int64
        Segment of each point (-1 when no segment is usable).
    distance_m : ndarray of float
        Straight-line distance from the point to the segment [m] (inf: none).
    fraction : ndarray of float
        Position of the snapped point along the segment, 0 (first point) .. 1.
    """
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    k = len(xy)
    seg = np.full(k, -1, np.int64)
    dist = np.full(k, np.inf)
    frac = np.zeros(k)
    ok = np.flatnonzero(graph.usable)
    if len(ok) == 0 or k == 0:
        return seg, dist, frac
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        msg = (f"snap_to_segments: {int(bad.sum())} point(s) have non-finite coordinates "
               f"(rows {np.flatnonzero(bad)[:5].tolist()}); drop or fix their geometry")
        raise SchemaError(msg)
    lines = graph.lines[ok]
    tree = shapely.STRtree(lines)
    for s in range(0, k, chunk):
        pts = shapely.points(xy[s:s + chunk])
        (ip, il), d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        seg[s + ip] = ok[il]
        dist[s + ip] = d
        frac[s + ip] = shapely.line_locate_point(lines[il], pts[ip], normalized=True)
    return seg, dist, np.clip(np.nan_to_num(frac), 0.0, 1.0)


def split_segments(graph: SegmentGraph, segment: np.ndarray, fraction: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges of the graph with points inserted as nodes on their segments.

    Point ``i`` becomes node ``graph.n_nodes + i``; each segment holding points is
    replaced by the chain start -> points (sorted along it) -> end, every piece costing
    the segment's cost times its share of the segment, in each allowed direction. The
    result is the graph with the points as real nodes, so shortest paths between points
    on the same segment go along it directly.

    Parameters
    ----------
    graph : SegmentGraph
    segment : ndarray of int
        Usable segment of each point (:func:`snap_to_segments`).
    fraction : ndarray of float
        Position along the segment, 0 .. 1.

    Returns
    -------
    u, v : ndarray of int64
    w : ndarray of float64
        Cost of each directed edge.
    point_node : ndarray of int64
        Node of each point.
    """
    segment = np.asarray(segment, dtype=np.int64)
    fraction = np.clip(np.asarray(fraction, dtype="float64"), 0.0, 1.0)
    if len(segment) and not graph.usable[segment].all():
        msg = "split_segments: every point must lie on a usable segment (snap it first)"
        raise SchemaError(msg)
    k = len(segment)
    pnode = graph.n_nodes + np.arange(k, dtype=np.int64)
    order = np.lexsort((fraction, segment))
    s, f, nd = segment[order], fraction[order], pnode[order]
    first = np.ones(k, bool)
    first[1:] = s[1:] != s[:-1]
    last = np.ones(k, bool)
    last[:-1] = s[1:] != s[:-1]
    prev_node = np.where(first, graph.start[s], np.roll(nd, 1))
    prev_f = np.where(first, 0.0, np.roll(f, 1))
    x = np.concatenate([prev_node, nd[last]])
    y = np.concatenate([nd, graph.end[s[last]]])
    ps = np.concatenate([s, s[last]])
    share = np.concatenate([f - prev_f, 1.0 - f[last]])
    whole = graph.usable.copy()
    whole[s] = False
    a, b = graph.start[whole], graph.end[whole]
    cf, cb = graph.cost_fwd[whole], graph.cost_back[whole]
    pf, pb = graph.cost_fwd[ps] * share, graph.cost_back[ps] * share
    u = np.concatenate([a, b, x, y])
    v = np.concatenate([b, a, y, x])
    w = np.concatenate([cf, cb, pf, pb])
    ok = ~np.isnan(w)
    return u[ok], v[ok], w[ok], pnode
