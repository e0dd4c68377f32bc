"""A small OSM PBF inside Huzhou (Wuxing district), written with pyosmium for the OSM import tests."""

from __future__ import annotations

from pathlib import Path

import osmium

#: Origin of the test features: central Huzhou (Wuxing district, adcode 330502) [deg].
LON0, LAT0 = 120.10, 30.87
#: Replication timestamp written into the header.
TIMESTAMP = "2026-11-30T21:21:02Z"
#: About 1 m in degrees of latitude / of longitude at 30.87 N.
DLAT, DLON = 1 / 111_000, 1 / 95_300


def _header() -> osmium.io.Header:
    h = osmium.io.Header()
    h.set("generator", "carbon-twin tests")
    h.set("osmosis_replication_timestamp", TIMESTAMP)
    return h


def square(w, nid: int, x_m: float, y_m: float, size_m: float, lon0: float = LON0, lat0: float = LAT0):
    """Write 4 nodes of a square (x/y offsets in metres); return the closed node list."""
    ids = []
    for k, (dx, dy) in enumerate(((0, 0), (size_m, 0), (size_m, size_m), (0, size_m))):
        w.add_node(osmium.osm.mutable.Node(id=nid + k, location=(lon0 + (x_m + dx) * DLON,
                                                                  lat0 + (y_m + dy) * DLAT)))
        ids.append(nid + k)
    return [*ids, ids[0]]


def write_huzhou_pbf(path: Path, *, lon0: float = LON0, lat0: float = LAT0) -> Path:
    """Write the test extract: buildings, roads, a charger, a bus stop, a park, a pond.

    Buildings (ids w1..w4, r1): w1 height=24, w2 building:levels=6 (18 m), w3 neither
    (default), w4 height="junk" with 2 levels, r1 a multipolygon building (courtyard).
    Roads: w10 primary east-west with maxspeed 60, w11 residential north-south crossing it,
    oneway=-1, bridge=yes, layer=1; w12 footway (dropped). n100 charging station capacity 4;
    n101 bus stop; w20 leisure=park; w21 natural=water + water=pond; w22 landuse=forest.
    """
    with osmium.SimpleWriter(str(path), header=_header(), overwrite=True) as w:
        sq = lambda nid, x, y, s: square(w, nid, x, y, s, lon0, lat0)  # noqa: E731
        nodes = {1: sq(1000, 0, 0, 20), 2: sq(1010, 40, 0, 20), 3: sq(1020, 80, 0, 20),
                 4: sq(1030, 120, 0, 20)}
        outer, inner = sq(1040, 200, 0, 60), sq(1050, 220, 20, 20)
        park, pond, forest = sq(1060, 0, 200, 100), sq(1070, 200, 200, 50), sq(1080, 400, 200, 100)
        pts = {2000: (-100, -50), 2001: (400, -50), 2002: (150, -200), 2003: (150, 150),
               2004: (0, -80), 2005: (50, -80)}
        for nid, (x, y) in pts.items():
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon0 + x * DLON, lat0 + y * DLAT)))
        w.add_node(osmium.osm.mutable.Node(id=100, location=(lon0 + 10 * DLON, lat0 - 30 * DLAT),
                                           tags={"amenity": "charging_station", "capacity": "4",
                                                 "name": "湖州测试充电站"}))
        w.add_node(osmium.osm.mutable.Node(id=101, location=(lon0 + 60 * DLON, lat0 - 40 * DLAT),
                                           tags={"highway": "bus_stop", "name": "测试站"}))
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=nodes[1],
                                         tags={"building": "apartments", "height": "24",
                                               "roof:shape": "flat"}))
        w.add_way(osmium.osm.mutable.Way(id=2, nodes=nodes[2],
                                         tags={"building": "yes", "building:levels": "6",
                                               "amenity": "school", "roof:shape": "gabled"}))
        w.add_way(osmium.osm.mutable.Way(id=3, nodes=nodes[3], tags={"building": "yes"}))
        w.add_way(osmium.osm.mutable.Way(id=4, nodes=nodes[4],
                                         tags={"building": "industrial", "height": "junk",
                                               "building:levels": "2"}))
        w.add_way(osmium.osm.mutable.Way(id=5, nodes=outer))
        w.add_way(osmium.osm.mutable.Way(id=6, nodes=inner))
        w.add_way(osmium.osm.mutable.Way(id=10, nodes=[2000, 2001],
                                         tags={"highway": "primary", "maxspeed": "60", "name": "测试路"}))
        w.add_way(osmium.osm.mutable.Way(id=11, nodes=[2002, 2003],
                                         tags={"highway": "residential", "oneway": "-1",
                                               "bridge": "yes", "layer": "1"}))
        w.add_way(osmium.osm.mutable.Way(id=12, nodes=[2004, 2005], tags={"highway": "footway"}))
        w.add_way(osmium.osm.mutable.Way(id=20, nodes=park, tags={"leisure": "park", "name": "测试公园"}))
        w.add_way(osmium.osm.mutable.Way(id=21, nodes=pond, tags={"natural": "water", "water": "pond"}))
        w.add_way(osmium.osm.mutable.Way(id=22, nodes=forest,
                                         tags={"landuse": "forest", "leaf_type": "broadleaved",
                                               "leaf_cycle": "evergreen"}))
        w.add_relation(osmium.osm.mutable.Relation(
            id=1, members=[("w", 5, "outer"), ("w", 6, "inner")],
            tags={"type": "multipolygon", "building": "commercial", "height": "15 m"}))
    return path
