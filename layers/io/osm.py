"""Read an OpenStreetMap PBF extract and map its tags to the twin's layers.

The reader is pyosmium (:mod:`osmium`), the Python binding of the maintained
C++ library libosmium. It was chosen over QuackOSM and pyrosm because it
*streams* the file (one pass over nodes, ways and relations; only node
locations are cached, so memory grows with the extract, not with the Python
objects built from it), needs *no database* or intermediate files, and
*assembles areas* from closed ways and ``type=multipolygon`` relations itself
(libosmium's area assembler), so multipolygon buildings, parks and lakes with
holes arrive as valid (Multi)Polygons.

Everything here is pure reading and mapping: :func:`read_osm` returns one
GeoDataFrame per twin layer in EPSG:4326 with the schema's column names, plus
counts of what was read, mapped, defaulted and dropped. Tag mappings are data
(``data/osm/tags.toml``, each documented there). Clipping to a city and the
schema gate (:func:`layers.conform.conform_layer`) are applied by the caller
(:func:`shell.importer.import_osm`); :func:`clip_to_boundary` is the pure clip.

References
----------
OpenStreetMap Map Features, https://wiki.openstreetmap.org/wiki/Map_features
pyosmium, https://osmcode.org/pyosmium/ ; libosmium area assembly,
https://osmcode.org/libosmium/manual.html#areas
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import shapely

from twin.config import DATA_DIR
from twin.errors import ConfigError, SchemaError

__all__ = [
    "ATTRIBUTION",
    "OSM_LAYERS",
    "TAGS_PATH",
    "LayerStats",
    "OsmExtract",
    "clip_to_boundary",
    "load_tags",
    "parse_height_m",
    "parse_levels",
    "parse_speed_kmh",
    "read_header",
    "read_osm",
]

#: Layers an OSM extract can fill, in import order.
OSM_LAYERS = ("buildings", "roads", "charging_stations", "bus_stops", "green_space", "water", "landcover")

#: OSM keys whose objects can feed each layer (libosmium drops every other object in C++).
_LAYER_KEYS = {
    "buildings": ("building",),
    "roads": ("highway",),
    "charging_stations": ("amenity",),
    "bus_stops": ("highway", "public_transport"),
    "green_space": ("leisure", "landuse"),
    "water": ("natural", "water", "waterway", "landuse"),
    "landcover": ("landuse", "natural"),
}

#: The tag mapping tables.
TAGS_PATH = DATA_DIR / "osm" / "tags.toml"

#: Attribution the ODbL requires wherever the data is stored or shown.
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"

_FT_TO_M = 0.3048
_MPH_TO_KMH = 1.609344
_NUM = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(m|meters?|metres?|ft|feet|'|mph|km/h|kmh|kph)?\s*$",
                  re.IGNORECASE)
_TRUE = {"yes", "true", "1"}


@dataclass
class LayerStats:
    """What happened to one layer's OSM objects.

    Attributes
    ----------
    read : int
        OSM objects carrying the layer's key tags (e.g. any ``building=*``).
    mapped : int
        Features kept (after the caller's clip and schema gate).
    defaulted : dict of str to int
        Values filled with a documented default, by what was defaulted.
    dropped : dict of str to int
        Objects not kept, by reason.
    """

    read: int = 0
    mapped: int = 0
    defaulted: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def default(self, what: str, n: int = 1) -> None:
        """Count ``n`` values defaulted for ``what``."""
        if n:
            self.defaulted[what] = self.defaulted.get(what, 0) + n

    def drop(self, why: str, n: int = 1) -> None:
        """Count ``n`` objects dropped for ``why``."""
        if n:
            self.dropped[why] = self.dropped.get(why, 0) + n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (reasons sorted by count)."""
        return {"read": self.read, "mapped": self.mapped,
                "defaulted": dict(sorted(self.defaulted.items(), key=lambda kv: -kv[1])),
                "dropped": dict(sorted(self.dropped.items(), key=lambda kv: -kv[1]))}


@dataclass
class OsmExtract:
    """Features of an OSM file mapped to twin layers (EPSG:4326), with their statistics."""

    frames: dict[str, gpd.GeoDataFrame]
    stats: dict[str, LayerStats]
    header: dict[str, str]


def load_tags(path: str | Path = TAGS_PATH) -> dict[str, Any]:
    """Read the tag mapping tables (``data/osm/tags.toml``).

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or lacks a layer's table.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            tags = tomllib.load(fh)
    except FileNotFoundError:
        msg = f"OSM tag mappings {path} not found; restore data/osm/tags.toml from the repository"
        raise ConfigError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc}); fix the file"
        raise ConfigError(msg) from None
    need = ("buildings", "roads", "charging", "bus_stops", "green_space", "water", "landcover")
    missing = [k for k in need if k not in tags]
    if missing:
        msg = f"{path}: missing tables {missing}; every OSM layer needs its mapping table"
        raise ConfigError(msg)
    return tags


def _number(value: str | None) -> tuple[float, str] | None:
    if value is None:
        return None
    m = _NUM.match(value.split(";")[0])
    if m is None:
        return None
    return float(m.group(1).replace(",", ".")), (m.group(2) or "").lower()


def parse_height_m(value: str | None) -> float | None:
    """OSM ``height`` [m] (``"12"``, ``"12 m"``, ``"40 ft"``); None if unusable or outside (0, 700]."""
    got = _number(value)
    if got is None:
        return None
    num, unit = got
    if unit in ("ft", "feet", "'"):
        num *= _FT_TO_M
    elif unit not in ("", "m", "meter", "meters", "metre", "metres"):
        return None
    return num if 0.0 < num <= 700.0 else None


def parse_levels(value: str | None) -> float | None:
    """OSM ``building:levels`` (first of ``a;b``); None if absent, unparseable or not in [1, 200]."""
    got = _number(value)
    if got is None or got[1]:
        return None
    return got[0] if 1.0 <= got[0] <= 200.0 else None


def parse_speed_kmh(value: str | None) -> float | None:
    """OSM ``maxspeed`` [km/h]: ``"60"``, ``"40 mph"``; None for zones (``CN:urban``) or outside (0, 150]."""
    got = _number(value)
    if got is None:
        return None
    num, unit = got
    if unit == "mph":
        num *= _MPH_TO_KMH
    elif unit not in ("", "km/h", "kmh", "kph"):
        return None
    return num if 0.0 < num <= 150.0 else None


def read_header(path: str | Path) -> dict[str, str]:
    """The PBF header: ``generator``, ``timestamp`` (replication timestamp), ``bbox``.

    Raises
    ------
    SchemaError
        The file is missing or not an OSM file libosmium can read.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file; give the path of an OSM extract (*.osm.pbf)"
        raise SchemaError(msg)
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            head = reader.header()
        finally:
            reader.close()
    except (RuntimeError, ValueError) as exc:
        msg = (f"{path}: not a readable OpenStreetMap file ({exc}); give a .osm.pbf extract, e.g. "
               "from https://download.geofabrik.de/asia/china.html")
        raise SchemaError(msg) from None
    ts = head.get("osmosis_replication_timestamp") or head.get("timestamp") or ""
    box = head.box()
    bbox = ""
    if box.valid():
        bbox = (f"{box.bottom_left.lon:.5f},{box.bottom_left.lat:.5f},"
                f"{box.top_right.lon:.5f},{box.top_right.lat:.5f}")
    return {"generator": head.get("generator") or "", "timestamp": ts, "bbox": bbox}


class _Columns:
    """Column lists for one layer, grown row by row, then one GeoDataFrame."""

    def __init__(self, *names: str):
        self.cols: dict[str, list[Any]] = {n: [] for n in names}
        self.wkb: list[str] = []

    def add(self, wkb: str, **values: Any) -> None:
        self.wkb.append(wkb)
        cols = self.cols
        for k in values:
            cols[k].append(values[k])

    def frame(self) -> gpd.GeoDataFrame:
        # GEOS parses binary WKB several times faster than the hex pyosmium writes
        wkb = np.asarray([bytes.fromhex(h) for h in self.wkb], dtype=object)
        geoms = shapely.from_wkb(wkb) if self.wkb else np.array([], dtype=object)
        return gpd.GeoDataFrame(self.cols, geometry=geoms, crs="EPSG:4326")


class _BuildingRows:
    """Raw tag values of ``building=*`` areas, mapped in one vectorised step (:func:`_buildings_frame`).

    Only strings and the WKB are kept per area while streaming; heights, levels,
    use and roof classes are parsed once per distinct tag value afterwards.
    """

    def __init__(self) -> None:
        self.wkb: list[bytes] = []
        self.from_way: list[bool] = []
        self.orig_id: list[int] = []
        self.building: list[str] = []
        self.height: list[str | None] = []
        self.levels: list[str | None] = []
        self.roof: list[str | None] = []
        self.amenity: list[str | None] = []
        self.name: list[str] = []

    def add(self, obj: Any, t: Any, b: str, wkb: str) -> None:
        self.wkb.append(bytes.fromhex(wkb))  # binary WKB: half the memory, parsed ~3x faster than hex
        self.from_way.append(obj.from_way())
        self.orig_id.append(obj.orig_id())
        self.building.append(b)
        self.height.append(t.get("height"))
        self.levels.append(t.get("building:levels"))
        self.roof.append(t.get("roof:shape"))
        self.amenity.append(t.get("amenity"))
        self.name.append(t.get("name") or t.get("name:zh") or "")


def _parsed(values: list[str | None], parse: Any) -> np.ndarray:
    """``parse`` applied once per distinct value; NaN where absent or unusable [float]."""
    table = {v: parse(v) for v in set(values) if v is not None}
    return np.array([math.nan if v is None or table[v] is None else table[v] for v in values],
                    dtype="float64")


def _buildings_frame(rows: _BuildingRows, st: LayerStats, tb: dict[str, Any], storey_m: float,
                     default_h: float) -> gpd.GeoDataFrame:
    """Map the raw building tags to the schema's columns (vectorised; counts defaults in ``st``).

    Height from ``height`` (observed), else ``building:levels`` x ``storey_m`` (estimated),
    else ``default_h`` (estimated and ``height_defaulted``); use from ``building=*`` (then
    ``amenity`` for ``building=yes`` or unknown values); roof from ``roof:shape``.
    """
    n = len(rows.wkb)
    height = _parsed(rows.height, parse_height_m)
    levels = _parsed(rows.levels, parse_levels)
    raw_h = np.array(rows.height, dtype=object)
    unusable = (raw_h != None) & np.isnan(height)  # noqa: E711 (element-wise None test)
    if unusable.any():
        vals, counts = np.unique(raw_h[unusable].astype(str), return_counts=True)
        for v, c in zip(vals, counts, strict=True):
            st.default(f"height (unusable height={v!r} ignored)", int(c))
    observed = ~np.isnan(height)
    by_levels = ~observed & ~np.isnan(levels)
    defaulted = ~observed & ~by_levels
    st.default(tb["_by_levels"], int(by_levels.sum()))
    st.default(tb["_by_default"], int(defaulted.sum()))
    h = np.where(observed, height, np.where(by_levels, levels * storey_m, default_h))
    floors = np.where(np.isnan(levels), np.maximum(1.0, np.round(h / storey_m)), levels)
    uses, amen_uses = tb["use_class"], tb["amenity_use_class"]
    fallback = tb["fallback_use_class"]
    use = [uses.get(b) if b != "yes" and b in uses
           else (amen_uses.get(a) if a is not None else None) or uses.get(b) or fallback
           for b, a in zip(rows.building, rows.amenity, strict=True)]
    roofs = tb["roof_type"]
    roof = [roofs.get(r, "unknown") if r is not None else "unknown" for r in rows.roof]
    ids = [f"osm-{'w' if w else 'r'}{i}" for w, i in zip(rows.from_way, rows.orig_id, strict=True)]
    geoms = shapely.from_wkb(np.asarray(rows.wkb, dtype=object)) if n else np.array([], dtype=object)
    cols = {"building_id": ids, "name": rows.name, "height_m": h, "floors": floors.astype("int64"),
            "use_class": use, "roof_type": roof,
            "height_source": np.where(observed, "observed", "estimated").astype(object),
            "height_defaulted": defaulted}
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326")


def _forest_class(tags: Any, lc: str, refine: dict[str, str]) -> str:
    if tags.get("leaf_type") == "bamboo" or tags.get("wood") == "bamboo" or tags.get("crop") == "bamboo":
        return refine.get("bamboo", lc)
    key = f"{tags.get('leaf_type', '')}/{tags.get('leaf_cycle', '')}"
    return refine.get(key, lc)


def read_osm(path: str | Path, layers: tuple[str, ...] | list[str] = OSM_LAYERS,
             tags: dict[str, Any] | None = None) -> OsmExtract:
    """Stream an OSM file and map its objects to the twin's layers.

    Parameters
    ----------
    path : path-like
        An OSM extract (``.osm.pbf``; any format libosmium reads).
    layers : sequence of str
        Layers to fill (subset of :data:`OSM_LAYERS`).
    tags : dict, optional
        Tag mappings (:func:`load_tags`); read from ``data/osm/tags.toml`` by default.

    Returns
    -------
    OsmExtract
        ``frames[layer]``: GeoDataFrame in EPSG:4326 with schema columns (ids
        ``osm-n<id>``/``osm-w<id>``/``osm-r<id>``), ``stats[layer]``: counts, ``header``.

    Raises
    ------
    SchemaError
        Not a readable OSM file, an unknown layer, or a file that holds no OSM objects.
    """
    unknown = sorted(set(layers) - set(OSM_LAYERS))
    if unknown:
        msg = f"--layers: {unknown} cannot come from OSM; choose among {', '.join(OSM_LAYERS)}"
        raise SchemaError(msg)
    path = Path(path)
    header = read_header(path)
    tags = tags or load_tags()
    want = set(layers)
    stats = {name: LayerStats() for name in layers}
    tb, tr, tc = tags["buildings"], tags["roads"], tags["charging"]
    tg, tw, tl = tags["green_space"], tags["water"], tags["landcover"]
    storey_m, default_h = float(tb["storey_height_m"]), float(tb["default_height_m"])
    tb = {**tb, "_by_levels": f"height (building:levels x {storey_m:g} m)",
          "_by_default": f"height (default {default_h:g} m, height_defaulted)"}
    not_buildings = set(tb["not_buildings"])
    private = set(tc["private_access"])
    platform = tags["bus_stops"]["platform_requires"]

    cols = {
        "roads": _Columns("road_id", "name", "road_class", "speed_kmh", "is_oneway", "road_layer",
                          "is_bridge", "is_tunnel"),
        "charging_stations": _Columns("station_id", "name", "is_public", "piles", "site_type"),
        "bus_stops": _Columns("stop_id", "name"),
        "green_space": _Columns("green_id", "name", "green_type"),
        "water": _Columns("water_id", "name", "water_type", "is_aquaculture"),
        "landcover": _Columns("landcover_id", "lc_class", "source_scheme", "source_class"),
    }
    brows = _BuildingRows()
    wkb = osmium.geom.WKBFactory()
    keys = tuple(dict.fromkeys(k for name in layers for k in _LAYER_KEYS[name]))
    # Only the entity kinds a wanted layer uses reach Python: nodes for stations and stops,
    # ways for roads, areas for the rest (libosmium filters the others in C++).
    kinds = osmium.osm.AREA
    if want & {"charging_stations", "bus_stops"}:
        kinds |= osmium.osm.NODE
    if "roads" in want:
        kinds |= osmium.osm.WAY
    n_objects = 0
    try:
        proc = osmium.FileProcessor(str(path)).with_areas(osmium.filter.KeyFilter(*keys))
        proc = proc.with_filter(osmium.filter.EntityFilter(kinds))
        proc = proc.with_filter(osmium.filter.KeyFilter(*keys))
        for obj in proc:
            n_objects += 1
            t = obj.tags
            if obj.is_node():
                _node(obj, t, want, stats, cols, wkb, tc, private, platform)
            elif obj.is_way():
                if "roads" in want and "highway" in t and t.get("area") != "yes":
                    _road(obj, t, stats["roads"], cols["roads"], wkb, tr)
            elif obj.is_area():
                _area(obj, t, want, stats, cols, brows, wkb, tg, tw, tl, not_buildings, tc,
                      private)
    except RuntimeError as exc:
        msg = (f"{path}: not a readable OpenStreetMap file ({exc}); give a .osm.pbf extract, e.g. "
               "from https://download.geofabrik.de/asia/china.html")
        raise SchemaError(msg) from None
    if n_objects == 0:
        msg = (f"{path}: holds no OSM objects with the tags of {', '.join(layers)} "
               f"({', '.join(keys)}); check that the extract is not empty and has these layers")
        raise SchemaError(msg)
    frames = {name: (_buildings_frame(brows, stats[name], tb, storey_m, default_h)
                     if name == "buildings" else cols[name].frame()) for name in layers}
    return OsmExtract(frames=frames, stats=stats, header=header)


def _oid(obj: Any) -> str:
    if obj.is_area():
        return f"osm-{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
    return f"osm-{'n' if obj.is_node() else 'w'}{obj.id}"


def _name(t: Any) -> str:
    return str(t.get("name") or t.get("name:zh") or "")


def _node(obj, t, want, stats, cols, wkb, tc, private, platform) -> None:
    if "charging_stations" in want and t.get("amenity") == "charging_station":
        _charging(obj, t, stats["charging_stations"], cols["charging_stations"],
                  wkb.create_point(obj), tc, private)
    if "bus_stops" in want:
        is_stop = t.get("highway") == "bus_stop"
        is_platform = all(t.get(k) == v for k, v in platform.items())
        if is_stop or t.get("public_transport") == "platform":
            stats["bus_stops"].read += 1
            if is_stop or is_platform:
                cols["bus_stops"].add(wkb.create_point(obj), stop_id=_oid(obj), name=_name(t))
            else:
                stats["bus_stops"].drop("public_transport=platform without bus=yes")


def _charging(obj, t, st: LayerStats, col: _Columns, geom: str, tc, private) -> None:
    st.read += 1
    cap = _number(t.get("capacity"))
    if cap is not None and not cap[1] and cap[0] == int(cap[0]) and 0 <= cap[0] <= 10000:
        piles = int(cap[0])
    else:
        piles = int(tc["default_piles"])
        st.default(f"piles (no usable capacity: {tc['default_piles']})")
    public = t.get("access", "yes") not in private
    col.add(geom, station_id=_oid(obj), name=_name(t), is_public=public, piles=piles,
            site_type="urban_public" if public else "private")


def _road(obj, t, st: LayerStats, col: _Columns, wkb, tr) -> None:
    hw = t.get("highway")
    st.read += 1
    cls = tr["road_class"].get(hw)
    if cls is None:
        st.drop(f"highway={hw} (not a road for drive times)")
        return
    try:
        geom = wkb.create_linestring(obj)
    except (RuntimeError, osmium.InvalidLocationError):
        st.drop("way with missing nodes")
        return
    ow = (t.get("oneway") or "").lower()
    reverse = ow == "-1"
    oneway = ow in _TRUE or reverse or (ow == "" and (hw == "motorway" or t.get("junction") == "roundabout"))
    if reverse:
        geom = shapely.to_wkb(shapely.reverse(shapely.from_wkb(geom)), hex=True)
    speed = parse_speed_kmh(t.get("maxspeed"))
    if speed is None:
        st.default("speed_kmh (by road class)")
    lay = _number(t.get("layer"))
    layer = int(lay[0]) if lay is not None and not lay[1] and lay[0] <= 5 else 0
    if t.get("layer", "").startswith("-") and lay is None:
        m = _number(t.get("layer", "").lstrip("-"))
        layer = -int(m[0]) if m is not None and m[0] <= 5 else 0
    col.add(geom, road_id=_oid(obj), name=_name(t), road_class=cls,
            speed_kmh=math.nan if speed is None else speed, is_oneway=oneway, road_layer=layer,
            is_bridge=t.get("bridge", "no") != "no", is_tunnel=t.get("tunnel", "no") != "no")


def _area(obj, t, want, stats, cols, brows, wkb, tg, tw, tl, not_buildings, tc, private) -> None:
    geom: str | None = None

    def g(st: LayerStats) -> str | None:
        nonlocal geom
        if geom is None:
            try:
                geom = wkb.create_multipolygon(obj)
            except RuntimeError:
                st.drop("area that libosmium could not assemble")
                return None
        return geom

    b = t.get("building")
    if "buildings" in want and b is not None:
        st = stats["buildings"]
        st.read += 1
        if b in not_buildings:
            st.drop(f"building={b} (not a building)")
        elif (gb := g(st)) is not None:
            brows.add(obj, t, b, gb)
    if "charging_stations" in want and t.get("amenity") == "charging_station":
        st = stats["charging_stations"]
        if (ga := g(st)) is not None:
            pt = shapely.to_wkb(shapely.point_on_surface(shapely.from_wkb(ga)), hex=True)
            _charging(obj, t, st, cols["charging_stations"], pt, tc, private)
    if "green_space" in want:
        gt = tg["leisure"].get(t.get("leisure")) or tg["landuse"].get(t.get("landuse"))
        if gt is not None:
            st = stats["green_space"]
            st.read += 1
            if (gg := g(st)) is not None:
                cols["green_space"].add(gg, green_id=_oid(obj), name=_name(t), green_type=gt)
    if "water" in want:
        wt = None
        if t.get("natural") == "water" or "water" in t:
            wt = tw["water_type"].get(t.get("water"), tw["natural_water_fallback"])
        elif t.get("waterway") == "riverbank":
            wt = tw["riverbank_type"]
        elif t.get("landuse") in tw["landuse"]:
            wt = tw["landuse"][t.get("landuse")]
        if wt is not None:
            st = stats["water"]
            st.read += 1
            if (gw := g(st)) is not None:
                aqua = t.get("water") in tw["aquaculture"] or t.get("landuse") in tw["aquaculture"]
                cols["water"].add(gw, water_id=_oid(obj), name=_name(t), water_type=wt,
                                  is_aquaculture=aqua)
    if "landcover" in want:
        lu, nat = t.get("landuse"), t.get("natural")
        lc, src = None, ""
        if lu is not None and lu in tl["landuse"]:
            lc, src = tl["landuse"][lu], f"landuse={lu}"
        elif nat is not None and nat in tl["natural"]:
            lc, src = tl["natural"][nat], f"natural={nat}"
        if lu is not None or (nat is not None and nat not in ("tree", "peak", "coastline")):
            stats["landcover"].read += 1
            if lc is None:
                stats["landcover"].drop(f"landuse={lu}" if lu is not None else f"natural={nat}")
        if lc is not None:
            refine = tl["forest_refine"]
            if lc.endswith("forest"):
                lc = _forest_class(t, lc, refine)
            elif lc == "cropland" and "tea" in (t.get("crop"), t.get("produce")):
                lc = refine["tea"]
            if (gl := g(stats["landcover"])) is not None:
                cols["landcover"].add(gl, landcover_id=_oid(obj), lc_class=lc, source_scheme="osm",
                                      source_class=src)


def clip_to_boundary(gdf: gpd.GeoDataFrame, boundary: Any, layer: str, stats: LayerStats
                     ) -> gpd.GeoDataFrame:
    """Keep what lies in ``boundary`` (same CRS as ``gdf``).

    Points and buildings are kept whole when their representative point is
    inside (a building is never cut); roads, green space, water and land cover
    are cut at the boundary. Dropped rows are counted as ``outside the city``.
    """
    if gdf.empty:
        return gdf
    geoms = gdf.geometry.values
    shapely.prepare(boundary)
    if layer in ("buildings", "charging_stations", "bus_stops"):
        pts = shapely.point_on_surface(geoms)
        keep = np.asarray(shapely.contains_xy(boundary, shapely.get_x(pts), shapely.get_y(pts)))
        stats.drop("outside the city", int((~keep).sum()))
        return gdf.loc[keep]
    inside = np.asarray(shapely.contains(boundary, geoms))
    touching = ~inside & np.asarray(shapely.intersects(boundary, geoms))
    out = np.array(geoms, dtype=object)
    if touching.any():
        out[touching] = shapely.intersection(geoms[touching], boundary)
    keep = inside | touching
    if touching.any():
        keep &= ~shapely.is_empty(out)
    stats.drop("outside the city", int((~keep).sum()))
    res = gdf.loc[keep].copy()
    return res.set_geometry(gpd.GeoSeries(out[keep], index=res.index, crs=gdf.crs))
