"""A built twin on disk: GeoParquet layers, rasters, and one DuckDB catalog with spatial SQL.

Layout of a twin for one city::

    <home>/<city_id>/
        catalog.duckdb               # one table per layer (geometry column ``geom``),
                                     # plus _layers, _rasters, _meta, targets
        layers/<layer>-<token>.parquet
        rasters/<name>-<token>.tif

The catalog is the single commit point. A write puts new files under fresh
names, then switches every affected table and its ``_layers`` row inside one
DuckDB transaction; only after the commit are the superseded files removed. A
write that fails or is killed therefore leaves the previous catalog and its
files whole (orphaned new files are swept on the next write).

This module is the only code that talks to DuckDB. Readers ask :class:`TwinStore`
for tables, columns, filtered rows (:meth:`TwinStore.select`), geometries as WKB
(:meth:`TwinStore.select_wkb`) and aggregates (:meth:`TwinStore.aggregate`). Every
statement is parameterised: a value (a filter, a limit, a tolerance) only ever
reaches SQL as a bound ``?`` parameter; an identifier (a table or column name) only
after it was found in the catalog, and quoted. Every DuckDB error leaves as a
:class:`~twin.errors.CatalogError` naming the catalog, what failed and the fix; a
catalog another process is writing raises :class:`~twin.errors.CatalogLockedError`.

DuckDB's spatial extension is loaded offline from the ``duckdb-ext-spatial`` wheel.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd

from twin.errors import CatalogError, CatalogLockedError, QueryTimeoutError, SchemaError, listing
from twin.schema import LAYERS

__all__ = [
    "AGGREGATES",
    "RASTER_KINDS",
    "Between",
    "Col",
    "Geom",
    "Pred",
    "TwinStore",
    "connect_spatial",
    "default_home",
    "spatial_extension_dir",
]

logger = logging.getLogger(__name__)

_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Raster layers a twin may hold, with their meaning.
RASTER_KINDS = {
    "landcover_raster": "land-cover classes (source scheme in metadata)",
    "wind_speed": "mean wind speed [m/s] at a hub height (metadata height_m)",
    "dem": "terrain elevation [m]",
    "wind_weibull_a": "Weibull scale A [m/s] at a height (metadata height_m), e.g. Global Wind Atlas",
    "wind_weibull_k": "Weibull shape k [-] at a height (metadata height_m), e.g. Global Wind Atlas",
}

#: Aggregate functions :meth:`TwinStore.aggregate` offers: name -> SQL template (``{}``: the column).
AGGREGATES = {
    "count": "count({})",            # rows (column None) or non-null values of a column
    "count_true": "sum(CAST({} AS INTEGER))",  # true values of a boolean column
    "sum": "sum({})",
    "mean": "avg({})",
    "min": "min({})",
    "max": "max({})",
    "any": "any_value({})",           # one non-null value of the group
}

#: The geometry column of every layer and result table.
GEOM = "geom"


@dataclass(frozen=True)
class Between:
    """A range filter for :meth:`TwinStore.select`: ``low <= column <= high``.

    Parameters
    ----------
    low, high : number or str, optional
        Inclusive bounds; ``None`` leaves that side open.
    """

    low: Any = None
    high: Any = None


Where = Mapping[str, Any]
"""A filter: column -> value (``=``), list/tuple/set (``IN``), :class:`Between` (range) or None (IS NULL)."""


@dataclass(frozen=True)
class Col:
    """A column of the table queried, in a :class:`Pred` (checked against the catalog, then quoted)."""

    name: str


@dataclass(frozen=True)
class Geom:
    """A geometry value in a :class:`Pred`: WKB in the layer's CRS, bound as a parameter."""

    wkb: bytes


#: Operators a :class:`Pred` may use: name -> (number of arguments (-1: any), SQL template).
PRED_OPS: dict[str, tuple[int, str]] = {
    "and": (-1, " AND "), "or": (-1, " OR "), "not": (1, "NOT ({})"),
    "=": (2, "{} = {}"), "<>": (2, "{} <> {}"), "<": (2, "{} < {}"), "<=": (2, "{} <= {}"),
    ">": (2, "{} > {}"), ">=": (2, "{} >= {}"),
    "between": (3, "{} BETWEEN {} AND {}"),
    "like": (2, "{} LIKE {} ESCAPE '\\'"), "ilike": (2, "{} ILIKE {} ESCAPE '\\'"),
    "in": (-1, "{} IN ({})"), "is_null": (1, "{} IS NULL"),
    "intersects": (2, "ST_Intersects({}, {})"), "disjoint": (2, "ST_Disjoint({}, {})"),
    "contains": (2, "ST_Contains({}, {})"), "within": (2, "ST_Within({}, {})"),
    "touches": (2, "ST_Touches({}, {})"), "crosses": (2, "ST_Crosses({}, {})"),
    "overlaps": (2, "ST_Overlaps({}, {})"), "equals": (2, "ST_Equals({}, {})"),
}


@dataclass(frozen=True)
class Pred:
    r"""A boolean filter expression: an operator of :data:`PRED_OPS` over arguments.

    Arguments are :class:`Pred` (for ``and``/``or``/``not``), :class:`Col`, :class:`Geom`
    or plain values (str, number, bool, date), which are bound as ``?`` parameters. A
    query language (CQL2 in :mod:`service.cql`) is translated to this tree; only
    :class:`TwinStore` turns it into SQL, checking every column against the catalog.
    ``like``/``ilike`` patterns use ``%``, ``_`` and the escape character ``\``.
    """

    op: str
    args: tuple[Any, ...] = ()


#: Seconds a writer waits for another writer, and a connection for a busy catalog, by default
#: (``$TWIN_LOCK_TIMEOUT_S`` overrides it).
LOCK_TIMEOUT_S = 300.0
#: First and largest pause between tries while waiting [s].
_POLL_S = (0.05, 1.0)


def lock_timeout_s() -> float:
    """How long writers and readers wait for a busy catalog [s] (``$TWIN_LOCK_TIMEOUT_S``)."""
    raw = os.environ.get("TWIN_LOCK_TIMEOUT_S", "")
    try:
        return max(0.0, float(raw)) if raw.strip() else LOCK_TIMEOUT_S
    except ValueError:
        msg = f"TWIN_LOCK_TIMEOUT_S={raw!r} is not a number of seconds; set e.g. TWIN_LOCK_TIMEOUT_S=300"
        raise CatalogError(msg) from None


@contextmanager
def _write_lock(path: Path, *, city: str, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a file beside the catalog): one writer at a time.

    ``fcntl.flock`` on a lock file: the kernel releases it when the holder exits or is
    killed, so a crashed writer never leaves the twin locked. Waits up to ``timeout_s``.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: DuckDB's own file lock still guards
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        start = time.monotonic()
        pause = _POLL_S[0]
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= timeout_s:
                    msg = (f"the twin of {city!r} is being written by another process (lock {path}) "
                           f"and stayed so for {waited:.0f} s; let that command finish and run this one "
                           "again, or wait longer with TWIN_LOCK_TIMEOUT_S=SECONDS")
                    raise CatalogLockedError(msg) from None
                if pause == _POLL_S[0]:
                    logger.info("the twin of %s is being written by another process; waiting", city)
                time.sleep(min(pause, max(0.0, timeout_s - waited)))
                pause = min(pause * 2, _POLL_S[1])
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def default_home() -> Path:
    """Where twins live: ``$TWIN_HOME`` or ``./twin-data``."""
    return Path(os.environ.get("TWIN_HOME", "twin-data")).resolve()


def spatial_extension_dir() -> str:
    """Folder holding DuckDB extensions shipped by the ``duckdb-ext-spatial`` wheel."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        msg = (
            "DuckDB's spatial extension is not installed; install it with "
            "`pip install duckdb==1.4.4 duckdb-ext-spatial` (INSTALL spatial needs the internet)"
        )
        raise CatalogError(msg)
    return os.path.join(next(iter(spec.submodule_search_locations)), "extensions")


def _one_line(exc: BaseException) -> str:
    """A DuckDB message on one line (they span several, with a caret under the SQL)."""
    return " ".join(str(exc).split())


def _open_error(path: str | os.PathLike, exc: duckdb.Error, read_only: bool, city: str | None
                ) -> CatalogError:
    """The project's error for a catalog DuckDB could not open: locked/busy, or not a catalog."""
    mode = "read" if read_only else "write"
    text = _one_line(exc)
    if isinstance(exc, duckdb.ConnectionException):
        msg = (f"the twin catalog {path} is locked/busy: this process already holds it open in "
               f"another mode, so it cannot be opened to {mode} now. Close that connection first "
               "(TwinStore.close, or the map app's 'Reload the twin' button), then try again. "
               f"(DuckDB: {text})")
        err = CatalogLockedError(msg)
        err.in_process = True
        return err
    if "lock" in text.lower():
        msg = (f"the twin catalog {path} is locked/busy: another process is writing it (a `twin` "
               "command) or holds it open (a running map app: its 'Reload the twin' button releases "
               f"it), so it cannot be opened to {mode} now. Let that finish or close it, then try "
               f"again. (DuckDB: {text})")
        return CatalogLockedError(msg)
    rebuild = f"`twin demo --city {city}`" if city else "`twin demo --city <city>`"
    msg = (f"cannot open the twin catalog {path} to {mode}: it is not a readable DuckDB catalog "
           f"(corrupted, truncated or written by another DuckDB version). Delete the file and "
           f"rebuild the twin with {rebuild}. (DuckDB: {text})")
    return CatalogError(msg)


def connect_spatial(path: str | os.PathLike = ":memory:", *, read_only: bool = False,
                    city: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the spatial extension loaded offline.

    Parameters
    ----------
    path : path-like
        The database file (default: an in-memory database).
    read_only : bool
        Open read-only (many readers may share a file; a writer excludes everyone).
    city : str, optional
        The city the catalog belongs to, named in error messages.

    Returns
    -------
    duckdb.DuckDBPyConnection
        The connection (use it as a context manager).

    Raises
    ------
    CatalogLockedError
        Another process is writing the file or holds it open.
    CatalogError
        The file is not a readable DuckDB database, or the spatial extension does not load.
    """
    try:
        con = duckdb.connect(str(path), read_only=read_only, config={
            "extension_directory": spatial_extension_dir(),
            # bounded, spilling to disk beside the catalog, so a city-sized commit fits any laptop
            "memory_limit": os.environ.get("TWIN_DUCKDB_MEMORY", "2GB"),
        })
    except duckdb.Error as exc:
        raise _open_error(path, exc, read_only, city) from None
    try:
        con.execute("LOAD spatial")
    except duckdb.Error as exc:
        con.close()
        msg = (f"cannot load DuckDB's spatial extension for {path} ({_one_line(exc)}); reinstall it with "
               "`pip install duckdb==1.4.4 duckdb-ext-spatial` (INSTALL spatial needs the internet)")
        raise CatalogError(msg) from None
    return con


def _quote(ident: str) -> str:
    """An identifier quoted for SQL (only ever called on names found in the catalog)."""
    return '"' + ident.replace('"', '""') + '"'


def _param(value: Any) -> Any:
    """A filter value as DuckDB binds it (numpy scalars become Python scalars)."""
    return value.item() if isinstance(value, np.generic) else value


def _count(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> int:
    """The single number a ``SELECT count(*)`` statement returns."""
    row = cur.execute(sql, list(params)).fetchone()
    return int(row[0]) if row is not None else 0


class _Watchdog:
    """One daemon thread that calls each armed callback at its deadline unless disarmed first.

    Query time limits use it instead of a :class:`threading.Timer` (a new thread) per query,
    which costs a served request more CPU than a small query itself.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._calls: dict[int, Any] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def arm(self, delay_s: float, call: Any) -> int:
        """Call ``call()`` after ``delay_s`` [s]; the token disarms it."""
        import heapq

        with self._cond:
            self._next += 1
            token = self._next
            self._calls[token] = call
            heapq.heappush(self._heap, (time.monotonic() + delay_s, token))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="twin-query-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        return token

    def disarm(self, token: int) -> None:
        """Forget the callback of ``token`` (nothing happens when it already ran)."""
        with self._cond:
            self._calls.pop(token, None)

    def _run(self) -> None:
        import heapq

        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._calls:
                    heapq.heappop(self._heap)  # disarmed
                if not self._heap:
                    self._cond.wait()
                    continue
                due, token = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                call = self._calls.pop(token, None)
            if call is not None:
                try:
                    call()
                except Exception:  # an interrupt of a closed cursor: the query is over anyway
                    logger.debug("query time limit callback failed", exc_info=True)


_WATCHDOG = _Watchdog()


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _ID_RE.match(name):
        msg = f"{what} {name!r} is not a valid name (lowercase letters, digits, underscore)"
        raise CatalogError(msg)
    return name


class _FrameInfo:
    """Registry facts of a frame being committed."""

    def __init__(self, gdf: gpd.GeoDataFrame):
        self.gdf = gdf

    def crs_string(self) -> str:
        return self.gdf.crs.to_string()

    def n_rows(self, con: duckdb.DuckDBPyConnection, table: str) -> int:
        return len(self.gdf)

    def n_synthetic(self, con: duckdb.DuckDBPyConnection, table: str) -> int:
        return int(self.gdf["is_synthetic"].sum()) if "is_synthetic" in self.gdf.columns else 0

    def sources(self, con: duckdb.DuckDBPyConnection, table: str) -> str:
        if "source" not in self.gdf.columns:
            return ""
        return "; ".join(sorted(self.gdf["source"].astype(str).unique())[:5])


class _ParquetInfo:
    """Registry facts of a GeoParquet file being committed, read from its table."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq
        import pyproj

        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        crs = geo["columns"][geo["primary_column"]].get("crs")
        self.crs = pyproj.CRS.from_json_dict(crs).to_string() if crs else "OGC:CRS84"
        self.columns = set(pq.read_schema(path).names)

    def crs_string(self) -> str:
        return self.crs

    def n_rows(self, con: duckdb.DuckDBPyConnection, table: str) -> int:
        return _count(con, f'SELECT count(*) FROM "{table}"')

    def n_synthetic(self, con: duckdb.DuckDBPyConnection, table: str) -> int:
        if "is_synthetic" not in self.columns:
            return 0
        return _count(con, f'SELECT coalesce(sum(is_synthetic::INT), 0) FROM "{table}"')

    def sources(self, con: duckdb.DuckDBPyConnection, table: str) -> str:
        if "source" not in self.columns:
            return ""
        rows = con.execute(f'SELECT DISTINCT source FROM "{table}" ORDER BY 1 LIMIT 5').fetchall()
        return "; ".join(str(r[0]) for r in rows)


class TwinStore:
    """The on-disk twin of one city, and the only door to its DuckDB catalog.

    Parameters
    ----------
    city_id : str
        City identifier (``hangzhou``, ``huzhou``, ...); lowercase ASCII only,
        so it is safe as a folder name.
    home : path-like, optional
        Folder holding twins (default :func:`default_home`).

    Notes
    -----
    Each read opens the catalog read-only and closes it again, unless :meth:`hold`
    keeps one read-only connection open (the map app does, per catalog version): then
    every read runs on its own cursor of that connection, which is safe from many
    threads, until :meth:`close`.
    """

    def __init__(self, city_id: str, home: str | os.PathLike | None = None, *,
                 lock_wait_s: float | None = None):
        self.city_id = _check_name(city_id, "city id")
        #: How long :meth:`connect` waits for a catalog another process holds [s]
        #: (None: :func:`lock_timeout_s`); an interactive reader (the map app) waits less.
        self.lock_wait_s = lock_wait_s
        self.home = Path(home).resolve() if home is not None else default_home()
        self.root = self.home / self.city_id
        self.catalog_path = self.root / "catalog.duckdb"
        #: Lock file held by the one process writing the twin (:meth:`commit`).
        self.lock_path = self.root / "catalog.duckdb.lock"
        self._held: duckdb.DuckDBPyConnection | None = None
        self._schema_cache: dict[str, tuple[str, ...]] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TwinStore({self.city_id!r}, {str(self.home)!r})"

    # -- connections ---------------------------------------------------------------------
    def hold(self) -> TwinStore:
        """Keep one read-only connection open for the reads that follow, until :meth:`close`.

        Returns
        -------
        TwinStore
            This store (so ``store = TwinStore(city).hold()`` reads well); usable as a
            context manager that closes it.

        Raises
        ------
        CatalogError
            No built twin, or the catalog cannot be opened (:class:`CatalogLockedError`
            when another process is writing it).
        """
        with self._lock:
            if self._held is None:
                self._held = self.connect(read_only=True)
                self._schema_cache = None
        return self

    def close(self) -> None:
        """Close the connection :meth:`hold` opened (nothing happens when none is open)."""
        with self._lock:
            con, self._held, self._schema_cache = self._held, None, None
        if con is not None:
            try:
                con.close()
            except duckdb.Error:
                logger.debug("catalog connection of %s already closed", self.city_id)

    def __enter__(self) -> TwinStore:
        return self.hold()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """Open the catalog with spatial loaded: a raw connection, for the commit path and tests.

        Readers use the query methods (:meth:`select`, :meth:`select_wkb`, ...), which
        validate names and bind every value. Use the connection as a context manager.

        Raises
        ------
        CatalogError
            Reading a twin that was never built (the message says how to build it), or a
            catalog that is not a DuckDB database; :class:`CatalogLockedError` when another
            process is writing it.
        """
        if read_only and not self.catalog_path.exists():
            raise CatalogError(self._missing_message())
        self.root.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        pause = _POLL_S[0]
        while True:
            try:
                return connect_spatial(self.catalog_path, read_only=read_only, city=self.city_id)
            except CatalogLockedError as exc:
                # Another process holds DuckDB's file lock (a commit, or a reader while we
                # write): it lets go within a commit's time, so wait rather than fail at once.
                # A conflict inside this process (ConnectionException) would never clear.
                waited = time.monotonic() - start
                limit = self.lock_wait_s if self.lock_wait_s is not None else lock_timeout_s()
                if exc.in_process or waited >= limit:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, _POLL_S[1])

    @contextmanager
    def _cursor(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only cursor (of the held connection, or of one opened for this read).

        Any DuckDB error raised inside becomes a :class:`CatalogError` saying ``what`` failed.
        """
        held = self._held
        try:
            if held is not None:
                cur = held.cursor()
                try:
                    yield cur
                finally:
                    cur.close()
            else:
                with self.connect(read_only=True) as con:
                    yield con
        except duckdb.Error as exc:
            raise self._read_error(what, exc) from exc

    def _read_error(self, what: str, exc: duckdb.Error) -> CatalogError:
        if isinstance(exc, duckdb.ConnectionException | duckdb.IOException) and "lock" in str(exc).lower():
            return _open_error(self.catalog_path, exc, True, self.city_id)
        msg = (f"reading {what} from the twin of {self.city_id!r} ({self.catalog_path}) failed: "
               f"{type(exc).__name__}: {_one_line(exc)}. The catalog is older than this code or "
               f"half-written; rebuild it with `twin demo --city {self.city_id}` (and rerun the engines).")
        return CatalogError(msg)

    def _missing_message(self) -> str:
        return (f"no built twin for {self.city_id!r} at {self.root}; build it with "
                f"`twin demo --city {self.city_id}` (or set TWIN_HOME to where it was built)")

    # -- state ---------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the twin is built: its catalog file exists and lists at least one layer.

        Raises
        ------
        CatalogError
            The catalog exists but cannot be read: :class:`CatalogLockedError` while
            another process writes it (a busy twin is not a missing one), or a corrupted file.
        """
        if not self.catalog_path.exists():
            return False
        with self._cursor("the layer registry _layers") as cur:
            if "_layers" not in self._schema(cur):
                return False
            return bool(_count(cur, "SELECT count(*) FROM _layers"))

    def require(self) -> None:
        """Raise a :class:`CatalogError` that says how to build the twin when it is missing."""
        if not self.exists():
            raise CatalogError(self._missing_message())

    # -- writing -------------------------------------------------------------------------
    @staticmethod
    def _init(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS _layers (name VARCHAR PRIMARY KEY, kind VARCHAR, "
            "path VARCHAR, crs VARCHAR, n_rows BIGINT, n_synthetic BIGINT, source VARCHAR, "
            "updated_at TIMESTAMP)"
        )
        con.execute(
            "CREATE TABLE IF NOT EXISTS _rasters (name VARCHAR PRIMARY KEY, path VARCHAR, "
            "crs VARCHAR, width BIGINT, height BIGINT, res_x DOUBLE, res_y DOUBLE, "
            "meta JSON, is_synthetic BOOLEAN, source VARCHAR, updated_at TIMESTAMP)"
        )
        con.execute("CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value JSON)")

    def commit(
        self,
        layers: dict[str, gpd.GeoDataFrame] | None = None,
        *,
        results: dict[str, gpd.GeoDataFrame | str | os.PathLike] | None = None,
        rasters: dict[str, dict[str, Any]] | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
        meta: dict[str, Any] | None = None,
        replace_all: bool = False,
    ) -> None:
        """Write layers, rasters, plain tables and metadata in one atomic step.

        Parameters
        ----------
        layers : dict of str to GeoDataFrame
            Schema-conformant vector layers (see :func:`layers.conform.conform_layer`),
            each replacing the layer of that name.
        results : dict of str to GeoDataFrame or path
            Engine outputs with geometry (e.g. ``pv_buildings``), stored like layers
            (GeoParquet + a catalog table with ``geom``) with kind ``result``. Names
            must not clash with schema layers; columns should carry ``is_synthetic``
            when any input was synthetic. A path names a GeoParquet file already
            written (geometry column ``geometry``); it is copied in, so callers need
            not hold big results in memory.
        rasters : dict of str to dict
            Raster name (a key of :data:`RASTER_KINDS`) -> ``{"path": file, "meta": {...},
            "is_synthetic": bool, "source": str}``; the file is copied into the twin.
        tables : dict of str to DataFrame
            Plain tables (e.g. ``targets``) created or replaced as they are.
        meta : dict
            Key -> JSON-serialisable value, upserted into ``_meta``.
        replace_all : bool
            Drop layers not in ``layers`` (a full rebuild).

        Raises
        ------
        SchemaError
            An unknown layer or raster name.
        CatalogError
            A bad result or table name, or DuckDB failed (the previous twin stays whole);
            :class:`CatalogLockedError` when another process holds the catalog.
        """
        layers = layers or {}
        results = results or {}
        rasters = rasters or {}
        tables = tables or {}
        for name in layers:
            if name not in LAYERS:
                msg = f"unknown layer {name!r}; layers are {', '.join(LAYERS)}"
                raise SchemaError(msg)
        for name, gdf in results.items():
            _check_name(name, "result name")
            if name in LAYERS or name in RASTER_KINDS or name in tables:
                msg = f"result name {name!r} clashes with a layer, raster or table of that name"
                raise CatalogError(msg)
            if isinstance(gdf, str | os.PathLike):
                if not Path(gdf).is_file():
                    msg = f"result {name!r}: no GeoParquet file at {gdf}"
                    raise CatalogError(msg)
            elif not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
                msg = f"result {name!r} must be a GeoDataFrame with a CRS (plain tables go in tables=)"
                raise CatalogError(msg)
        for name in rasters:
            if name not in RASTER_KINDS:
                msg = f"unknown raster {name!r}; rasters are {', '.join(RASTER_KINDS)}"
                raise SchemaError(msg)
        for name in tables:
            _check_name(name, "table name")
            if name in LAYERS or name.startswith("_"):
                msg = f"table name {name!r} is reserved"
                raise CatalogError(msg)

        (self.root / "layers").mkdir(parents=True, exist_ok=True)
        (self.root / "rasters").mkdir(parents=True, exist_ok=True)
        # One writer at a time, from staging to sweep: no other writer's sweep can delete
        # the files staged here, and no commit silently overwrites one in flight.
        with _write_lock(self.lock_path, city=self.city_id, timeout_s=lock_timeout_s()):
            self._commit_locked(layers, results, rasters, tables, meta, replace_all)

    def _commit_locked(self, layers: dict[str, gpd.GeoDataFrame],
                       results: dict[str, gpd.GeoDataFrame | str | os.PathLike],
                       rasters: dict[str, dict[str, Any]], tables: dict[str, pd.DataFrame],
                       meta: dict[str, Any] | None, replace_all: bool) -> None:
        token = uuid.uuid4().hex[:10]
        new_files: list[Path] = []
        try:
            staged: dict[str, tuple[Path, _FrameInfo | _ParquetInfo, str]] = {}
            for kind, frames in (("vector", layers), ("result", results)):
                for name, gdf in frames.items():
                    path = self.root / "layers" / f"{name}-{token}.parquet"
                    new_files.append(path)
                    if isinstance(gdf, str | os.PathLike):
                        shutil.copyfile(gdf, path)
                        staged[name] = (path, _ParquetInfo(path), kind)
                        continue
                    gdf = gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
                    gdf.to_parquet(path, index=False, schema_version="1.1.0")
                    staged[name] = (path, _FrameInfo(gdf), kind)
            staged_r = {}
            for name, spec in rasters.items():
                src = Path(spec["path"])
                path = self.root / "rasters" / f"{name}-{token}{src.suffix or '.tif'}"
                new_files.append(path)
                shutil.copyfile(src, path)
                staged_r[name] = (path, spec)
            old_files = self._switch(staged, staged_r, tables, meta or {}, replace_all)
        except BaseException as exc:
            for path in new_files:
                path.unlink(missing_ok=True)
            if isinstance(exc, duckdb.Error):
                msg = (f"writing the twin of {self.city_id!r} to {self.catalog_path} failed: "
                       f"{type(exc).__name__}: {_one_line(exc)}. Nothing was changed (the previous "
                       "twin is whole). Free disk space or raise TWIN_DUCKDB_MEMORY if DuckDB ran "
                       "out of either, then rerun the command.")
                raise CatalogError(msg) from exc
            raise
        for path in old_files:
            path.unlink(missing_ok=True)
        self._sweep()

    def _switch(self, staged: dict[str, tuple[Path, _FrameInfo | _ParquetInfo, str]],
                staged_r: dict[str, tuple[Path, dict[str, Any]]], tables: dict[str, pd.DataFrame],
                meta: dict[str, Any], replace_all: bool) -> list[Path]:
        import rasterio

        now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
        old: list[Path] = []
        with self.connect(read_only=False) as con:
            self._init(con)
            con.execute("BEGIN TRANSACTION")
            try:
                current = dict(con.execute("SELECT name, path FROM _layers").fetchall())
                if replace_all:  # a rebuild drops every layer and result it does not rewrite
                    for name in set(current) - set(staged):
                        con.execute(f'DROP TABLE IF EXISTS "{_check_name(name, "layer")}"')
                        con.execute("DELETE FROM _layers WHERE name = ?", [name])
                        old.append(self.root / current[name])
                for name, (path, gdf, kind) in staged.items():
                    con.execute(
                        f'CREATE OR REPLACE TABLE "{name}" AS SELECT * EXCLUDE (geometry), '
                        "geometry AS geom FROM read_parquet(?)",
                        [str(path)],
                    )
                    if name in current:
                        old.append(self.root / current[name])
                    con.execute("DELETE FROM _layers WHERE name = ?", [name])
                    info = gdf
                    con.execute(
                        "INSERT INTO _layers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [name, kind, str(path.relative_to(self.root)), info.crs_string(),
                         info.n_rows(con, name), info.n_synthetic(con, name), info.sources(con, name),
                         now],
                    )
                current_r = dict(con.execute("SELECT name, path FROM _rasters").fetchall())
                for name, (path, spec) in staged_r.items():
                    with rasterio.open(path) as src:
                        crs = src.crs.to_string() if src.crs else ""
                        dims = [src.width, src.height, src.res[0], src.res[1]]
                    if name in current_r:
                        old.append(self.root / current_r[name])
                    con.execute("DELETE FROM _rasters WHERE name = ?", [name])
                    con.execute(
                        "INSERT INTO _rasters VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [name, str(path.relative_to(self.root)), crs, *dims,
                         json.dumps(spec.get("meta", {}), ensure_ascii=False),
                         bool(spec.get("is_synthetic", False)), spec.get("source", ""), now],
                    )
                for name, df in tables.items():
                    con.register("_incoming", df)
                    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _incoming')
                    con.unregister("_incoming")
                for key, value in meta.items():
                    con.execute("DELETE FROM _meta WHERE key = ?", [key])
                    con.execute("INSERT INTO _meta VALUES (?, ?)",
                                [key, json.dumps(value, ensure_ascii=False, default=str)])
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:  # the connection is gone: nothing was committed
                    logger.debug("rollback of a failed commit to %s failed", self.catalog_path)
                raise
        return old

    def _sweep(self) -> None:
        """Remove files no catalog row points to (left by a killed write).

        Runs only inside :meth:`commit`, under the write lock: no other writer is
        staging files then, so only a dead writer's leftovers are removed.
        """
        try:
            with self.connect(read_only=True) as con:
                live = {r[0] for r in con.execute("SELECT path FROM _layers").fetchall()}
                live |= {r[0] for r in con.execute("SELECT path FROM _rasters").fetchall()}
        except (CatalogError, duckdb.Error):
            return
        for sub in ("layers", "rasters"):
            for path in (self.root / sub).glob("*"):
                if str(path.relative_to(self.root)) not in live:
                    path.unlink(missing_ok=True)

    # -- the registry ------------------------------------------------------------------
    def layers(self) -> pd.DataFrame:
        """The ``_layers`` table: name, kind, path, crs, n_rows, n_synthetic, source, updated_at."""
        self.require()
        with self._cursor("the layer registry _layers") as cur:
            return cur.execute("SELECT * FROM _layers ORDER BY name").df()

    def rasters(self) -> pd.DataFrame:
        """The ``_rasters`` table: name, path, crs, width, height, res_x, res_y, meta, source, ..."""
        self.require()
        with self._cursor("the raster registry _rasters") as cur:
            return cur.execute("SELECT * FROM _rasters ORDER BY name").df()

    def meta(self) -> dict[str, Any]:
        """All ``_meta`` entries, decoded from JSON."""
        self.require()
        with self._cursor("the metadata _meta") as cur:
            return {k: json.loads(v) for k, v in cur.execute("SELECT key, value FROM _meta").fetchall()}

    def table(self, name: str) -> pd.DataFrame:
        """A whole table (e.g. ``targets``) as a DataFrame, ``geom`` included as raw bytes."""
        _check_name(name, "table name")
        self.require()
        with self._cursor(f"table {name!r}") as cur:
            self._table(cur, name)
            return cur.execute(f"SELECT * FROM {_quote(name)}").df()

    def layer_path(self, name: str) -> Path:
        """Path of the current GeoParquet file of a layer."""
        self.require()
        with self._cursor(f"the registry row of layer {name!r}") as cur:
            row = cur.execute("SELECT path FROM _layers WHERE name = ?", [name]).fetchone()
        if row is None:
            have = ", ".join(self.layers()["name"])
            msg = f"the twin of {self.city_id!r} has no layer {name!r}; it has {have}"
            raise CatalogError(msg)
        return self.root / row[0]

    def raster_path(self, name: str) -> tuple[Path, dict[str, Any]]:
        """Path and metadata of a raster layer."""
        self.require()
        with self._cursor(f"the registry row of raster {name!r}") as cur:
            row = cur.execute("SELECT path, meta FROM _rasters WHERE name = ?", [name]).fetchone()
        if row is None:
            msg = f"the twin of {self.city_id!r} has no raster {name!r}; import one with `twin import`"
            raise CatalogError(msg)
        return self.root / row[0], json.loads(row[1])

    def has_layer(self, name: str) -> bool:
        """Whether the twin holds vector layer ``name``."""
        self.require()
        with self._cursor(f"the registry row of layer {name!r}") as cur:
            return _count(cur, "SELECT count(*) FROM _layers WHERE name = ?", [name]) > 0

    # -- queries -------------------------------------------------------------------------
    def _schema(self, cur: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
        """Every table of the catalog with its columns in order (kept while :meth:`hold` holds)."""
        cached = self._schema_cache
        if cached is not None and self._held is not None:
            return cached
        names = [r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "ORDER BY 1").fetchall()]
        schema: dict[str, list[str]] = {n: [] for n in names}
        for table, column in cur.execute(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE database_name = current_database() ORDER BY table_name, column_index").fetchall():
            if table in schema:
                schema[table].append(column)
        out = {n: tuple(c) for n, c in schema.items()}
        if self._held is not None:
            self._schema_cache = out
        return out

    def _table(self, cur: duckdb.DuckDBPyConnection, name: str) -> tuple[str, ...]:
        """The columns of table ``name``, after checking the name is a table of the catalog."""
        if not isinstance(name, str) or not _ID_RE.match(name):
            msg = (f"table name {name!r} is not a valid name (lowercase letters, digits, underscore) "
                   f"in the twin of {self.city_id!r}; pass the name of one of its tables")
            raise CatalogError(msg)
        schema = self._schema(cur)
        if name not in schema:
            have = listing(n for n in schema if not n.startswith("_"))
            msg = (f"the twin of {self.city_id!r} ({self.catalog_path}) has no table {name!r}; "
                   f"it has {have}. Compute it with the engine that writes it, or rebuild with "
                   f"`twin demo --city {self.city_id}`")
            raise CatalogError(msg)
        return schema[name]

    def _column(self, table: str, have: tuple[str, ...], column: str, *, geometry: bool = False) -> str:
        """``column`` quoted, after checking table ``table`` (columns ``have``) has it."""
        if not isinstance(column, str) or column not in have:
            shown = listing(c for c in have if c != GEOM)
            msg = (f"table {table!r} of the twin of {self.city_id!r} has no column {column!r}; "
                   f"its columns are {shown}")
            raise CatalogError(msg)
        if column == GEOM and not geometry:
            msg = (f"column {column!r} of table {table!r} is a geometry: read it with "
                   "TwinStore.select_wkb (or read_layer)")
            raise CatalogError(msg)
        return _quote(column)

    def _where(self, table: str, have: tuple[str, ...], where: Where | None,
               bbox: Sequence[float] | None = None, pred: Pred | None = None) -> tuple[str, list[Any]]:
        """`` WHERE ...`` and its parameters: every value bound, every column checked."""
        parts: list[str] = []
        params: list[Any] = []
        for column, value in (where or {}).items():
            col = self._column(table, have, column)
            if value is None:
                parts.append(f"{col} IS NULL")
            elif isinstance(value, Between):
                if value.low is not None:
                    parts.append(f"{col} >= ?")
                    params.append(_param(value.low))
                if value.high is not None:
                    parts.append(f"{col} <= ?")
                    params.append(_param(value.high))
            elif isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Index | pd.Series):
                values = [_param(v) for v in value]
                if values:
                    parts.append(f"{col} IN ({', '.join('?' * len(values))})")
                    params += values
                else:
                    parts.append("FALSE")
            elif isinstance(value, str | int | float | np.generic | _dt.date):
                parts.append(f"{col} = ?")
                params.append(_param(value))
            else:
                msg = (f"filter on column {column!r} of table {table!r}: {type(value).__name__} "
                       "is not a filter; use a value, a list of values, Between(low, high) or None")
                raise CatalogError(msg)
        if bbox is not None:
            self._column(table, have, GEOM, geometry=True)
            box = [float(v) for v in bbox]
            if len(box) != 4:
                msg = f"bbox {bbox!r} must be (minx, miny, maxx, maxy) in the layer's CRS"
                raise CatalogError(msg)
            parts.append(f"ST_Intersects({GEOM}, ST_MakeEnvelope(?, ?, ?, ?))")
            params += box
        if pred is not None:
            parts.append(self._pred(table, have, pred, params))
        return (" WHERE " + " AND ".join(parts) if parts else ""), params

    def _pred(self, table: str, have: tuple[str, ...], pred: Any, params: list[Any]) -> str:
        """SQL of a :class:`Pred` argument, its values appended to ``params`` (in order)."""
        if isinstance(pred, Col):
            return self._column(table, have, pred.name, geometry=True)
        if isinstance(pred, Geom):
            params.append(bytes(pred.wkb))
            return "ST_GeomFromWKB(?)"
        if not isinstance(pred, Pred):
            if isinstance(pred, str | int | float | bool | np.generic | _dt.date):
                params.append(_param(pred))
                return "?"
            msg = f"filter on table {table!r}: {type(pred).__name__} is not a value, Col, Geom or Pred"
            raise CatalogError(msg)
        spec = PRED_OPS.get(pred.op)
        if spec is None:
            msg = f"filter on table {table!r}: unknown operator {pred.op!r}; use one of {', '.join(PRED_OPS)}"
            raise CatalogError(msg)
        arity, template = spec
        if (arity >= 0 and len(pred.args) != arity) or len(pred.args) < (2 if pred.op == "in" else 1):
            msg = f"filter on table {table!r}: operator {pred.op!r} got {len(pred.args)} arguments"
            raise CatalogError(msg)
        if pred.op in ("and", "or"):
            return "(" + template.join(self._pred(table, have, a, params) for a in pred.args) + ")"
        if pred.op == "in":
            head = self._pred(table, have, pred.args[0], params)
            rest = ", ".join(self._pred(table, have, a, params) for a in pred.args[1:])
            return "(" + template.format(head, rest) + ")"
        return "(" + template.format(*(self._pred(table, have, a, params) for a in pred.args)) + ")"

    @contextmanager
    def _time_limit(self, cur: duckdb.DuckDBPyConnection, timeout_s: float | None, what: str
                    ) -> Iterator[None]:
        """Interrupt the statement running on ``cur`` after ``timeout_s`` [s] (None: no limit)."""
        if timeout_s is None:
            yield
            return
        token = _WATCHDOG.arm(float(timeout_s), cur.interrupt)
        try:
            yield
        except duckdb.InterruptException as exc:
            msg = (f"{what} of the twin of {self.city_id!r} ran longer than {timeout_s:g} s and was "
                   "stopped; narrow it (a bbox, a filter, a smaller page)")
            raise QueryTimeoutError(msg) from exc
        finally:
            _WATCHDOG.disarm(token)

    def _order_limit(self, table: str, have: tuple[str, ...], order_by: Sequence[str],
                     limit: int | None, offset: int | None) -> tuple[str, list[Any]]:
        """`` ORDER BY ... LIMIT ? OFFSET ?`` and its parameters."""
        if isinstance(order_by, str):
            order_by = (order_by,)
        keys = [self._column(table, have, o[1:]) + " DESC" if o.startswith("-")
                else self._column(table, have, o) for o in order_by]
        sql = " ORDER BY " + ", ".join(keys) if keys else ""
        params: list[Any] = []
        for word, n in (("LIMIT", limit), ("OFFSET", offset)):
            if n is None:
                continue
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
                msg = f"{word.lower()} {n!r} for table {table!r} must be a whole number >= 0"
                raise CatalogError(msg)
            sql += f" {word} ?"
            params.append(int(n))
        return sql, params

    def tables(self) -> tuple[str, ...]:
        """Names of every table in the catalog, sorted (``_layers``, ``_meta``, ... included)."""
        with self._cursor("the list of tables") as cur:
            return tuple(self._schema(cur))

    def columns(self, name: str) -> tuple[str, ...]:
        """Column names of table ``name`` in their stored order (``geom`` included).

        Raises
        ------
        CatalogError
            ``name`` is not a table of the catalog.
        """
        with self._cursor(f"the columns of {name!r}") as cur:
            return self._table(cur, name)

    def select(self, name: str, columns: Sequence[str] | None = None, *, where: Where | None = None,
               order_by: Sequence[str] = (), limit: int | None = None,
               offset: int | None = None) -> pd.DataFrame:
        """Rows of a table, filtered, ordered and limited, without geometry.

        Parameters
        ----------
        name : str
            A table of the catalog (a layer, an engine result or a plain table).
        columns : sequence of str, optional
            Columns to return (default: every column but ``geom``).
        where : mapping, optional
            Column -> filter, all of which must hold: a value (``=``), a list, tuple or set
            (``IN``; empty matches nothing), a :class:`Between` (inclusive range) or ``None``
            (``IS NULL``). Values are bound as parameters, never written into SQL.
        order_by : sequence of str
            Columns to sort by; a leading ``-`` sorts that column descending.
        limit, offset : int, optional
            Most rows returned, and rows skipped first.

        Returns
        -------
        DataFrame
            The rows, columns in the order asked.

        Raises
        ------
        CatalogError
            An unknown table or column (named in the message), a bad filter, or DuckDB failed.
        """
        with self._cursor(f"table {name!r}") as cur:
            have = self._table(cur, name)
            cols = [c for c in have if c != GEOM] if columns is None else list(columns)
            sel = ", ".join(self._column(name, have, c) for c in cols) or "NULL AS _none"
            cond, params = self._where(name, have, where)
            tail, more = self._order_limit(name, have, order_by, limit, offset)
            df = cur.execute(f"SELECT {sel} FROM {_quote(name)}{cond}{tail}", params + more).df()
        return df if cols else df.iloc[:, :0]

    def count(self, name: str, *, where: Where | None = None,
              bbox: Sequence[float] | None = None, pred: Pred | None = None,
              timeout_s: float | None = None) -> int:
        """How many rows of table ``name`` match ``where`` (and intersect ``bbox``); see :meth:`select`.

        ``pred`` and ``timeout_s`` are as for :meth:`select_wkb`.
        """
        with self._cursor(f"the row count of {name!r}") as cur:
            have = self._table(cur, name)
            cond, params = self._where(name, have, where, bbox, pred)
            with self._time_limit(cur, timeout_s, f"counting rows of {name!r}"):
                return _count(cur, f"SELECT count(*) FROM {_quote(name)}{cond}", params)

    def rowids(self, name: str, *, where: Where | None = None, bbox: Sequence[float] | None = None,
               pred: Pred | None = None, order_by: Sequence[str] = (),
               timeout_s: float | None = None) -> np.ndarray:
        """The row ids of the rows matching a filter, in ``order_by`` order (else storage order).

        One scan answers both how many rows match (the length) and which rows a page holds,
        read later with ``select_wkb(name, rowids=...)``; row ids are stable while the
        catalog is not rewritten (a read-only catalog). Arguments as for :meth:`select_wkb`.

        Returns
        -------
        ndarray of int64
            DuckDB's ``rowid`` of each matching row.

        Raises
        ------
        CatalogError
            An unknown table or column, a table with a column named ``rowid``, or DuckDB failed.
        """
        with self._cursor(f"the row ids of {name!r}") as cur:
            have = self._table(cur, name)
            if "rowid" in have:
                msg = f"table {name!r} has a column named 'rowid', which hides DuckDB's row id; rename it"
                raise CatalogError(msg)
            cond, params = self._where(name, have, where, bbox, pred)
            tail, more = self._order_limit(name, have, order_by, None, None)
            with self._time_limit(cur, timeout_s, f"finding rows of {name!r}"):
                got = cur.execute(f"SELECT rowid AS r FROM {_quote(name)}{cond}{tail}",
                                  params + more).fetchnumpy()["r"]
        return np.asarray(got, dtype=np.int64)

    def select_wkb(self, name: str, columns: Sequence[str] = (), *, where: Where | None = None,
                   bbox: Sequence[float] | None = None, simplify_m: float = 0.0,
                   order_by: Sequence[str] = (), limit: int | None = None,
                   offset: int | None = None, pred: Pred | None = None,
                   timeout_s: float | None = None, rowids: Sequence[int] | None = None) -> pd.DataFrame:
        """Rows of a layer or result with their geometry as WKB, in the layer's CRS.

        Parameters
        ----------
        name : str
            A table with a ``geom`` column.
        columns : sequence of str
            Attribute columns returned beside ``wkb``.
        where, order_by, limit, offset
            As for :meth:`select`.
        bbox : sequence of 4 float, optional
            Only rows whose geometry intersects ``(minx, miny, maxx, maxy)`` (layer CRS).
        simplify_m : float
            Simplify each geometry, preserving topology, with this tolerance [m] (0: none).
        pred : Pred, optional
            A further filter expression (a tree of :class:`Pred`), all values bound.
        timeout_s : float, optional
            Stop the query after this long [s] with :class:`~twin.errors.QueryTimeoutError`.
        rowids : sequence of int, optional
            Only the rows with these row ids (from :meth:`rowids`), in the order given
            unless ``order_by`` is given; other filters still apply.

        Returns
        -------
        DataFrame
            ``columns`` and ``wkb`` (bytes; None for a missing geometry).

        Raises
        ------
        CatalogError
            An unknown table or column, a table without geometry, or DuckDB failed.
        """
        with self._cursor(f"the geometries of {name!r}") as cur:
            have = self._table(cur, name)
            geom = self._column(name, have, GEOM, geometry=True)
            if "wkb" in columns:
                msg = f"column 'wkb' of {name!r} clashes with the geometry column select_wkb returns"
                raise CatalogError(msg)
            sel = "".join(self._column(name, have, c) + ", " for c in columns)
            geo_params: list[Any] = []
            if simplify_m > 0:
                geom = f"ST_SimplifyPreserveTopology({geom}, ?)"
                geo_params.append(float(simplify_m))
            cond, params = self._where(name, have, where, bbox, pred)
            ids: list[int] | None = None
            if rowids is not None:
                ids = [int(r) for r in rowids]
                cond = f"{cond} AND rowid = ANY(?)" if cond else " WHERE rowid = ANY(?)"
                params.append(ids)
                sel += "rowid AS _rowid, "
            tail, more = self._order_limit(name, have, order_by, limit, offset)
            with self._time_limit(cur, timeout_s, f"reading rows of {name!r}"):
                df = cur.execute(f"SELECT {sel}ST_AsWKB({geom}) AS wkb FROM {_quote(name)}{cond}{tail}",
                                 geo_params + params + more).df()
        if ids is not None:
            if not order_by:  # the order of the ids asked
                rank = pd.Series(np.arange(len(ids)), index=pd.Index(ids)).groupby(level=0).first()
                df = df.iloc[np.argsort(rank.reindex(df["_rowid"]).to_numpy(), kind="stable")]
            df = df.drop(columns="_rowid").reset_index(drop=True)
        df["wkb"] = pd.Series([None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                               else bytes(v) for v in df["wkb"]], index=df.index, dtype=object)
        return df

    def distinct(self, name: str, column: str, *, where: Where | None = None) -> list[Any]:
        """The distinct non-null values of one column, sorted; ``where`` as for :meth:`select`."""
        with self._cursor(f"the values of {name!r}.{column!r}") as cur:
            have = self._table(cur, name)
            col = self._column(name, have, column)
            cond, params = self._where(name, have, where)
            cond = f"{cond} AND {col} IS NOT NULL" if cond else f" WHERE {col} IS NOT NULL"
            rows = cur.execute(f"SELECT DISTINCT {col} FROM {_quote(name)}{cond} ORDER BY 1",
                               params).fetchall()
        return [r[0] for r in rows]

    def aggregate(self, name: str, aggregates: Mapping[str, tuple[str, str | None]], *,
                  by: Sequence[str] = (), where: Where | None = None) -> pd.DataFrame:
        """Aggregates of a table, over all rows or per group (e.g. sums per district).

        Parameters
        ----------
        name : str
            A table of the catalog.
        aggregates : mapping of str to (str, str or None)
            Output column -> ``(function, column)``, the function one of :data:`AGGREGATES`
            (``count`` with column ``None`` counts rows). Output names are lowercase
            identifiers.
        by : sequence of str
            Group by these columns (returned first, rows sorted by them).
        where : mapping, optional
            As for :meth:`select`.

        Returns
        -------
        DataFrame
            ``by`` columns and one column per aggregate; one row when ``by`` is empty.

        Raises
        ------
        CatalogError
            An unknown table, column or function, or a bad output name.
        """
        if isinstance(by, str):
            by = (by,)
        with self._cursor(f"aggregates of {name!r}") as cur:
            have = self._table(cur, name)
            keys = [self._column(name, have, c) for c in by]
            exprs = []
            for out, (func, column) in aggregates.items():
                if not isinstance(out, str) or not _ID_RE.match(out) or out in by:
                    msg = f"aggregate name {out!r} is not a valid, unused name (lowercase letters, digits, _)"
                    raise CatalogError(msg)
                if func not in AGGREGATES:
                    msg = f"aggregate {out!r}: unknown function {func!r}; use one of {', '.join(AGGREGATES)}"
                    raise CatalogError(msg)
                if column is None and func != "count":
                    msg = f"aggregate {out!r}: {func} needs a column"
                    raise CatalogError(msg)
                arg = "*" if column is None else self._column(name, have, column)
                exprs.append(f"{AGGREGATES[func].format(arg)} AS {_quote(out)}")
            if not exprs:
                msg = f"aggregate of {name!r}: no aggregates asked"
                raise CatalogError(msg)
            cond, params = self._where(name, have, where)
            sql = f"SELECT {', '.join([*keys, *exprs])} FROM {_quote(name)}{cond}"
            if keys:
                sql += f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
            return cur.execute(sql, params).df()

    def merged_lines_wkb(self, name: str, *, where: Where | None = None, boundaries: bool = False,
                         simplify_m: float = 0.0) -> bytes | None:
        """The lines of a layer (or the boundaries of its polygons) unioned into one geometry.

        Shared lines appear once (a boundary between two districts), touching lines are
        merged, and the result is simplified with ``simplify_m`` [m] (0: not at all); for a
        light map overlay of roads or boundaries.

        Parameters
        ----------
        name : str
            A table with a ``geom`` column.
        where : mapping, optional
            As for :meth:`select`.
        boundaries : bool
            Union the polygons' boundaries instead of the geometries themselves.
        simplify_m : float
            Simplification tolerance [m].

        Returns
        -------
        bytes or None
            WKB in the layer's CRS (an empty geometry when no row matches; None when DuckDB
            gives no geometry at all).
        """
        with self._cursor(f"the merged lines of {name!r}") as cur:
            have = self._table(cur, name)
            geom = self._column(name, have, GEOM, geometry=True)
            geom = f"ST_Boundary({geom})" if boundaries else geom
            expr = f"ST_LineMerge(ST_Union_Agg({geom}))"
            params: list[Any] = []
            if simplify_m > 0:
                expr = f"ST_Simplify({expr}, ?)"
                params.append(float(simplify_m))
            cond, more = self._where(name, have, where)
            row = cur.execute(f"SELECT ST_AsWKB({expr}) FROM {_quote(name)}{cond}", params + more).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def read_layer(self, name: str, *, columns: list[str] | None = None,
                   bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
        """Read a layer from its GeoParquet file (optionally some columns, or a bbox)."""
        path = self.layer_path(name)
        if columns is not None and "geometry" not in columns:
            columns = [*columns, "geometry"]
        return gpd.read_parquet(path, columns=columns, bbox=bbox)

    def layer_columns(self, name: str) -> list[str]:
        """Column names of a layer's GeoParquet file (read from its schema only)."""
        import pyarrow.parquet as pq

        return list(pq.read_schema(self.layer_path(name)).names)

    def read_points(self, name: str, *, columns: list[str] | None = None,
                    batch_rows: int = 65_536) -> gpd.GeoDataFrame:
        """A polygon layer with each geometry replaced by its representative point.

        Read in batches of ``batch_rows``, so only one batch of footprints is in memory at
        a time (a full-scale city has millions of buildings).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.layer_path(name))
        cols = None if columns is None else [*columns, "geometry"]
        parts = []
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            part = gpd.GeoDataFrame.from_arrow(pa.Table.from_batches([batch]))
            parts.append(part.set_geometry(part.geometry.representative_point()))
            del part
        if not parts:
            return self.read_layer(name, columns=columns)
        return pd.concat(parts, ignore_index=True)

    # -- vector tiles ---------------------------------------------------------------------
    @contextmanager
    def tile_source(self, name: str, columns: Sequence[str], *, id_column: str,
                    join: tuple[str, Sequence[str]] | None = None) -> Iterator[TileSource]:
        """A layer staged once in Web Mercator, to cut into Mapbox Vector Tiles zoom by zoom.

        The rows of ``name`` (with ``join``'s columns, joined on ``id_column``) are
        reprojected from the layer's CRS (its ``_layers`` row) to EPSG:3857 into a
        temporary table of a read-only connection, with each geometry's bounding box and
        its size (the larger side of its box in the layer's metric CRS [m]); then
        :meth:`TileSource.tiles` encodes the tiles of a zoom with DuckDB's ``ST_AsMVTGeom``
        and ``ST_AsMVT``.

        Parameters
        ----------
        name : str
            A layer or result table with a ``geom`` column and a ``_layers`` row.
        columns : sequence of str
            Attribute columns of ``name`` written on every feature.
        id_column : str
            The layer's id column (also the join key and the thinning key).
        join : (str, sequence of str), optional
            Another table and the columns of it to add (a left join on ``id_column``:
            rows of ``name`` without a match get no such attributes).

        Yields
        ------
        TileSource
            The staged layer (valid inside the ``with`` block).

        Raises
        ------
        CatalogError
            An unknown table or column, a layer without a CRS, or DuckDB failed.
        """
        with self._cursor(f"the tiles of {name!r}") as cur:
            cur.execute("SET enable_progress_bar = false")
            have = self._table(cur, name)
            geom = self._column(name, have, GEOM, geometry=True)
            key = self._column(name, have, id_column)
            sel = [f"b.{self._column(name, have, c)}" for c in columns]
            from_ = f"{_quote(name)} AS b"
            if join is not None:
                other, more = join
                jhave = self._table(cur, other)
                self._column(other, jhave, id_column)
                sel += [f"j.{self._column(other, jhave, c)}" for c in more if c not in columns]
                from_ += f" LEFT JOIN {_quote(other)} AS j ON j.{key} = b.{key}"
            row = cur.execute("SELECT crs FROM _layers WHERE name = ?", [name]).fetchone()
            if row is None or not row[0]:
                msg = (f"layer {name!r} of the twin of {self.city_id!r} has no CRS in the registry "
                       "_layers; rebuild it with the command that writes it")
                raise CatalogError(msg)
            stage = f"_tiles_{uuid.uuid4().hex[:12]}"
            cur.execute(
                f"CREATE TEMP TABLE {stage} AS SELECT *, ST_XMin(_g) AS _x0, ST_XMax(_g) AS _x1, "
                f"ST_YMin(_g) AS _y0, ST_YMax(_g) AS _y1 FROM (SELECT b.{key} AS _key, "
                f"greatest(ST_XMax(b.{geom}) - ST_XMin(b.{geom}), ST_YMax(b.{geom}) - ST_YMin(b.{geom})) "
                f"AS _size_m, {', '.join([*sel, ''])}"
                f"ST_Transform(b.{geom}, ?, 'EPSG:3857', always_xy := true) AS _g FROM {from_} "
                f"WHERE b.{geom} IS NOT NULL AND NOT ST_IsEmpty(b.{geom}))", [row[0]])
            names = [*columns, *(c for c in (join[1] if join else ()) if c not in columns)]
            try:
                yield TileSource(self, cur, stage, tuple(names), name)
            finally:
                cur.execute(f"DROP TABLE IF EXISTS {stage}")


#: Half the width of the Web Mercator (EPSG:3857) square [m].
MERCATOR_HALF_M = 20037508.342789244


class TileSource:
    """A layer staged in Web Mercator by :meth:`TwinStore.tile_source` (use it inside that block)."""

    def __init__(self, store: TwinStore, cur: duckdb.DuckDBPyConnection, stage: str,
                 columns: tuple[str, ...], name: str):
        self._store = store
        self._cur = cur
        self._stage = stage
        #: The attribute columns each feature carries.
        self.columns = columns
        self.name = name

    def count(self) -> int:
        """Rows staged (rows with a geometry)."""
        return _count(self._cur, f"SELECT count(*) FROM {self._stage}")

    def extent(self) -> tuple[float, float, float, float] | None:
        """``(minx, miny, maxx, maxy)`` of the staged rows in EPSG:3857 [m]; None when none."""
        row = self._cur.execute(
            f"SELECT min(_x0), min(_y0), max(_x1), max(_y1) FROM {self._stage}").fetchone()
        if row is None or row[0] is None:
            return None
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def tiles(self, zoom: int, *, layer: str, min_size_m: float = 0.0, thin: int = 1,
              only: Sequence[tuple[int, int]] | None = None, extent: int = 4096,
              buffer: int = 64) -> dict[tuple[int, int], bytes]:
        """The Mapbox Vector Tiles of one zoom: ``(x, y) -> one encoded MVT layer``.

        A feature goes into every tile its bounding box touches; ``ST_AsMVTGeom`` clips it
        to the tile plus ``buffer`` (in tile units) and snaps it to the ``extent`` grid;
        features that vanish there (smaller than a grid cell) are left out of that tile.

        Parameters
        ----------
        zoom : int
            Zoom level (0-24), XYZ tile scheme (y down from the north).
        layer : str
            MVT layer name.
        min_size_m : float
            Leave out features whose box's larger side is below this [m] (0: none).
        thin : int
            Keep only features whose id hashes to 0 modulo ``thin`` (1: all).
        only : sequence of (x, y), optional
            Only these tiles (default: every tile that holds a feature).
        extent, buffer : int
            MVT grid size and clip buffer, in tile units.

        Returns
        -------
        dict
            ``(x, y) -> bytes`` (uncompressed), only tiles with features.
        """
        if isinstance(zoom, bool) or not 0 <= int(zoom) <= 24:
            msg = f"zoom {zoom!r} must be a whole number from 0 to 24"
            raise CatalogError(msg)
        span = 2 * MERCATOR_HALF_M / 2 ** int(zoom)
        props = ", ".join(f"{_quote(c)}: {_quote(c)}" for c in self.columns)
        props = props + ", " if props else ""
        cond = ["_size_m >= $min_size"] + (["hash(_key) % $thin = 0"] if thin > 1 else [])
        keys = None
        if only is not None:
            keys = [int(x) * 16_777_216 + int(y) for x, y in only]
            # rows off the asked tiles' envelope are skipped before they are cut
            cond += ["_x1 >= $ox0", "_x0 <= $ox1", "_y1 >= $oy0", "_y0 <= $oy1"]
        h = MERCATOR_HALF_M
        sql = (
            f"WITH f AS (SELECT * FROM {self._stage} WHERE {' AND '.join(cond)}), "
            f"kx AS (SELECT * EXCLUDE (_x0, _x1), unnest(generate_series("
            f"CAST(floor((_x0 + {h}) / $span) AS INTEGER), "
            f"CAST(floor((_x1 + {h}) / $span) AS INTEGER))) AS _tx "
            "FROM f), "
            f"k AS (SELECT * EXCLUDE (_y0, _y1), unnest(generate_series("
            f"CAST(floor(({h} - _y1) / $span) AS INTEGER), "
            f"CAST(floor(({h} - _y0) / $span) AS INTEGER))) AS _ty "
            "FROM kx), "
            "kk AS (SELECT * FROM k WHERE _tx >= 0 AND _ty >= 0 AND _tx < $n AND _ty < $n"
            + (" AND list_contains($only, CAST(_tx AS BIGINT) * 16777216 + _ty)" if keys is not None else "")
            + "), "
            f"m AS (SELECT _tx, _ty, {{{props}'_geom': ST_AsMVTGeom(_g, ST_Extent(ST_TileEnvelope("
            "$z, CAST(_tx AS INTEGER), CAST(_ty AS INTEGER))), $extent, $buffer, true)} AS r FROM kk) "
            # the aggregate's FILTER reads the projected r: a WHERE on r._geom would be pushed
            # below the projection and cut every geometry three times (EXPLAIN shows it)
            # (a tile whose features all vanished gets no row: HAVING)
            # (a tile whose features all vanished comes back as a layer without features:
            # dropped below by _mvt_has_features; a HAVING on r._geom cuts them twice again)
            "SELECT _tx, _ty, ST_AsMVT(r, $layer, $extent, '_geom') "
            "FILTER (WHERE r._geom IS NOT NULL AND NOT ST_IsEmpty(r._geom)) FROM m GROUP BY _tx, _ty"
        )
        named: dict[str, Any] = {"span": span, "n": 2 ** int(zoom), "z": int(zoom), "extent": int(extent),
                                 "buffer": int(buffer), "layer": str(layer)}
        if keys is not None and only is not None:
            named["only"] = keys
            xs = [int(x) for x, _ in only] or [0]
            ys = [int(y) for _, y in only] or [0]
            named.update(ox0=min(xs) * span - MERCATOR_HALF_M, ox1=(max(xs) + 1) * span - MERCATOR_HALF_M,
                         oy0=MERCATOR_HALF_M - (max(ys) + 1) * span, oy1=MERCATOR_HALF_M - min(ys) * span)
        named["min_size"] = float(min_size_m)
        if thin > 1:
            named["thin"] = int(thin)
        try:
            rows = self._cur.execute(sql, named).fetchall()
        except duckdb.Error as exc:
            raise self._store._read_error(f"the z{zoom} tiles of {self.name!r}", exc) from exc
        return {(int(x), int(y)): bytes(b) for x, y, b in rows if b and _mvt_has_features(b)}


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """A protobuf varint at ``buf[i]``: ``(value, next index)``."""
    value = shift = 0
    while True:
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            return value, i
        shift += 7


def _mvt_has_features(tile: bytes) -> bool:
    """Whether an encoded MVT tile holds a feature (``Tile.layers[].features``, field 2).

    Walks the top-level fields of each layer (a feature is skipped by its length), so
    the cost is the number of fields, not the bytes.
    """
    buf = bytes(tile)
    i, end = 0, len(buf)
    while i < end:
        key, i = _varint(buf, i)
        if key & 7 != 2:  # Tile has only length-delimited layers (field 3)
            return True   # not what ST_AsMVT writes: keep the tile rather than guess
        size, i = _varint(buf, i)
        j, stop = i, i + size
        while j < stop:
            fkey, j = _varint(buf, j)
            if fkey >> 3 == 2:
                return True
            wire = fkey & 7
            if wire == 0:
                _, j = _varint(buf, j)
            elif wire == 2:
                n, j = _varint(buf, j)
                j += n
            elif wire == 5:
                j += 4
            elif wire == 1:
                j += 8
            else:
                return True
        i = stop
    return False
