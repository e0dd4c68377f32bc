"""Cached catalog reads for the map app.

Every read goes through :class:`twin.store.TwinStore`, the only code that talks to
DuckDB: this module holds no SQL and no connection of its own. One store per (twin
home, city, catalog version) keeps its read-only connection open
(:meth:`TwinStore.hold`), cached with :func:`streamlit.cache_resource`; the store runs
each read on its own cursor, so Streamlit's session threads can share it. Table names
are only ever names the engines write (checked against :data:`KNOWN_TABLES` here, and
against the catalog by the store); filter values from the user are bound parameters.
Results are cached with :func:`streamlit.cache_data` keyed by home, city and the
catalog's modification time, so a twin rebuilt or extended by an engine is re-read.

Geometry leaves the catalog as WKB in EPSG:4549 and is turned into lon/lat
(EPSG:4326) arrays for pydeck here, vectorised with shapely and pyproj.
"""

from __future__ import annotations

import functools
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
from twin.config import load_city
from twin.errors import CatalogError
from twin.schema import LAYERS, LEDGERS
from twin.store import Between, TwinStore

__all__ = [
    "CORE_LAYERS",
    "ENGINE_TABLES",
    "INSPECTOR_RANKS",
    "KNOWN_TABLES",
    "building_counts",
    "catalog_version",
    "city_name",
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
    "pv_ranked",
    "pv_report_rows",
    "rasters_table",
    "release",
    "store",
    "table",
    "tables",
    "target_progress",
    "twin_state",
    "warm_start",
]

logger = logging.getLogger(__name__)

#: How long a page waits for a catalog another process is writing before it says "being
#: updated, try again" [s]: a commit takes seconds; a long import should not freeze the map.
READ_WAIT_S = 5.0

#: Layers without which the app cannot draw anything.
CORE_LAYERS = ("boundaries", "buildings")

#: Engine -> (command that computes it, tables and results it writes), from the engine registry.
ENGINE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "build": ("twin demo --city {city}", tuple(LAYERS)),
    **{e.name: (e.command, e.results + e.tables) for e in ENGINES.values()},
}

#: Every table name the app may read (a query on any other name is refused).
KNOWN_TABLES = frozenset(n for _, names in ENGINE_TABLES.values() for n in names) | {"targets", "validation"}
KNOWN_TABLES |= frozenset(LEDGERS)  # installation ledgers (twin import pv_installations ...)

_TO_LONLAT = pyproj.Transformer.from_crs(4549, 4326, always_xy=True)
_MAJOR_ROADS = ("motorway", "trunk", "primary")


def command_for(engine: str, city: str) -> str:
    """The CLI command that computes ``engine``'s results for ``city``."""
    return ENGINE_TABLES[engine][0].format(city=city)


@functools.lru_cache(maxsize=64)
def city_name(city: str, lang: str) -> str:
    """The city's name in ``lang`` (``"zh"`` or ``"en"``) from its configuration (read once)."""
    c = load_city(city)
    return c.name_zh if lang == "zh" else c.name_en


def catalog_version(home: str, city: str) -> float:
    """Modification time of the city's catalog file (0 when missing); part of every cache key."""
    try:
        return os.stat(TwinStore(city, home).catalog_path).st_mtime
    except (OSError, CatalogError):
        return 0.0


def _close(held: TwinStore) -> None:
    held.close()


@st.cache_resource(max_entries=4, show_spinner=False, on_release=_close)
def store(home: str, city: str, version: float) -> TwinStore:
    """The city's store, holding one read-only catalog connection for this catalog version.

    Raises
    ------
    CatalogError
        No built twin, or the catalog cannot be opened (``CatalogLockedError`` while
        another process writes it).
    """
    return TwinStore(city, home, lock_wait_s=READ_WAIT_S).hold()


def release() -> None:
    """Close every cached connection and drop every cached result (the app's Reload button)."""
    store.clear()
    st.cache_data.clear()


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
    """``("missing", ())``, ``("partial", missing_layers)`` or ``("ok", ())``.

    A catalog another process is writing is not missing: that raises ``CatalogLockedError``.
    """
    if version == 0.0 or not store(home, city, version).exists():
        return "missing", ()
    have = set(tables(home, city, version))
    missing = tuple(n for n in CORE_LAYERS if n not in have)
    return ("partial", missing) if missing else ("ok", ())


def warm_start(home: str, cities) -> list[str]:
    """Open each built city's catalog and read its state once, when the server starts.

    Called from the app's start-up hook (``app.py``), so that the first visitor does not
    wait for a connection (loading DuckDB's spatial extension: about half a second per
    catalog on an idle machine here) and the table list. A catalog that is missing, being
    written or unreadable is skipped (logged): the page says why when someone opens it.

    Returns
    -------
    list of str
        The cities whose catalogs are open.
    """
    opened = []
    for city in cities:
        version = catalog_version(home, city)
        if version == 0.0:
            continue
        try:
            twin_state(home, city, version)
        except CatalogError as exc:
            logger.info("not warming %s at start-up: %s", city, exc)
            continue
        opened.append(city)
    return opened


@st.cache_data(max_entries=16, show_spinner=False)
def tables(home: str, city: str, version: float) -> tuple[str, ...]:
    """Names of every table in the catalog."""
    return store(home, city, version).tables()


@st.cache_data(max_entries=16, show_spinner=False)
def layers_table(home: str, city: str, version: float) -> pd.DataFrame:
    """The catalog's ``_layers`` table: name, kind, n_rows, n_synthetic, source, by kind and name."""
    lay = store(home, city, version).layers()[["name", "kind", "n_rows", "n_synthetic", "source"]]
    return lay.sort_values(["kind", "name"], kind="stable").reset_index(drop=True)


@st.cache_data(max_entries=16, show_spinner=False)
def rasters_table(home: str, city: str, version: float) -> pd.DataFrame:
    """The catalog's ``_rasters`` table: name, is_synthetic, source (by name)."""
    return store(home, city, version).rasters()[["name", "is_synthetic", "source"]]


@st.cache_data(max_entries=16, show_spinner=False)
def meta(home: str, city: str, version: float) -> dict:
    """Decoded ``_meta`` entries."""
    return store(home, city, version).meta()


@st.cache_data(max_entries=64, show_spinner=False)
def table(home: str, city: str, version: float, name: str) -> pd.DataFrame:
    """A whole table an engine wrote, without geometry (``name`` one of :data:`KNOWN_TABLES`)."""
    name = _table_name(name, tables(home, city, version))
    return store(home, city, version).select(name)


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
              where: dict | None = None, simplify_m: float = 0.0,
              limit: int = MAX_FEATURES) -> tuple[pd.DataFrame, int]:
    """Rows of a layer or result with lon/lat geometry columns for pydeck.

    Parameters
    ----------
    name : str
        A schema layer or an engine result (never user text).
    columns : tuple of str
        Attribute columns; those the table lacks are skipped.
    where : dict, optional
        Column -> filter value, as :meth:`twin.store.TwinStore.select` takes it.
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
    twin = store(home, city, version)
    have = set(twin.columns(name))
    cols = [c for c in columns if c in have and c != "geom"]
    n = twin.count(name, where=where)
    df = twin.select_wkb(name, cols, where=where, simplify_m=simplify_m, limit=int(limit))
    geoms = _lonlat(df.pop("wkb").to_numpy()) if len(df) else np.array([], dtype=object)
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
    df = store(home, city, version).select_wkb(
        "boundaries", ("adcode", "name_zh", "name_en", "area_km2"), where={"level": "district"},
        simplify_m=30.0, order_by=("adcode",))
    geoms = _lonlat(df.pop("wkb").to_numpy())
    box = pd.DataFrame(shapely.bounds(geoms).reshape(-1, 4), columns=["minx", "miny", "maxx", "maxy"])
    frame = pd.concat([df, box], axis=1)
    bounds = ((float(box["minx"].min()), float(box["miny"].min()), float(box["maxx"].max()),
               float(box["maxy"].max())) if len(df) else (119, 29.5, 121, 31))
    return _pack(df[["adcode", "name_zh", "name_en"]], geoms), frame, bounds


@st.cache_data(max_entries=64, show_spinner=False)
def columns_of(home: str, city: str, version: float, name: str) -> tuple[str, ...]:
    """Column names of a known table (without ``geom``)."""
    name = _table_name(name, tables(home, city, version))
    return tuple(c for c in store(home, city, version).columns(name) if c != "geom")


@st.cache_data(max_entries=16, show_spinner=False)
def context_layers(home: str, city: str, version: float) -> dict[str, pd.DataFrame]:
    """Orientation layers without a basemap: water polygons, major roads, district boundaries.

    Roads and boundaries are straight segments (see :func:`_segments`): the lines merged
    (a boundary shared by two districts once) and simplified by 30 m, a few thousand
    segments for a city.
    """
    have = set(tables(home, city, version))
    twin = store(home, city, version)
    out = {}
    if "water" in have:
        out["water"] = geo_frame(home, city, version, "water", ("water_type",),
                                 simplify_m=20.0)[0]
    lines: dict[str, tuple[dict[str, object], bool]] = {"roads": ({"road_class": _MAJOR_ROADS}, False),
                                                        "boundaries": ({"level": "district"}, True)}
    for name, (where, boundaries) in lines.items():
        if name in have:
            wkb = twin.merged_lines_wkb(name, where=where, boundaries=boundaries, simplify_m=30.0)
            geoms = np.array([] if wkb is None else [wkb], dtype=object)
            out[name] = _segments(_lonlat(geoms))
    return out


@st.cache_data(max_entries=16, show_spinner=False)
def building_counts(home: str, city: str, version: float) -> pd.DataFrame:
    """Buildings per district: ``adcode``, ``buildings``, ``synthetic``."""
    df = store(home, city, version).aggregate(
        "buildings", {"buildings": ("count", None), "synthetic": ("count_true", "is_synthetic")},
        by=("district_adcode",))
    return df.rename(columns={"district_adcode": "adcode"})


# -- targets -----------------------------------------------------------------------------
#: What a tracked total rests on, when the engine's table says it (:mod:`twin.schema` fields).
_SCOPE_COLUMNS = ("synthetic_share", "n_buildings", "city_buildings_estimate", "coverage_share",
                  "is_citywide")
_PROGRESS_COLUMNS = ["target_id", "potential", "baseline_engine", "engine", *_SCOPE_COLUMNS]


def _tracked(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a target id (not null, not blank)."""
    return df.loc[df["target_id"].notna() & (df["target_id"] != "")]


def _scope_of(twin: TwinStore, name: str) -> tuple[str, ...]:
    """The :data:`_SCOPE_COLUMNS` table ``name`` has (engines add them one by one)."""
    have = set(twin.columns(name))
    return tuple(c for c in _SCOPE_COLUMNS if c in have)


@st.cache_data(max_entries=16, show_spinner=False)
def target_progress(home: str, city: str, version: float) -> pd.DataFrame:
    """What the engines computed against each target id, and what each figure rests on.

    Columns ``target_id``, ``potential``, ``baseline_engine``, ``engine`` and the scope
    columns ``synthetic_share``, ``n_buildings``, ``city_buildings_estimate``,
    ``coverage_share``, ``is_citywide`` (NaN where the engine's table does not carry
    them); one row per target an engine tracked.
    """
    have = set(tables(home, city, version))
    twin = store(home, city, version)
    parts = []
    if "pv_targets" in have:
        pv = twin.select("pv_targets", ("target_id", "potential_mw", "baseline_mw",
                                        *_scope_of(twin, "pv_targets")),
                         where={"scenario": "technical"})
        parts.append(pv.rename(columns={"potential_mw": "potential", "baseline_mw": "baseline_engine"})
                     .assign(engine="pv"))
    if "wind_targets" in have:
        wind = twin.select("wind_targets", ("target_id", "potential_mw",
                                            *_scope_of(twin, "wind_targets")))
        parts.append(wind.rename(columns={"potential_mw": "potential"})
                     .assign(target_id=wind["target_id"].astype("str"),
                             potential=wind["potential_mw"].astype(float),
                             baseline_engine=np.nan, engine="wind"))
    if "coverage_summary" in have:
        scope = {c: ("max", c) for c in _scope_of(twin, "coverage_summary")}
        cov = _tracked(twin.aggregate("coverage_summary", {"potential": ("any", "value"), **scope},
                                      by=("target_id",), where={"level": "city"}))
        parts.append(cov.assign(baseline_engine=np.nan, engine="coverage"))
    if "sink_indicators" in have:
        # the polygon-based value where there is one, else any; any baseline the engine gave
        scope_cols = _scope_of(twin, "sink_indicators")
        ind = _tracked(twin.select("sink_indicators", ("target_id", "value", "input_kind",
                                                       "baseline_value", *scope_cols),
                                   where={"level": "city"}))
        first = (ind.loc[ind["input_kind"].notna()]
                 .assign(_other=lambda d: d["input_kind"] != "polygons")
                 .sort_values("_other", kind="stable").drop_duplicates("target_id"))
        base = ind.groupby("target_id", sort=False)["baseline_value"].first()
        parts.append(pd.DataFrame({"target_id": first["target_id"].to_numpy(),
                                   "potential": first["value"].to_numpy(),
                                   "baseline_engine": base.reindex(first["target_id"]).to_numpy(),
                                   "engine": "sinks",
                                   **{c: first[c].to_numpy() for c in scope_cols}}))
    parts = [p.reindex(columns=_PROGRESS_COLUMNS) for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=_PROGRESS_COLUMNS)
    return pd.concat(parts, ignore_index=True).drop_duplicates("target_id")


# -- PV ----------------------------------------------------------------------------------
_PV_COLS = ("building_id", "district_adcode", "township_code", "use_class", "roof_type",
            "height_m", "pv_capacity_kwp", "pv_yield_kwh_per_yr", "adopted_capacity_kwp",
            "specific_yield_kwh_per_kwp", "shading_loss_fraction", "n_facets",
            "n_viable_facets", "is_synthetic")
#: Attributes of the building itself the inspector shows beside its PV row.
_BUILDING_COLS = ("floors", "year_built", "gross_floor_area_m2", "footprint_area_m2", "height_source",
                  "cim_level", "source")


@st.cache_data(max_entries=16, show_spinner=False)
def pv_options(home: str, city: str, version: float) -> dict:
    """Filter choices: use classes, roof types, scenarios and value ranges of PV buildings."""
    twin = store(home, city, version)
    r = twin.aggregate("pv_buildings", {"max_kwp": ("max", "pv_capacity_kwp"),
                                        "max_sy": ("max", "specific_yield_kwh_per_kwp")}).iloc[0]
    scenarios = twin.distinct("pv_districts", "scenario")
    if "technical" in scenarios:
        scenarios = ["technical", *[s for s in scenarios if s != "technical"]]
    return {"uses": twin.distinct("pv_buildings", "use_class"),
            "roofs": twin.distinct("pv_buildings", "roof_type"), "scenarios": scenarios,
            "max_kwp": float(r["max_kwp"] or 0.0), "max_sy": float(r["max_sy"] or 0.0)}


@st.cache_data(max_entries=16, show_spinner=False)
def pv_buildings(home: str, city: str, version: float, district: str) -> tuple[pd.DataFrame, int]:
    """PV buildings of one district with footprints in lon/lat (at most :data:`MAX_FEATURES`)."""
    return geo_frame(home, city, version, "pv_buildings", _PV_COLS, {"district_adcode": district},
                     limit=MAX_FEATURES)


def _pv_filter(district, uses, roofs, min_kwp, min_sy, max_shading) -> dict:
    """The PV page's filters as a :meth:`twin.store.TwinStore.select` ``where``."""
    where = {} if district is None else {"district_adcode": district}
    return {**where, "use_class": tuple(uses), "roof_type": tuple(roofs),
            "pv_capacity_kwp": Between(low=float(min_kwp)),
            "specific_yield_kwh_per_kwp": Between(low=float(min_sy)),
            "shading_loss_fraction": Between(high=float(max_shading))}


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
    twin = store(home, city, version)
    where = _pv_filter(district, uses, roofs, min_kwp, min_sy, max_shading)
    n = twin.count("pv_buildings", where=where)
    df = twin.select("pv_buildings", _PV_COLS, where=where, order_by=(f"-{order}", "building_id"),
                     limit=int(limit))
    return df, n


@st.cache_data(max_entries=64, show_spinner=False)
def pv_building(home: str, city: str, version: float, building_id: str) -> pd.DataFrame:
    """One row of ``pv_buildings`` joined with the building's attributes (empty if unknown)."""
    twin = store(home, city, version)
    row = twin.select("pv_buildings", where={"building_id": building_id})
    attrs = twin.select("buildings", ("building_id", *_BUILDING_COLS), where={"building_id": building_id})
    return row.merge(attrs, on="building_id", how="left")


@st.cache_data(max_entries=64, show_spinner=False)
def pv_facets(home: str, city: str, version: float, building_id: str) -> pd.DataFrame:
    """Facets of one building (``pv_facets`` without geometry)."""
    return store(home, city, version).select("pv_facets", where={"building_id": building_id},
                                             order_by=("facet_id",))


def export_bytes(home: str, city: str, version: float, ids: list[str], fmt: str) -> bytes:
    """The PV buildings ``ids`` as CSV, GeoPackage or GeoJSON bytes.

    GeoPackage and CSV (WKT) keep EPSG:4549; GeoJSON is EPSG:4326 as RFC 7946 requires.
    CSV cells that a spreadsheet would run as formulas are neutralised
    (:func:`layers.io.export.export_bytes`).
    """
    from layers.io.export import export_bytes as encode

    df = store(home, city, version).select_wkb(
        "pv_buildings", [*_PV_COLS, "adopted_yield_kwh_per_yr", "scenario"],
        where={"building_id": list(ids)}, order_by=("-pv_capacity_kwp",))
    geoms = shapely.from_wkb(df.pop("wkb").map(bytes).to_numpy())
    return encode(gpd.GeoDataFrame(df, geometry=geoms, crs=4549), fmt, layer="pv_shortlist")



# -- inspector ---------------------------------------------------------------------------
#: How the inspector may rank a district's buildings: column -> descending (True) or not.
INSPECTOR_RANKS = {"pv_yield_kwh_per_yr": True, "lcoe_cny_per_kwh": False,
                   "specific_yield_kwh_per_kwp": True}
_RANKED_COLS = ("building_id", "pv_capacity_kwp", "pv_yield_kwh_per_yr", "lcoe_cny_per_kwh",
                "specific_yield_kwh_per_kwp")


@st.cache_data(max_entries=32, show_spinner=False)
def pv_ranked(home: str, city: str, version: float, district: str | None, order: str,
              limit: int) -> pd.DataFrame:
    """The best ``limit`` buildings with PV capacity (of ``district``, or the city) by ``order``.

    ``order`` is a key of :data:`INSPECTOR_RANKS` (highest yield first, lowest LCOE first);
    buildings without the ranking value (no capacity, no LCOE) come last. Without
    geometry: ``building_id``, capacity, yield, LCOE and specific yield as the table has them.
    """
    if order not in INSPECTOR_RANKS:
        msg = f"cannot rank buildings by {order!r}: one of {sorted(INSPECTOR_RANKS)}"
        raise CatalogError(msg)
    twin = store(home, city, version)
    have = set(twin.columns("pv_buildings"))
    key = order if order in have else "pv_yield_kwh_per_yr"
    where: dict[str, object] = {"pv_capacity_kwp": Between(low=1e-9)}
    if district:
        where["district_adcode"] = district
    sign = "-" if INSPECTOR_RANKS[key] else ""
    return twin.select("pv_buildings", [c for c in _RANKED_COLS if c in have], where=where,
                       order_by=(f"{sign}{key}", "building_id"), limit=int(limit))


@st.cache_data(max_entries=32, show_spinner=False)
def pv_report_rows(home: str, city: str, version: float,
                   ids: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``pv_buildings`` rows of ``ids`` (in that order) and each building's ``pv_facets`` rows.

    For the report's facet maps the rows carry their footprint (``polygon``, lon/lat rings)
    and the facets their centroid (``lon``, ``lat``) where the catalog has geometry.
    """
    twin = store(home, city, version)
    rows = twin.select("pv_buildings", where={"building_id": list(ids)})
    order = {b: i for i, b in enumerate(ids)}
    rows = rows.iloc[np.argsort([order[b] for b in rows["building_id"]], kind="stable")]
    facets = twin.select("pv_facets", where={"building_id": list(ids)}, order_by=("facet_id",))
    where = {"building_id": tuple(ids)}
    shapes, _ = geo_frame(home, city, version, "pv_buildings", ("building_id",), where=where)
    if "polygon" in shapes and "polygon" not in rows:
        first = shapes.drop_duplicates("building_id")  # a multipart footprint: its first part
        rows = rows.merge(first[["building_id", "polygon"]], on="building_id", how="left")
    points, _ = geo_frame(home, city, version, "pv_facets", ("facet_id",), where=where)
    if {"lon", "lat"} <= set(points.columns) and not {"lon", "lat"} & set(facets.columns):
        facets = facets.merge(points[["facet_id", "lon", "lat"]], on="facet_id", how="left")
    return rows.reset_index(drop=True), {str(b): f for b, f in facets.groupby("building_id")}
