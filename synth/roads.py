"""Roads: the inter-settlement network (planned before the buildings) and street lattices.

**Inter-settlement roads** (:func:`plan_links`): the Gabriel graph of all
settlement centres plus auxiliary junctions on a jittered grid and two exits
(toward the city's northern and eastern edges), kept where it lies inside the
city; its minimum spanning tree plus extra loops between settlements; motorways
along shortest paths between district main centres (and to the exits); trunks
from towns to their main centre; the rest primary, secondary or tertiary by
what they join. Buildings keep clear of the corridors of these roads.

**Street lattices** (:func:`roads`): on the lot grid of each settlement, out to
its last lot, inside its Voronoi cell and district, off water and connected to
its centre. All segments are noded (:func:`synth.network.node_segments`) so
that they meet only at shared end points, and only the largest connected
network is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

import synth.tables as T
from synth.context import Context, frame, locate
from synth.network import gabriel_edges, lattice_edges, node_segments
from twin.schema import ROAD_CLASSES

__all__ = ["Links", "plan_links", "roads"]

logger = logging.getLogger(__name__)

#: half width [m] of the corridor kept clear of buildings, by road class (ROAD_CLASSES order)
_CORRIDOR_HALF_M = np.array([15.0, 12.0, 9.0, 7.0, 6.0, 4.0, 4.0])


@dataclass
class Links:
    """The planned inter-settlement roads.

    Attributes
    ----------
    parts : tuple of list
        ``(P0, P1, RK, ONE)``: lists of start points ``(n, 2)``, end points,
        road-class ranks (index in :data:`twin.schema.ROAD_CLASSES`) and one-way
        flags (empty lists when there is no road).
    corridors : list of shapely geometries
        Buffered segments that buildings keep clear of.
    """

    parts: tuple
    corridors: list


def plan_links(ctx: Context, settlements) -> Links:
    """Plan the inter-settlement roads; buildings keep clear of their corridors.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``("road", 1)``).
    settlements : synth.settlements.Settlements
        Settlements, the nodes of the network.

    Returns
    -------
    Links
        The segments of the network and their corridors.
    """
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
    P0, P1, RK, ONE = [], [], [], []
    _links(ctx, settlements.table, P0, P1, RK, ONE, rank, ctx.rng("road", 1))
    if P0:
        lines = shapely.linestrings(np.stack([P0[0], P1[0]], axis=1))
        half = _CORRIDOR_HALF_M[RK[0]]
        corridors = list(shapely.buffer(lines, half, quad_segs=1))
    else:
        corridors = []
    return Links((P0, P1, RK, ONE), corridors)


def _links(ctx, S, P0, P1, RK, ONE, rank, rng):
    """Append the inter-settlement network's segments to ``P0``, ``P1``, ``RK``, ``ONE``."""
    ns = len(S["x"])
    city = ctx.city
    a_km2 = city.area
    g = float(np.clip(np.sqrt(a_km2 / 1500), 1500, 4000))
    minx, miny, maxx, maxy = city.bounds
    gx, gy = np.meshgrid(np.arange(minx + g / 2, maxx, g), np.arange(miny + g / 2, maxy, g))
    ax = gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * g
    ay = gy.ravel() + rng.uniform(-0.3, 0.3, gy.size) * g
    ok = shapely.contains_xy(city, ax, ay)
    ax, ay = ax[ok], ay[ok]
    if ns:
        dd, _ = cKDTree(np.column_stack([S["x"], S["y"]])).query(np.column_stack([ax, ay]))
        ax, ay = ax[dd > 0.35 * g], ay[dd > 0.35 * g]
    # exits toward neighbouring cities: the northern- and eastern-most points of the city
    ext = shapely.get_coordinates(shapely.get_exterior_ring(
        max(shapely.get_parts(city), key=lambda p: p.area)))
    cxy = np.array([city.centroid.x, city.centroid.y])
    exits = []
    for i in (np.argmax(ext[:, 1]), np.argmax(ext[:, 0])):
        p = ext[i]
        v = cxy - p
        for f in (300.0, 1000.0, 3000.0):
            q = p + v / np.linalg.norm(v) * f
            if city.contains(shapely.Point(*q)):
                exits.append(q)
                break
    ex = np.array(exits).reshape(-1, 2)
    X = np.round(np.concatenate([S["x"], ax, ex[:, 0]]), 2)
    Y = np.round(np.concatenate([S["y"], ay, ex[:, 1]]), 2)
    kind = np.concatenate([S["role"], np.full(len(ax), "aux"), np.full(len(ex), "exit")])
    xy = np.column_stack([X, Y])
    _, uniq = np.unique(xy, axis=0, return_index=True)
    e = gabriel_edges(xy)
    e = e[np.isin(e[:, 0], uniq) & np.isin(e[:, 1], uniq)]
    lines = shapely.linestrings(np.stack([xy[e[:, 0]], xy[e[:, 1]]], axis=1))
    cov = shapely.covers(city, lines)
    e = e[cov]
    ln = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    G = nx.Graph()
    G.add_nodes_from(range(len(xy)))
    for (i, j), L in zip(e.tolist(), ln.tolist(), strict=True):
        G.add_edge(i, j, weight=L)
    comp = max(nx.connected_components(G), key=lambda c: sum(1 for v in c if v < ns))
    lost = [v for v in range(ns) if v not in comp]
    if lost:
        # link each to the nearest reachable node by a straight road inside the city
        members = np.array(sorted(comp))
        ctree = cKDTree(xy[members])
        unlinked = 0
        for v in lost:
            _, jj = ctree.query(xy[v], k=min(40, len(members)))
            cands = members[np.atleast_1d(jj)]
            segs = shapely.linestrings(np.stack([np.broadcast_to(xy[v], (len(cands), 2)),
                                                 xy[cands]], axis=1))
            okc = np.flatnonzero(shapely.covers(city, segs))
            if len(okc) == 0:
                unlinked += 1
                continue
            u = int(cands[okc[0]])
            G.add_edge(v, u, weight=float(np.hypot(*(xy[v] - xy[u]))))
        comp = max(nx.connected_components(G), key=lambda c: sum(1 for v in c if v < ns))
        if unlinked:
            logger.warning("roads: %d settlements cannot be linked inside the city", unlinked)
    H = G.subgraph(comp).copy()
    T_ = nx.minimum_spanning_tree(H, weight="weight")
    # prune auxiliary leaves
    leaves = [v for v in T_.nodes if T_.degree(v) <= 1 and kind[v] == "aux"]
    while leaves:
        T_.remove_nodes_from(leaves)
        leaves = [v for v in T_.nodes if T_.degree(v) <= 1 and kind[v] == "aux"]
    net = nx.Graph(T_.edges(data=True))
    net.add_nodes_from(T_.nodes)
    for i, j, dat in H.edges(data=True):
        if i < ns and j < ns and not net.has_edge(i, j) and rng.random() < 0.3:
            net.add_edge(i, j, **dat)
    cls = {}
    # motorways: shortest paths in H between main centres (MST over mains) and to exits
    mains = [v for v in range(ns) if kind[v] == "main" and v in comp]
    mains += [v for v in range(ns, len(xy)) if kind[v] == "exit" and v in comp]
    if len(mains) >= 2:
        dist_m, path_m = {}, {}
        for v in mains:
            dl, pl = nx.single_source_dijkstra(H, v, weight="weight")
            dist_m[v], path_m[v] = dl, pl
        K = nx.Graph()
        for i in mains:
            for j in mains:
                if i < j and j in dist_m[i]:
                    K.add_edge(i, j, weight=dist_m[i][j])
        for i, j in nx.minimum_spanning_tree(K).edges():
            pth = path_m[i][j]
            for u, v in zip(pth[:-1], pth[1:], strict=True):
                net.add_edge(u, v, weight=H[u][v]["weight"])
                cls[(min(u, v), max(u, v))] = "motorway"
    # trunks: from towns to their district's main centre along the network
    for k in range(len(ctx.geoms)):
        mk = [v for v in range(ns) if S["dist"][v] == k and kind[v] == "main" and v in net]
        if not mk:
            continue
        _, pl = nx.single_source_dijkstra(net, mk[0], weight="weight")
        for v in range(ns):
            if S["dist"][v] == k and kind[v] == "town" and v in pl:
                pth = pl[v]
                for u, w in zip(pth[:-1], pth[1:], strict=True):
                    cls.setdefault((min(u, w), max(u, w)), "trunk")
    major = {"main", "town", "industrial", "exit"}
    p0, p1, rk = [], [], []
    for u, v in net.edges():
        key = (min(u, v), max(u, v))
        c = cls.get(key)
        if c is None:
            ku, kv = kind[u], kind[v]
            if ku in major and kv in major:
                c = "primary"
            elif ku == "village" and kv == "village":
                c = "tertiary"
            else:
                c = "secondary"
        p0.append(xy[key[0]])
        p1.append(xy[key[1]])
        rk.append(rank[c])
    if p0:
        P0.append(np.array(p0))
        P1.append(np.array(p1))
        RK.append(np.array(rk, dtype=np.int64))
        ONE.append(np.zeros(len(p0), dtype=bool))


def roads(ctx: Context, settlements, buildings, links: Links, water, pond) -> gpd.GeoDataFrame:
    """Build the ``roads`` layer: street lattices plus the inter-settlement network, noded.

    Parameters
    ----------
    ctx : Context
        The shared generation state (random stream ``("road", 0)``: one-way streets).
    settlements : synth.settlements.Settlements
        Settlements with their lot sizes and grid angles.
    buildings : synth.buildings.Buildings
        Each settlement's lot radius and Voronoi cell (the extent of its streets).
    links : Links
        The planned inter-settlement roads.
    water : synth.water.BigWater
        Big water; streets do not cross it.
    pond : synth.water.Ponds
        Fishery ponds; streets do not cross them.

    Returns
    -------
    geopandas.GeoDataFrame
        The ``roads`` layer: two-point segments meeting only at shared end
        points, all in one connected network.
    """
    S = settlements.table
    lots, vcell = buildings.lots, buildings.vcell
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
    P0, P1, RK, ONE = [], [], [], []
    rng = ctx.rng("road", 0)
    wpolys = np.array([*water.polys, *pond.polys], dtype=object)
    wtree = shapely.STRtree(wpolys) if len(wpolys) else None
    # street lattices
    for s in range(len(S["x"])):
        rf = lots.get(s, 0.0)
        if rf <= 0:
            continue
        k = S["dist"][s]
        dist = ctx.geoms[k]
        st = S["stype"][s]
        c = float(S["cell"][s])
        sp = c * T.SETTLEMENT_TYPES[st]["block"]
        m = int(np.ceil((rf + c) / sp)) + 1
        ii, jj = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij")
        th = S["theta"][s]
        x = np.round(S["x"][s] + sp * (ii * np.cos(th) - jj * np.sin(th)), 2)
        y = np.round(S["y"][s] + sp * (ii * np.sin(th) + jj * np.cos(th)), 2)
        x[m, m], y[m, m] = S["x"][s], S["y"][s]
        ok = np.hypot(ii, jj) * sp <= rf + sp
        ok &= shapely.contains_xy(vcell[s], x, y)
        ok &= shapely.contains_xy(dist, x, y)
        a, b, axis = lattice_edges(ok)
        if len(a) == 0:
            continue
        xf, yf = x.ravel(), y.ravel()
        lines = shapely.linestrings(np.stack([np.column_stack([xf[a], yf[a]]),
                                              np.column_stack([xf[b], yf[b]])], axis=1))
        good = shapely.contains(dist, lines)
        if wtree is not None:
            wa, _ = wtree.query(lines, predicate="intersects")
            good[wa] = False
        a, b, axis = a[good], b[good], axis[good]
        nn = ok.size
        g = coo_matrix((np.ones(len(a)), (a, b)), shape=(nn, nn))
        _, lab = connected_components(g, directed=False)
        centre = m * (2 * m + 1) + m
        keep = lab[a] == lab[centre]
        a, b, axis = a[keep], b[keep], axis[keep]
        if len(a) == 0:
            continue
        fi, fj = ii.ravel(), jj.ravel()
        line_idx = np.where(axis == 0, fj[a], fi[a])  # index of the lattice line
        major = st in ("core", "newtown", "county_town")
        cls = np.full(len(a), rank["residential"])
        if st == "industrial":
            cls[:] = rank["service"]
        cls[line_idx % 4 == 0] = rank["tertiary"]
        cls[line_idx == 0] = rank["secondary"] if major else rank["tertiary"]
        P0.append(np.column_stack([xf[a], yf[a]]))
        P1.append(np.column_stack([xf[b], yf[b]]))
        RK.append(cls)
        one = np.zeros(len(a), dtype=bool)
        if st == "core":
            one = (cls >= rank["tertiary"]) & (rng.random(len(a)) < 0.25)
        ONE.append(one)
    # inter-settlement network (planned before the buildings, which keep clear of it)
    P0 += links.parts[0]
    P1 += links.parts[1]
    RK += links.parts[2]
    ONE += links.parts[3]
    p0 = np.concatenate(P0) if P0 else np.empty((0, 2))
    p1 = np.concatenate(P1) if P1 else np.empty((0, 2))
    rk = np.concatenate(RK) if RK else np.empty(0, np.int64)
    one = np.concatenate(ONE) if ONE else np.empty(0, bool)
    q0, q1, src = node_segments(np.round(p0, 2), np.round(p1, 2), rk)
    q0, q1, src = _largest_network(q0, q1, src)
    lines = shapely.linestrings(np.stack([q0, q1], axis=1)) if len(q0) else np.empty(0, object)
    cls = np.array(ROAD_CLASSES, dtype=object)[rk[src]] if len(q0) else np.empty(0, object)
    mid = shapely.points((q0 + q1) / 2) if len(q0) else np.empty(0, object)
    dcode = locate(mid, ctx.geoms, ctx.adc)
    n = len(lines)
    return frame("roads", {
        "road_id": [f"{ctx.cid}-r-{i:07d}" for i in range(n)],
        "road_class": cls,
        "name": [""] * n,
        "speed_kmh": [T.SPEED_KMH[c] for c in cls],
        "is_oneway": one[src] if n else [],
        "length_m": shapely.length(lines) if n else [],
        "district_adcode": dcode,
    }, lines, ctx.seed)


def _largest_network(q0, q1, src):
    """Keep the noded segments of the largest connected component."""
    if len(q0):
        keys = np.concatenate([q0, q1])
        _, inv = np.unique(np.round(keys * 100).astype(np.int64), axis=0, return_inverse=True)
        inv = inv.ravel()
        a, b = inv[: len(q0)], inv[len(q0):]
        nn = int(inv.max()) + 1
        _, lab = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(nn, nn)),
                                      directed=False)
        big = np.bincount(lab[a]).argmax()
        keep = lab[a] == big
        if (~keep).any():
            logger.warning("roads: dropped %d segments not connected to the main network",
                           int((~keep).sum()))
        q0, q1, src = q0[keep], q1[keep], src[keep]
    return q0, q1, src
