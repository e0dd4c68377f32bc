"""Service coverage: charging circles, bus stops, green space and parks.

One engine serves every access target of the seeds:

* **Drive time** to the nearest public charging station for every demand point
  (:func:`nearest_source_times`, :func:`drive_time_coverage`); a point is covered
  within 5 minutes in urban areas and 30 minutes elsewhere (both configurable),
  the urban/rural split being the ``is_urban`` flag of its township (or district).
* **Walking distance** to bus stops (300 m), green space (300 m) and parks (500 m)
  along the walking network where the point is near a road, by straight line
  otherwise (:func:`walking_coverage`); the method is kept per point.
* Shares per city, district and township weighted by residents
  (:func:`residents_from_buildings`) or by area (:func:`demand_grid`), compared
  with the city's targets in :mod:`engines.coverage.city`.

Drive times are from the demand point *to* the station (the graph is reversed
for the search), which matters on one-way roads.

References
----------
.. [1] 国家统计局, 中国人口普查年鉴-2020 (China Population Census Yearbook 2020), table 9-2:
   per-capita housing floor area of family households, cities 36.52 m², rural 46.80 m².
.. [2] 浙江省统计局, 浙江统计年鉴 2021: Zhejiang's urban per-capita housing floor area is
   about 40 m² (rounded; used as the urban default here - check the current yearbook).
.. [3] 国家发展改革委 等, 关于加快推进充电基础设施建设 更好支持新能源汽车下乡和乡村振兴的
   实施意见 (发改综合〔2023〕545号): "城市5分钟、城乡30分钟" charging circles (interpretation).
.. [4] GB 50180-2018 城市居住区规划设计标准: 5-minute walking life circle, 300 m walking
   distance to bus stops and to public green space.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from engines.coverage._dijkstra import csr_from_edges, multi_source_dijkstra
from engines.coverage.network import (
    RoadNetwork,
    SegmentGraph,
    csr_graph,
    drive_segments,
    edge_arrays,
    snap_points,
    snap_to_segments,
    split_segments,
    walk_segments,
)
from twin.errors import SchemaError

__all__ = [
    "FLOOR_AREA_PER_PERSON_M2",
    "METHODS",
    "NearestSource",
    "assign_admin",
    "coverage_share",
    "demand_from_buildings",
    "demand_grid",
    "drive_time_coverage",
    "isochrones",
    "nearest_source_times",
    "residents_from_buildings",
    "walking_coverage",
    "walking_coverages",
]

logger = logging.getLogger(__name__)

#: Gross residential floor area per resident [m²] by building use class ([1]_, [2]_).
FLOOR_AREA_PER_PERSON_M2 = {"residential": 40.0, "rural_residential": 46.8}

#: How a distance or time was obtained (labelled in every output).
METHODS = ("network", "euclidean")


class NearestSource(NamedTuple):
    """Result of :func:`nearest_source_times` (unpacks as ``time_s, source``)."""

    time_s: np.ndarray
    source: np.ndarray


def nearest_source_times(edges: pd.DataFrame, sources: npt.ArrayLike, cutoff_s: float | None = None, *,
                         n_nodes: int | None = None, reverse: bool = False) -> NearestSource:
    """Shortest travel time from the nearest of many sources to every node.

    One multi-source Dijkstra pass: a numba kernel on CSR arrays built by one counting
    sort (:func:`engines.coverage._dijkstra.multi_source_dijkstra`), the same times, to
    the bit, as :func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True`` on the same
    graph, at about its speed (``benchmarks/service_coverage.py`` prints the ratio).

    Parameters
    ----------
    edges : DataFrame
        Directed edges: integer node ids ``u`` -> ``v`` (>= 0) and travel time
        ``time_s`` [s] (finite, >= 0). Parallel edges: the fastest counts.
    sources : array-like of int
        Source node ids (duplicates allowed).
    cutoff_s : float, optional
        Times above this [s] are reported as unreachable.
    n_nodes : int, optional
        Number of nodes (ids ``0 .. n_nodes-1``); default ``max(u, v, sources) + 1``.
    reverse : bool
        False (default, as :func:`networkx.multi_source_dijkstra`): time from the
        source to the node. True: time from the node to its nearest source
        (along the edges' direction), e.g. driving to a station.

    Returns
    -------
    NearestSource
        ``time_s`` (float array, one per node, ``inf`` when unreachable or beyond
        the cutoff) and ``source`` (int array, id of the nearest source, -1 when
        unreachable).

    Raises
    ------
    SchemaError
        On missing columns, non-integer or negative ids, bad times or a negative cutoff.
    """
    if cutoff_s is not None and not float(cutoff_s) >= 0:
        msg = f"nearest_source_times: cutoff_s must be >= 0 s or None (got {cutoff_s})"
        raise SchemaError(msg)
    src = np.unique(np.asarray(sources, dtype=np.int64).ravel())
    u, v, w, n = edge_arrays(edges, n_nodes)
    if len(src) and src.min() < 0:
        msg = f"sources: node ids must be >= 0 (got {src.min()})"
        raise SchemaError(msg)
    if n_nodes is None:
        n = max(n, int(src.max(initial=-1)) + 1)
    elif len(src) and src.max() >= n:
        msg = f"sources: node id {int(src.max())} >= n_nodes={n}"
        raise SchemaError(msg)
    times = np.full(n, np.inf)
    nearest = np.full(n, -1, dtype=np.int64)
    if len(src) == 0 or n == 0:
        return NearestSource(times, nearest)
    if n > _MAX_NODES:
        msg = f"nearest_source_times: {n} nodes is more than the {_MAX_NODES} the int32 graph holds"
        raise SchemaError(msg)
    indptr, indices, data = csr_from_edges(v, u, w, n) if reverse else csr_from_edges(u, v, w, n)
    limit = np.inf if cutoff_s is None else float(cutoff_s)
    times, nearest = multi_source_dijkstra(indptr, indices, data, src, limit)
    return NearestSource(times, nearest)


#: Most nodes of a graph of :func:`nearest_source_times` (its node ids are int32).
_MAX_NODES = int(np.iinfo(np.int32).max)


# ---------------------------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------------------------


def residents_from_buildings(buildings: pd.DataFrame, floor_area_per_person_m2: dict[str, float] | None = None
                             ) -> pd.Series:
    """Estimated residents of each building: residential floor area / area per person.

    Parameters
    ----------
    buildings : DataFrame
        ``use_class`` and ``gross_floor_area_m2`` [m²] (or ``footprint_area_m2`` x ``floors``).
    floor_area_per_person_m2 : dict, optional
        Use class -> floor area per resident [m²]; default
        :data:`FLOOR_AREA_PER_PERSON_M2`. Other classes house nobody.

    Returns
    -------
    Series
        Residents (float, not rounded) on the buildings' index.
    """
    table = FLOOR_AREA_PER_PERSON_M2 if floor_area_per_person_m2 is None else floor_area_per_person_m2
    if any(not (float(x) > 0) for x in table.values()):
        msg = f"floor_area_per_person_m2 values must be > 0 m² (got {table})"
        raise SchemaError(msg)
    gfa = (pd.to_numeric(buildings["gross_floor_area_m2"], errors="coerce")
           if "gross_floor_area_m2" in buildings.columns
           else pd.Series(np.nan, index=buildings.index))
    if gfa.isna().any() and {"footprint_area_m2", "floors"} <= set(buildings.columns):
        gfa = gfa.fillna(pd.to_numeric(buildings["footprint_area_m2"], errors="coerce")
                         * pd.to_numeric(buildings["floors"], errors="coerce"))
    per = buildings["use_class"].astype(str).map(table).astype("float64")
    housing = per.notna()
    bad = housing & ~(gfa >= 0)
    if bad.any():
        rows = buildings.index[bad][:5].tolist()
        msg = (f"buildings: {int(bad.sum())} residential building(s) have no usable "
               f"gross_floor_area_m2 (rows {rows}); fill it or footprint_area_m2 and floors")
        raise SchemaError(msg)
    return (gfa / per).where(housing, 0.0).astype("float64").rename("residents_count")


def demand_from_buildings(buildings: gpd.GeoDataFrame,
                          floor_area_per_person_m2: dict[str, float] | None = None) -> gpd.GeoDataFrame:
    """Demand points: one per residential building (a point inside it) weighted by residents.

    Returns
    -------
    GeoDataFrame
        ``demand_id`` (the building id), ``demand_kind`` = ``"building"``,
        ``residents_count``, ``district_adcode``,
        ``township_code``, ``is_synthetic`` and point geometry; buildings housing
        nobody are left out (they are not demand).
    """
    res = residents_from_buildings(buildings, floor_area_per_person_m2)
    keep = res > 0
    b = buildings[keep]
    ids = (b["building_id"].astype(str) if "building_id" in b.columns
           else b.index.astype(str).to_series(index=b.index))
    out = gpd.GeoDataFrame({
        "demand_id": ids.to_numpy(),
        "demand_kind": "building",
        "residents_count": res[keep].to_numpy(),
        "district_adcode": _col(b, "district_adcode", ""),
        "township_code": _col(b, "township_code", ""),
        "is_synthetic": _col(b, "is_synthetic", False).astype(bool),
    }, geometry=_representative_points(b.geometry.to_numpy()), crs=buildings.crs)
    return out.reset_index(drop=True)


def _representative_points(geom: np.ndarray) -> np.ndarray:
    """A point inside each geometry (as ``GeoSeries.representative_point``).

    Points are their own representative point, so they are kept rather than copied (a
    full-scale city has millions).
    """
    if len(geom) and (shapely.get_type_id(geom) == shapely.GeometryType.POINT).all():
        return geom
    return shapely.point_on_surface(geom)


def _col(df: pd.DataFrame, name: str, default: object) -> np.ndarray:
    if name in df.columns:
        s = df[name]
        return s.fillna(default).to_numpy() if s.dtype != bool else s.to_numpy()
    return np.full(len(df), default)


def demand_grid(areas: gpd.GeoDataFrame, cell_m: float = 200.0) -> gpd.GeoDataFrame:
    """Area demand: cell centres of a square grid inside ``areas``, weighted by cell area.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons in a metric CRS (e.g. the urban townships).
    cell_m : float
        Cell size [m]; each centre inside a polygon stands for ``cell_m**2`` [m²].

    Returns
    -------
    GeoDataFrame
        ``demand_id`` (``"cell-<i>"``), ``demand_kind`` = ``"area_cell"``,
        ``cell_area_m2`` (the weight), ``residents_count`` = 0 and points.
    """
    if not cell_m > 0:
        msg = f"demand_grid: cell_m must be > 0 m (got {cell_m})"
        raise SchemaError(msg)
    geom = areas.geometry.union_all() if len(areas) else shapely.Polygon()
    if geom.is_empty:
        xy = np.empty((0, 2))
    else:
        x0, y0, x1, y1 = geom.bounds
        xs = np.arange(x0 + cell_m / 2, x1, cell_m)
        ys = np.arange(y0 + cell_m / 2, y1, cell_m)
        gx, gy = np.meshgrid(xs, ys)
        xy = np.column_stack([gx.ravel(), gy.ravel()])
        shapely.prepare(geom)
        xy = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]
    n = len(xy)
    return gpd.GeoDataFrame({
        "demand_id": [f"cell-{i}" for i in range(n)],
        "demand_kind": "area_cell",
        "cell_area_m2": np.full(n, float(cell_m) ** 2),
        "residents_count": np.zeros(n),
        "district_adcode": "",
        "township_code": "",
        "is_synthetic": False,
    }, geometry=shapely.points(xy) if n else [], crs=areas.crs)


def assign_admin(points: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill blank district/township codes by location and add ``is_urban`` and ``is_outside_city``.

    ``is_urban`` comes from the township's flag when the point has a township in
    ``boundaries``, else from the district's. Points in no district keep blank
    codes, ``is_urban`` False and ``is_outside_city`` True (reported by the caller).
    """
    out = points.copy()
    for c in ("district_adcode", "township_code"):
        out[c] = out[c].fillna("").astype(str) if c in out.columns else ""
    lvl = boundaries["level"].astype(str)
    dist = boundaries[lvl == "district"]
    town = boundaries[lvl == "township"]
    for col, polys in (("district_adcode", dist), ("township_code", town)):
        blank = (out[col] == "").to_numpy()
        if blank.any() and len(polys):
            codes = _containing_codes(out.geometry.to_numpy()[blank], polys.geometry.to_numpy(),
                                      polys["adcode"].astype(str).to_numpy())
            vals = out[col].to_numpy(dtype=object).copy()
            vals[blank] = codes
            out[col] = pd.array(vals, dtype="str")
    # township implies district
    tparent = dict(zip(town["adcode"].astype(str), town["parent_adcode"].astype(str), strict=True))
    fill = (out["district_adcode"] == "") & (out["township_code"] != "")
    out.loc[fill, "district_adcode"] = out.loc[fill, "township_code"].map(tparent).fillna("")
    t_urban = dict(zip(town["adcode"].astype(str), town["is_urban"].astype(bool), strict=True))
    d_urban = dict(zip(dist["adcode"].astype(str), dist["is_urban"].astype(bool), strict=True))
    urb = out["township_code"].map(t_urban)
    urb = urb.where(urb.notna(), out["district_adcode"].map(d_urban))
    out["is_urban"] = urb.fillna(False).astype(bool)
    out["is_outside_city"] = ~out["district_adcode"].isin(list(d_urban)).to_numpy()
    return out


def _containing_codes(points: np.ndarray, polys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The code of the polygon each point intersects ("" for none); the first polygon on ties.

    The polygons query a tree of the points (each polygon prepared once: a fast
    point-in-polygon test) instead of each point querying a tree of the polygons, which
    tests every point against whole, unprepared polygons. Points that meet several
    polygons (on a shared border) are asked again in the original direction, so the
    polygon chosen is the one the original query listed first: the result is the same.
    """
    out = np.full(len(points), "", dtype=object)
    if not len(points) or not len(polys):
        return out
    i_poly, i_pt = shapely.STRtree(points).query(polys, predicate="intersects")
    hits = np.bincount(i_pt, minlength=len(points))
    one = hits[i_pt] == 1
    out[i_pt[one]] = codes[i_poly[one]]
    many = np.flatnonzero(hits > 1)
    if len(many):
        idx_p, idx_b = shapely.STRtree(polys).query(points[many], predicate="intersects")
        sub = np.full(len(many), "", dtype=object)
        sub[idx_p[::-1]] = codes[idx_b[::-1]]
        out[many] = sub
    return out


# ---------------------------------------------------------------------------------------------
# Drive-time and walking coverage
# ---------------------------------------------------------------------------------------------


def drive_time_coverage(net: RoadNetwork, stations: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                        *, urban_threshold_min: float = 5.0, rural_threshold_min: float = 30.0,
                        max_snap_m: float = 1000.0, access_speed_kmh: float | None = None,
                        demand_snap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                        ) -> pd.DataFrame:
    """Drive time from every demand point to its nearest station, and the covered flag.

    Demand points and stations are snapped to the nearest point of the nearest road
    segment (:func:`~engines.coverage.network.snap_to_segments`) and inserted there
    (:func:`~engines.coverage.network.split_segments`), so a partial segment counts by
    its share and a station on the same road is reached along it (one-way roads
    respected). The access legs, from the building to its road point and from the
    station's road point to the station, are added at ``access_speed_kmh``.

    Parameters
    ----------
    net : RoadNetwork
    stations : GeoDataFrame
        Public stations (points) with ``station_id``.
    demand : GeoDataFrame
        Points with ``is_urban`` (see :func:`assign_admin`).
    urban_threshold_min, rural_threshold_min : float
        Covering drive time in urban and rural areas [min].
    max_snap_m : float
        Demand points farther than this from the nearest road [m] are flagged
        ``is_far_from_road`` (kept, reported by the caller).
    access_speed_kmh : float, optional
        Speed of the access legs off the road network [km/h]; None: the access legs take
        no time (the road network only).
    demand_snap : tuple of ndarray, optional
        The demand points' :func:`~engines.coverage.network.snap_to_segments` on
        ``drive_segments(net)`` when the caller has it already (a full-scale city's
        million points are then not snapped twice); computed when omitted.

    Returns
    -------
    DataFrame
        On ``demand``'s index: ``node_id`` (nearest graph node, for the siting),
        ``snap_distance_m`` (to the nearest road [m]), ``is_far_from_road``,
        ``access_time_s`` (the demand point's access leg [s]), ``drive_time_s`` (inf when no station is
        reachable), ``nearest_station_id``, ``drive_threshold_min``,
        ``is_charging_covered`` and ``charging_method`` (``"network"``).
    """
    for name, val in (("urban_threshold_min", urban_threshold_min),
                      ("rural_threshold_min", rural_threshold_min)):
        if not val > 0:
            msg = f"{name} must be > 0 min (got {val})"
            raise SchemaError(msg)
    if access_speed_kmh is not None and not access_speed_kmh > 0:
        msg = f"access_speed_kmh must be > 0 km/h (got {access_speed_kmh})"
        raise SchemaError(msg)
    sxy = shapely.get_coordinates(stations.geometry.to_numpy())
    dxy = shapely.get_coordinates(demand.geometry.to_numpy())
    d_node, _ = snap_points(net, dxy)
    graph = drive_segments(net)
    s_seg, s_d, s_f = snap_to_segments(graph, sxy)
    d_seg, d_d, d_f = snap_to_segments(graph, dxy) if demand_snap is None else demand_snap
    if len(d_seg) != len(dxy):
        msg = f"drive_time_coverage: demand_snap holds {len(d_seg)} points, demand {len(dxy)}"
        raise SchemaError(msg)
    per_m = 0.0 if access_speed_kmh is None else 3.6 / float(access_speed_kmh)
    s_ok, d_ok = s_seg >= 0, d_seg >= 0
    u, v, w, pnode = split_segments(graph, np.concatenate([s_seg[s_ok], d_seg[d_ok]]),
                                    np.concatenate([s_f[s_ok], d_f[d_ok]]))
    ns = int(s_ok.sum())
    n = graph.n_nodes + len(pnode)
    # one source node per station, joined to its road point by the station's access leg;
    # the search runs on the reversed graph (demand -> station along one-way roads)
    src = n + np.arange(ns, dtype=np.int64)
    rev = csr_graph(np.concatenate([v, src]), np.concatenate([u, pnode[:ns]]),
                    np.concatenate([w, s_d[s_ok] * per_m]), n + ns)
    t = np.full(len(dxy), np.inf)
    nearest = np.full(len(dxy), "", dtype=object)
    if ns and d_ok.any():
        dist, _, origin = dijkstra(rev, directed=True, indices=src, min_only=True,
                                   return_predecessors=True)
        dn = pnode[ns:]
        t[d_ok] = dist[dn] + d_d[d_ok] * per_m
        reached = np.isfinite(t)
        st_ids = stations["station_id"].astype(str).to_numpy()[s_ok]
        o = origin[dn]
        nearest[np.flatnonzero(d_ok)[o >= 0]] = st_ids[o[o >= 0] - n]
        nearest[~reached] = ""
    thr = np.where(demand["is_urban"].to_numpy(bool), urban_threshold_min, rural_threshold_min)
    return pd.DataFrame({
        "node_id": d_node,
        "snap_distance_m": d_d,
        "is_far_from_road": d_d > max_snap_m,
        "access_time_s": np.where(d_ok, d_d * per_m, np.inf),
        "drive_time_s": t,
        "nearest_station_id": pd.array(nearest, dtype="str"),
        "drive_threshold_min": thr.astype("float64"),
        "is_charging_covered": t <= thr * 60.0,
        "charging_method": "network",
    }, index=demand.index)


#: Points handled per batch when snapping many points: bounds the temporary point
#: geometries (about 200 bytes each) that a full-scale city's demand would otherwise create.
_SNAP_CHUNK = 65_536


def _nearest(tree: shapely.STRtree, xy: np.ndarray) -> Iterator[tuple]:
    """Nearest tree geometry of each point, batch by batch.

    Yields ``(start, ip, it, dist, pts)``: the batch's first row in ``xy``, the point rows
    (within the batch) and tree rows of the matches, their distances, and the batch's
    points. A point's nearest geometry does not depend on the other points of the query,
    so the batches give exactly the answer of one query over all points.
    """
    chunk = _SNAP_CHUNK
    for s in range(0, len(xy), chunk):
        pts = shapely.points(xy[s:s + chunk])
        (ip, it), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        yield s, ip, it, dist, pts


def _nearest_distance(geoms: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Straight-line distance from each point to the nearest of ``geoms`` [m] (inf: none)."""
    d = np.full(len(xy), np.inf)
    if not (len(geoms) and len(xy)):
        return d
    if (shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all():
        # point targets (bus stops): a k-d tree of their coordinates gives the same floats
        # as GEOS's point distance, sqrt(dx * dx + dy * dy), without a geometry per query
        d[:] = cKDTree(shapely.get_coordinates(geoms)).query(xy, k=1)[0]
        return d
    for s, ip, _, dist, _ in _nearest(shapely.STRtree(geoms), xy):
        d[s + ip] = dist
    return d


class _WalkGraph:
    """The walking graph of a road network by segment, and the demand points snapped to it.

    Built once for any number of target layers (:func:`walking_coverages`).
    """

    def __init__(self, net: RoadNetwork, dxy: np.ndarray) -> None:
        self.segments: SegmentGraph = walk_segments(net)
        self.n_usable = int(self.segments.usable.sum())
        self._dxy = dxy
        self._demand: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.n_usable

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest walking segment of each point, distance [m] and position (0..1) along it."""
        return snap_to_segments(self.segments, xy, chunk=_SNAP_CHUNK)

    def demand(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The snapping of the demand points (computed on first use, then kept)."""
        if self._demand is None:
            self._demand = self.snap(self._dxy)
        return self._demand


def _target_points(targets: gpd.GeoDataFrame, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Access points of targets: the points, or polygon boundaries sampled every spacing_m."""
    geom = targets.geometry.to_numpy()
    pts, owner = [], []
    for i, g in enumerate(geom):
        if g is None or g.is_empty:
            continue
        if g.geom_type == "Point":
            pts.append(np.array([[g.x, g.y]]))
        else:
            b = g.boundary
            n = max(int(np.ceil(b.length / spacing_m)), 4)
            pts.append(shapely.get_coordinates(
                shapely.line_interpolate_point(b, np.linspace(0, 1, n), normalized=True)))
        owner.append(np.full(len(pts[-1]), i))
    if not pts:
        return np.empty((0, 2)), np.empty(0, np.int64)
    return np.concatenate(pts), np.concatenate(owner)


def walking_coverage(net: RoadNetwork | None, demand: gpd.GeoDataFrame, targets: gpd.GeoDataFrame,
                     *, threshold_m: float, name: str, max_snap_m: float = 200.0,
                     access_spacing_m: float = 50.0) -> pd.DataFrame:
    """Walking distance from every demand point to the nearest target, and the covered flag.

    Along the walking network (:func:`engines.coverage.network.walk_segments`: undirected,
    no motorways) where both the demand point and the target lie within
    ``max_snap_m`` of a walkable road: distance = to the road + along it + from the
    road to the target (polygons are entered anywhere on their boundary, sampled
    every ``access_spacing_m``). Elsewhere, or without a network, the straight-line
    distance (a buffer test). A point inside a target polygon has distance 0.

    Parameters
    ----------
    net : RoadNetwork or None
    demand : GeoDataFrame
        Points.
    targets : GeoDataFrame
        Points (bus stops) or polygons (green space, parks).
    threshold_m : float
        Covering distance [m].
    name : str
        Prefix of the output columns (``bus_stop``, ``green_space``, ``park``).
    max_snap_m : float
        Largest distance to a walkable road for the network method [m].
    access_spacing_m : float
        Spacing of access points on polygon boundaries [m].

    Returns
    -------
    DataFrame
        On ``demand``'s index: ``{name}_distance_m`` [m] (inf when no target),
        ``{name}_method`` (:data:`METHODS`) and ``is_{name}_covered``.
    """
    return walking_coverages(net, demand, {name: (targets, threshold_m)}, max_snap_m=max_snap_m,
                             access_spacing_m=access_spacing_m)


def walking_coverages(net: RoadNetwork | None, demand: gpd.GeoDataFrame,
                      targets: dict[str, tuple[gpd.GeoDataFrame, float]], *,
                      max_snap_m: float = 200.0, access_spacing_m: float = 50.0) -> pd.DataFrame:
    """:func:`walking_coverage` of several target layers, side by side.

    The walking graph is built, and the demand points snapped to it, once for all
    layers (on a full-scale city the snapping of a million demand points dominates).

    Parameters
    ----------
    targets : dict of str to (GeoDataFrame, float)
        Column prefix (``name``) -> target layer and its covering distance ``threshold_m`` [m].
    net, demand, max_snap_m, access_spacing_m
        As for :func:`walking_coverage`.

    Returns
    -------
    DataFrame
        On ``demand``'s index: the three columns of :func:`walking_coverage` for each
        target layer, in the order of ``targets``.
    """
    for threshold_m in (thr for _, thr in targets.values()):
        if not threshold_m > 0:
            msg = f"walking_coverage: threshold_m must be > 0 m (got {threshold_m})"
            raise SchemaError(msg)
    dxy = shapely.get_coordinates(demand.geometry.to_numpy())
    graph = None
    cols = {}
    for name, (tg, threshold_m) in targets.items():
        if graph is None and net is not None and len(tg) and len(dxy):
            graph = _WalkGraph(net, dxy)
        dist, use_net = _walking_distance(graph, dxy, tg, max_snap_m, access_spacing_m)
        cols[f"{name}_distance_m"] = dist
        cols[f"{name}_method"] = pd.array(np.where(use_net, "network", "euclidean"), dtype="str")
        cols[f"is_{name}_covered"] = dist <= threshold_m
    return pd.DataFrame(cols, index=demand.index)


def _walking_distance(graph: _WalkGraph | None, dxy: np.ndarray, targets: gpd.GeoDataFrame,
                      max_snap_m: float, access_spacing_m: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Walking distance from each demand point to the nearest target [m], and the method.

    Demand points and target access points within ``max_snap_m`` of a walkable segment
    are inserted into the walking graph at their nearest road point
    (:func:`~engines.coverage.network.split_segments`); the distance is the shortest path
    of the graph with those points as real nodes plus both access legs. Returns the
    distances and a bool array, True where the distance is along the network
    (:func:`walking_coverage`).
    """
    n = len(dxy)
    tgeom = targets.geometry.to_numpy()
    euclid = _nearest_distance(tgeom, dxy)
    dist_net = np.full(n, np.inf)
    use_net = np.zeros(n, bool)
    if graph is not None and len(graph) and len(tgeom) and n:
        axy, _owner = _target_points(targets, access_spacing_m)
        aseg, ad, afrac = graph.snap(axy)
        aok = ad <= max_snap_m
        if aok.any():
            dseg, dd, dfrac = graph.demand()
            use_net = dd <= max_snap_m
            sel = np.flatnonzero(use_net)
            na = int(aok.sum())
            u, v, w, pnode = split_segments(graph.segments,
                                            np.concatenate([aseg[aok], dseg[sel]]),
                                            np.concatenate([afrac[aok], dfrac[sel]]))
            # one super source joined to every target access point by its access leg
            sup = graph.segments.n_nodes + len(pnode)
            g = csr_graph(np.concatenate([u, np.full(na, sup)]), np.concatenate([v, pnode[:na]]),
                          np.concatenate([w, ad[aok]]), sup + 1)
            del u, v, w
            reach = dijkstra(g, directed=True, indices=sup)
            dist_net[sel] = dd[sel] + reach[pnode[na:]]
            # the network never beats the straight line (a guard against rounding)
            dist_net[sel] = np.maximum(dist_net[sel], euclid[sel])
            # targets with no access point near a walkable road are reached in a straight line
            on_net = np.zeros(len(tgeom), bool)
            on_net[_owner[aok]] = True
            if (~on_net).any():
                off = _nearest_distance(tgeom[~on_net], dxy[sel])
                straight = off < dist_net[sel]
                dist_net[sel] = np.where(straight, off, dist_net[sel])
                use_net[sel[straight]] = False
    return np.where(use_net, np.where(euclid == 0, 0.0, dist_net), euclid), use_net


def coverage_share(covered: npt.ArrayLike, weight: npt.ArrayLike) -> float:
    """Weighted share of covered demand in [0, 1] (NaN when the total weight is 0)."""
    covered = np.asarray(covered, bool)
    weight = np.asarray(weight, dtype="float64")
    total = weight.sum()
    return float(weight[covered].sum() / total) if total > 0 else float("nan")


def isochrones(net: RoadNetwork, node_time_s: np.ndarray, thresholds_min: Iterable[float], *,
               buffer_m: float = 100.0) -> gpd.GeoDataFrame:
    """Coverage polygons for the map: buffered road edges reachable within each threshold.

    Parameters
    ----------
    net : RoadNetwork
    node_time_s : ndarray
        Time from each node to the nearest station [s] (``nearest_source_times(...,
        reverse=True).time_s``).
    thresholds_min : iterable of float
        Thresholds [min].
    buffer_m : float
        Half-width of the band drawn around reachable edges [m].

    Notes
    -----
    Each polygon after the first is the previous one joined with the buffers of the edges
    the larger threshold adds (2.4x faster on the Hangzhou demo's 30-minute polygon); it is
    the union of all its edges' buffers taken in another order, equal to the direct union
    up to the overlay's rounding (``tests/engines/coverage/test_coverage_speed.py``).

    Returns
    -------
    GeoDataFrame
        One row per threshold: ``threshold_min``, ``area_km2`` (of the polygon),
        ``isochrone_method`` = ``"edge_buffer"`` and the (multi)polygon.
    """
    u = net.edges["u"].to_numpy()
    v = net.edges["v"].to_numpy()
    rows, geoms = [], []
    prev_key = np.empty(0, np.int64)
    prev: shapely.Geometry = shapely.MultiPolygon()
    for thr in sorted({float(t) for t in thresholds_min}):
        reach = np.maximum(node_time_s[u], node_time_s[v]) <= thr * 60.0
        a, b = u[reach], v[reach]
        key = np.unique(np.minimum(a, b).astype(np.int64) * net.n_nodes + np.maximum(a, b))
        # the edges within a threshold include those within a smaller one: the polygon is
        # the smaller polygon joined with the buffers of the edges added (the same union,
        # taken in another order: equal up to the rounding of the overlay, see the tests)
        add = key[~np.isin(key, prev_key, assume_unique=True)] if len(prev_key) else key
        if len(add):
            i, j = add // net.n_nodes, add % net.n_nodes
            lines = shapely.linestrings(np.stack([net.nodes_xy[i], net.nodes_xy[j]], axis=1))
            buf = shapely.buffer(lines, buffer_m, quad_segs=4)
            del lines
            g = shapely.union_all(buf if prev.is_empty else np.append(buf, prev))
            del buf
        else:
            g = prev
        prev, prev_key = g, key
        geoms.append(g)
        rows.append({"threshold_min": thr, "area_km2": g.area / 1e6,
                     "isochrone_method": "edge_buffer"})
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["threshold_min", "area_km2",
                                                        "isochrone_method"]),
                            geometry=geoms, crs=net.crs)
