"""Cached, parameterised catalog reads for the map app.

One read-only DuckDB connection per (twin home, city, catalog version) is cached
with :func:`streamlit.cache_resource`; every query runs on its own
``.cursor()`` (DuckDB's thread-safe way to share a connection between Streamlit's
session threads). Every value that comes from the user goes in as a ``?``
parameter; table names are only ever names the engines write (checked against
:data:`KNOWN_TABLES` and against the catalog), never user text. Results are
cached with :func:`streamlit.cache_data` keyed by home, city and the catalog's
modification time, so a twin rebuilt or extended by an engine is re-read.

Geometry leaves the catalog as WKB in EPSG:4549 and is turned into lon/lat
(EPSG:4326) arrays for pydeck here, vectorised with shapely and pyproj.
"""

from __future__ import annotations

import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import streamlit as st

from engines.registry import ENGINES
from mapapp.mapstyle import MAX_FEATURES
from twin.errors import CatalogError
from twin.schema import LAYERS
from twin.store import TwinStore

__all__ = [
    "CORE_LAYERS",
    "ENGINE_TABLES",
    "KNOWN_TABLES",
    "building_counts",
    "catalog_version",
    "columns_of",
    "command_for",
    "context_layers",
    "districts",
    "export_bytes",
    "geo_frame",
    "layers_table",
    "meta",
    "pv_building",
    "pv_buildings",
    "pv_city_top",
    "pv_facets",
    "pv_options",
    "query",
    "release",
    "table",
    "tables",
    "target_progress",
    "twin_state",
]

logger = logging.getLogger(__name__)

#: Layers without which the app cannot draw anything.
CORE_LAYERS = ("boundaries", "buildings")

#: Engine -> (command that computes it, tables and results it writes), from the engine registry.
ENGINE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "build": ("twin demo --city {city}", tuple(LAYERS)),
    **{e.name: (e.command, e.results + e.tables) for e in ENGINES.values()},
}

#: Every table name the app may read (a query on any other name is refused).
KNOWN_TABLES = frozenset(n for _, names in ENGINE_TABLES.values() for n in names) | {"targets"}

_TO_LONLAT = pyproj.Transformer.from_crs(4549, 4326, always_xy=True)
_MAJOR_ROADS = ["motorway", "trunk", "primary"]


def command_for(engine: str, city: str) -> str:
    """The CLI command that computes ``engine``'s results for ``city``."""
    return ENGINE_TABLES[engine][0].format(city=city)


def catalog_version(home: str, city: str) -> float:
    """Modification time of the city's catalog file (0 when missing); part of every cache key."""
    try:
        return os.stat(TwinStore(city, home).catalog_path).st_mtime
    except (OSError, CatalogError):
        return 0.0


def _close(con) -> None:
    try:
        con.close()
    except Exception:
        logger.debug("catalog connection already closed")


@st.cache_resource(max_entries=4, show_spinner=False, on_release=_close)
def _connection(home: str, city: str, version: float):
    return TwinStore(city, home).connect(read_only=True)


def release() -> None:
    """Close every cached connection and drop every cached result (the app's Reload button)."""
    _connection.clear()
    st.cache_data.clear()


def query(home: str, city: str, version: float, sql: str, params: list | tuple = ()) -> pd.DataFrame:
    """Run a fixed ``sql`` with ``?`` ``params`` on a cursor of the cached connection."""
    cur = _connection(home, city, version).cursor()
    try:
        return cur.execute(sql, list(params)).df()
    finally:
        cur.close()


def _table_name(name: str, present) -> str:
    if name not in KNOWN_TABLES and name not in LAYERS:
        msg = f"the app does not read a table named {name!r}"
        raise CatalogError(msg)
    if name not in present:
        msg = f"table {name!r} is not in the catalog"
        raise CatalogError(msg)
    return name


# -- state -------------------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def twin_state(home: str, city: str, version: float) -> tuple[str, tuple[str, ...]]:
    """``("missing", ())``, ``("partial", missing_layers)`` or ``("ok", ())``."""
    store = TwinStore(city, home)
    if version == 0.0 or not store.exists():
        return "missing", ()
    have = set(tables(home, city, version))
    missing = tuple(n for n in CORE_LAYERS if n not in have)
    return ("partial", missing) if missing else ("ok", ())


@st.cache_data(max_entries=16, show_spinner=False)
def tables(home: str, city: str, version: float) -> tuple[str, ...]:
    """Names of every table in the catalog."""
    df = query(home, city, version, "SELECT table_name FROM duckdb_tables() ORDER BY 1")
    return tuple(df["table_name"])


@st.cache_data(max_entries=16, show_spinner=False)
def layers_table(home: str, city: str, version: float) -> pd.DataFrame:
    """The catalog's ``_layers`` table."""
    return query(home, city, version,
                 "SELECT name, kind, n_rows, n_synthetic, source FROM _layers ORDER BY kind, name")


@st.cache_data(max_entries=16, show_spinner=False)
def meta(home: str, city: str, version: float) -> dict:
    """Decoded ``_meta`` entries."""
    import json

    df = query(home, city, version, "SELECT key, value FROM _meta")
    return {k: json.loads(v) for k, v in zip(df["key"], df["value"], strict=True)}


@st.cache_data(max_entries=64, show_spinner=False)
def table(home: str, city: str, version: float, name: str) -> pd.DataFrame:
    """A whole plain table an engine wrote (``name`` must be one of :data:`KNOWN_TABLES`)."""
    name = _table_name(name, tables(home, city, version))
    return query(home, city, version, f'SELECT * EXCLUDE (geom) FROM "{name}"'
                 if _has_geom(home, city, version, name) else f'SELECT * FROM "{name}"')


def _has_geom(home, city, version, name) -> bool:
    cols = query(home, city, version,
                 "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name])
    return "geom" in set(cols["column_name"])


# -- geometry ----------------------------------------------------------------------------
def _lonlat(wkb) -> np.ndarray:
    """Shapely geometries in lon/lat from EPSG:4549 WKB, rounded to 1e-5 degrees (about 1 m)."""
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    return shapely.transform(geoms, lambda xy: np.round(
        np.column_stack(_TO_LONLAT.transform(xy[:, 0], xy[:, 1])), 5))


def _split(xy: np.ndarray, which: np.ndarray, n: int) -> list:
    flat = np.round(xy, 5).tolist()
    counts = np.bincount(which, minlength=n)
    ends = np.cumsum(counts)
    starts = ends - counts
    return [flat[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]


def _segments(geoms: np.ndarray) -> pd.DataFrame:
    """Straight segments of lines as ``from_lonlat`` and ``to_lonlat`` pairs (a LineLayer's rows)."""
    xy, which = shapely.get_coordinates(shapely.get_parts(geoms), return_index=True)
    keep = (which[:-1] == which[1:]) & np.any(xy[:-1] != xy[1:], axis=1)
    return pd.DataFrame({"from_lonlat": xy[:-1][keep].tolist(), "to_lonlat": xy[1:][keep].tolist()})


def _pack(df: pd.DataFrame, geoms: np.ndarray) -> pd.DataFrame:
    """Add pydeck geometry columns: ``lon``/``lat`` (points), ``path`` (lines) or ``polygon``."""
    df = df.copy()
    if len(geoms) == 0:
        return df
    kind = shapely.get_type_id(geoms)
    if np.all(kind == 0):
        xy = shapely.get_coordinates(geoms)
        df["lon"], df["lat"] = np.round(xy[:, 0], 5), np.round(xy[:, 1], 5)
    elif np.all(np.isin(kind, (1, 2, 5))):
        parts, idx = shapely.get_parts(geoms, return_index=True)
        xy, which = shapely.get_coordinates(parts, return_index=True)
        df = df.iloc[idx].reset_index(drop=True)
        df["path"] = _split(xy, which, len(parts))
    else:  # polygons: one row per part, its exterior ring, or its rings when it has holes
        parts, idx = shapely.get_parts(geoms, return_index=True)
        rings, part_of = shapely.get_rings(parts, return_index=True)
        xy, which = shapely.get_coordinates(rings, return_index=True)
        coords = _split(xy, which, len(rings))
        df = df.iloc[idx].reset_index(drop=True)
        n_rings = np.bincount(part_of, minlength=len(parts))
        first = np.cumsum(n_rings) - n_rings
        df["polygon"] = [coords[f] if n == 1 else coords[f:f + n]
                         for f, n in zip(first.tolist(), n_rings.tolist(), strict=True)]
    return df


@st.cache_data(max_entries=64, show_spinner=False)
def geo_frame(home: str, city: str, version: float, name: str, columns: tuple[str, ...],
              where: str = "", params: tuple = (), simplify_m: float = 0.0,
              limit: int = MAX_FEATURES) -> tuple[pd.DataFrame, int]:
    """Rows of a layer or result with lon/lat geometry columns for pydeck.

    Parameters
    ----------
    name : str
        A schema layer or an engine result (never user text).
    columns : tuple of str
        Attribute columns; those the table lacks are skipped.
    where : str
        A fixed SQL condition written in code with ``?`` placeholders (never user text).
    params : tuple
        Values of the placeholders.
    simplify_m : float
        Simplification tolerance [m] (0: none).
    limit : int
        Most rows returned.

    Returns
    -------
    tuple of (DataFrame, int)
        The rows (see :func:`_pack`) and the number of rows matching before the limit.
    """
    name = _table_name(name, tables(home, city, version))
    have = set(query(home, city, version,
                     "SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                     [name])["column_name"])
    cols = [c for c in columns if c in have and c != "geom"]
    sel = ", ".join(f'"{c}"' for c in cols)
    geom = "ST_SimplifyPreserveTopology(geom, ?)" if simplify_m > 0 else "geom"
    cond = f"WHERE {where}" if where else ""
    n = int(query(home, city, version, f'SELECT count(*) AS n FROM "{name}" {cond}',
                  list(params))["n"].iloc[0])
    sql = (f'SELECT {sel}{", " if sel else ""}ST_AsWKB({geom}) AS wkb FROM "{name}" {cond} '
           "LIMIT ?")
    args = ([simplify_m] if simplify_m > 0 else []) + list(params) + [int(limit)]
    df = query(home, city, version, sql, args)
    geoms = _lonlat(df.pop("wkb").map(bytes).to_numpy()) if len(df) else np.array([], dtype=object)
    return _pack(df, geoms), n


# -- base map ----------------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def districts(home: str, city: str, version: float) -> tuple[pd.DataFrame, pd.DataFrame, tuple]:
    """District shapes, an attribute frame, and the city's bounds, in lon/lat.

    Returns
    -------
    tuple of (DataFrame, DataFrame, tuple)
        Shapes simplified by 30 m for a choropleth (``adcode``, ``name_zh``, ``name_en``,
        ``polygon``: one row per part, see :func:`_pack`); one row per district with
        ``area_km2`` and its bounds ``minx`` ... ``maxy``; the city's bounds.
    """
    df = query(home, city, version,
               "SELECT adcode, name_zh, name_en, area_km2, "
               "ST_AsWKB(ST_SimplifyPreserveTopology(geom, 30)) AS wkb "
               "FROM boundaries WHERE level = ? ORDER BY adcode", ["district"])
    geoms = _lonlat(df.pop("wkb").map(bytes).to_numpy())
    box = pd.DataFrame(shapely.bounds(geoms).reshape(-1, 4), columns=["minx", "miny", "maxx", "maxy"])
    frame = pd.concat([df, box], axis=1)
    bounds = ((float(box["minx"].min()), float(box["miny"].min()), float(box["maxx"].max()),
               float(box["maxy"].max())) if len(df) else (119, 29.5, 121, 31))
    return _pack(df[["adcode", "name_zh", "name_en"]], geoms), frame, bounds


@st.cache_data(max_entries=64, show_spinner=False)
def columns_of(home: str, city: str, version: float, name: str) -> tuple[str, ...]:
    """Column names of a known table (without ``geom``)."""
    name = _table_name(name, tables(home, city, version))
    cols = query(home, city, version, "SELECT column_name FROM duckdb_columns() WHERE "
                 "table_name = ? ORDER BY column_index", [name])["column_name"]
    return tuple(c for c in cols if c != "geom")


@st.cache_data(max_entries=16, show_spinner=False)
def context_layers(home: str, city: str, version: float) -> dict[str, pd.DataFrame]:
    """Orientation layers without a basemap: water polygons, major roads, district boundaries.

    Roads and boundaries are straight segments (see :func:`_segments`): the lines merged
    (a boundary shared by two districts once) and simplified by 30 m, a few thousand
    segments for a city.
    """
    have = set(tables(home, city, version))
    out = {}
    if "water" in have:
        out["water"] = geo_frame(home, city, version, "water", ("water_type",),
                                 simplify_m=20.0)[0]
    lines = {"roads": ("SELECT ST_AsWKB(ST_Simplify(ST_LineMerge(ST_Union_Agg(geom)), ?)) AS wkb "
                       "FROM roads WHERE list_contains(?, road_class)", [30.0, _MAJOR_ROADS]),
             "boundaries": ("SELECT ST_AsWKB(ST_Simplify(ST_LineMerge(ST_Union_Agg(ST_Boundary(geom))), "
                            "?)) AS wkb FROM boundaries WHERE level = ?", [30.0, "district"])}
    for name, (sql, params) in lines.items():
        if name in have:
            wkb = query(home, city, version, sql, params)["wkb"].dropna()
            out[name] = _segments(_lonlat(wkb.map(bytes).to_numpy()))
    return out


@st.cache_data(max_entries=16, show_spinner=False)
def building_counts(home: str, city: str, version: float) -> pd.DataFrame:
    """Buildings per district."""
    return query(home, city, version,
                 "SELECT district_adcode AS adcode, count(*) AS buildings, "
                 "sum(is_synthetic::INT) AS synthetic FROM buildings GROUP BY 1 ORDER BY 1")


# -- targets -----------------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def target_progress(home: str, city: str, version: float) -> pd.DataFrame:
    """What the engines computed against each target id.

    Columns ``target_id``, ``potential``, ``baseline_engine``, ``engine``; one row per
    target an engine tracked.
    """
    have = set(tables(home, city, version))
    parts = []
    if "pv_targets" in have:
        parts.append(query(home, city, version,
                           "SELECT target_id, potential_mw AS potential, baseline_mw AS "
                           "baseline_engine, 'pv' AS engine FROM pv_targets WHERE scenario = ?",
                           ["technical"]))
    if "wind_targets" in have:
        parts.append(query(home, city, version,
                           "SELECT CAST(target_id AS VARCHAR) AS target_id, "
                           "CAST(potential_mw AS DOUBLE) AS potential, NULL::DOUBLE AS "
                           "baseline_engine, 'wind' AS engine FROM wind_targets"))
    if "coverage_summary" in have:
        parts.append(query(home, city, version,
                           "SELECT target_id, any_value(value) AS potential, NULL::DOUBLE AS "
                           "baseline_engine, 'coverage' AS engine FROM coverage_summary "
                           "WHERE level = ? AND target_id <> '' GROUP BY target_id", ["city"]))
    if "sink_indicators" in have:
        parts.append(query(home, city, version,
                           "SELECT target_id, arg_min(value, input_kind <> ?) AS potential, "
                           "any_value(baseline_value) AS baseline_engine, 'sinks' AS engine "
                           "FROM sink_indicators WHERE level = ? AND target_id <> '' "
                           "GROUP BY target_id", ["polygons", "city"]))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["target_id", "potential", "baseline_engine", "engine"])
    return pd.concat(parts, ignore_index=True).drop_duplicates("target_id")


# -- PV ----------------------------------------------------------------------------------
_PV_COLS = ("building_id", "district_adcode", "township_code", "use_class", "roof_type",
            "height_m", "pv_capacity_kwp", "pv_yield_kwh_per_yr", "adopted_capacity_kwp",
            "specific_yield_kwh_per_kwp", "shading_loss_fraction", "n_facets",
            "n_viable_facets", "is_synthetic")


@st.cache_data(max_entries=16, show_spinner=False)
def pv_options(home: str, city: str, version: float) -> dict:
    """Filter choices: use classes, roof types, scenarios and value ranges of PV buildings."""
    df = query(home, city, version,
               "SELECT list(DISTINCT use_class ORDER BY use_class) AS uses, "
               "list(DISTINCT roof_type ORDER BY roof_type) AS roofs, "
               "max(pv_capacity_kwp) AS max_kwp, max(specific_yield_kwh_per_kwp) AS max_sy "
               "FROM pv_buildings")
    scen = query(home, city, version, "SELECT DISTINCT scenario FROM pv_districts ORDER BY 1")
    r = df.iloc[0]
    scenarios = list(scen["scenario"])
    if "technical" in scenarios:
        scenarios = ["technical", *[s for s in scenarios if s != "technical"]]
    return {"uses": list(r["uses"]), "roofs": list(r["roofs"]), "scenarios": scenarios,
            "max_kwp": float(r["max_kwp"] or 0.0), "max_sy": float(r["max_sy"] or 0.0)}


@st.cache_data(max_entries=16, show_spinner=False)
def pv_buildings(home: str, city: str, version: float, district: str) -> tuple[pd.DataFrame, int]:
    """PV buildings of one district with footprints in lon/lat (at most :data:`MAX_FEATURES`)."""
    return geo_frame(home, city, version, "pv_buildings", _PV_COLS, "district_adcode = ?",
                     (district,), limit=MAX_FEATURES)


_FILTER_SQL = ("(? IS NULL OR district_adcode = ?) AND list_contains(?, use_class) "
               "AND list_contains(?, roof_type) AND pv_capacity_kwp >= ? "
               "AND specific_yield_kwh_per_kwp >= ? AND shading_loss_fraction <= ?")


def _filter_params(district, uses, roofs, min_kwp, min_sy, max_shading) -> list:
    return [district, district, list(uses), list(roofs), float(min_kwp), float(min_sy),
            float(max_shading)]


@st.cache_data(max_entries=32, show_spinner=False)
def pv_city_top(home: str, city: str, version: float, district: str | None,
                uses: tuple, roofs: tuple, min_kwp: float, min_sy: float, max_shading: float,
                order: str, limit: int) -> tuple[pd.DataFrame, int]:
    """Filtered PV buildings ranked by ``order`` (a column of :data:`_PV_COLS`), without geometry.

    Returns the first ``limit`` rows and the number matching.
    """
    if order not in _PV_COLS:
        msg = f"cannot rank by {order!r}"
        raise CatalogError(msg)
    params = _filter_params(district, uses, roofs, min_kwp, min_sy, max_shading)
    n = int(query(home, city, version, f"SELECT count(*) AS n FROM pv_buildings WHERE {_FILTER_SQL}",
                  params)["n"].iloc[0])
    sel = ", ".join(f'"{c}"' for c in _PV_COLS)
    df = query(home, city, version,
               f'SELECT {sel} FROM pv_buildings WHERE {_FILTER_SQL} ORDER BY "{order}" DESC, '
               "building_id LIMIT ?", [*params, int(limit)])
    return df, n


@st.cache_data(max_entries=64, show_spinner=False)
def pv_building(home: str, city: str, version: float, building_id: str) -> pd.DataFrame:
    """One row of ``pv_buildings`` joined with the building's attributes (empty if unknown)."""
    return query(home, city, version,
                 "SELECT p.* EXCLUDE (geom), b.floors, b.year_built, b.gross_floor_area_m2, "
                 "b.footprint_area_m2, b.height_source, b.cim_level, b.source "
                 "FROM pv_buildings p LEFT JOIN buildings b USING (building_id) "
                 "WHERE p.building_id = ?", [building_id])


@st.cache_data(max_entries=64, show_spinner=False)
def pv_facets(home: str, city: str, version: float, building_id: str) -> pd.DataFrame:
    """Facets of one building (``pv_facets`` without geometry)."""
    return query(home, city, version,
                 "SELECT * EXCLUDE (geom) FROM pv_facets WHERE building_id = ? ORDER BY facet_id",
                 [building_id])


def export_bytes(home: str, city: str, version: float, ids: list[str], fmt: str) -> bytes:
    """The PV buildings ``ids`` as CSV, GeoPackage or GeoJSON bytes.

    GeoPackage and CSV (WKT) keep EPSG:4549; GeoJSON is EPSG:4326 as RFC 7946 requires.
    CSV cells that a spreadsheet would run as formulas are neutralised
    (:func:`layers.io.export.export_bytes`).
    """
    from layers.io.export import export_bytes as encode

    sel = ", ".join(f'"{c}"' for c in _PV_COLS)
    df = query(home, city, version,
               f"SELECT {sel}, adopted_yield_kwh_per_yr, scenario, ST_AsWKB(geom) AS wkb "
               "FROM pv_buildings WHERE list_contains(?, building_id) "
               "ORDER BY pv_capacity_kwp DESC", [list(ids)])
    geoms = shapely.from_wkb(df.pop("wkb").map(bytes).to_numpy())
    return encode(gpd.GeoDataFrame(df, geometry=geoms, crs=4549), fmt, layer="pv_shortlist")

