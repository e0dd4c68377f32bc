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

DuckDB's spatial extension is loaded offline from the ``duckdb-ext-spatial``
wheel. Every statement is parameterised; table names are only ever schema
layer names or fixed names, never user text.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import logging
import os
import re
import shutil
import uuid
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd

from twin.errors import CatalogError, SchemaError
from twin.schema import LAYERS

__all__ = [
    "RASTER_KINDS",
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
}


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


def connect_spatial(path: str | os.PathLike = ":memory:", *, read_only: bool = False):
    """Open a DuckDB connection with the spatial extension loaded offline."""
    try:
        con = duckdb.connect(str(path), read_only=read_only, config={
            "extension_directory": spatial_extension_dir(),
            # bounded, spilling to disk beside the catalog, so a city-sized commit fits any laptop
            "memory_limit": os.environ.get("TWIN_DUCKDB_MEMORY", "2GB"),
        })
    except duckdb.IOException as exc:
        mode = "read" if read_only else "write"
        msg = (f"cannot open the catalog {path} to {mode} ({exc}); another process holds it, e.g. "
               "another twin command or a running map app (its 'Reload the twin' button releases "
               "the catalog); let it finish or close it, then retry")
        raise CatalogError(msg) from None
    con.execute("LOAD spatial")
    return con


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _ID_RE.match(name):
        msg = f"{what} {name!r} is not a valid name (lowercase letters, digits, underscore)"
        raise CatalogError(msg)
    return name


class _FrameInfo:
    """Registry facts of a frame being committed."""

    def __init__(self, gdf):
        self.gdf = gdf

    def crs_string(self) -> str:
        return self.gdf.crs.to_string()

    def n_rows(self, con, table) -> int:
        return len(self.gdf)

    def n_synthetic(self, con, table) -> int:
        return int(self.gdf["is_synthetic"].sum()) if "is_synthetic" in self.gdf.columns else 0

    def sources(self, con, table) -> str:
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

    def n_rows(self, con, table) -> int:
        return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])

    def n_synthetic(self, con, table) -> int:
        if "is_synthetic" not in self.columns:
            return 0
        return int(con.execute(f'SELECT coalesce(sum(is_synthetic::INT), 0) FROM "{table}"').fetchone()[0])

    def sources(self, con, table) -> str:
        if "source" not in self.columns:
            return ""
        rows = con.execute(f'SELECT DISTINCT source FROM "{table}" ORDER BY 1 LIMIT 5').fetchall()
        return "; ".join(str(r[0]) for r in rows)


class TwinStore:
    """The on-disk twin of one city.

    Parameters
    ----------
    city_id : str
        City identifier (``hangzhou``, ``huzhou``, ...); lowercase ASCII only,
        so it is safe as a folder name.
    home : path-like, optional
        Folder holding twins (default :func:`default_home`).
    """

    def __init__(self, city_id: str, home: str | os.PathLike | None = None):
        self.city_id = _check_name(city_id, "city id")
        self.home = Path(home).resolve() if home is not None else default_home()
        self.root = self.home / self.city_id
        self.catalog_path = self.root / "catalog.duckdb"

    # -- state ---------------------------------------------------------------------------
    def exists(self) -> bool:
        """True when the catalog file exists and lists at least one layer."""
        if not self.catalog_path.exists():
            return False
        try:
            with self.connect(read_only=True) as con:
                return bool(con.execute("SELECT count(*) FROM _layers").fetchone()[0])
        except (CatalogError, duckdb.Error):
            return False

    def require(self) -> None:
        """Raise a :class:`CatalogError` that says how to build the twin when it is missing."""
        if not self.exists():
            msg = (
                f"no built twin for {self.city_id!r} at {self.root}; build it with "
                f"`twin demo --city {self.city_id}` (or set TWIN_HOME to where it was built)"
            )
            raise CatalogError(msg)

    def connect(self, *, read_only: bool = True):
        """Open the catalog (spatial loaded). Use as a context manager."""
        if read_only and not self.catalog_path.exists():
            self.require()
        self.root.mkdir(parents=True, exist_ok=True)
        return connect_spatial(self.catalog_path, read_only=read_only)

    # -- writing -------------------------------------------------------------------------
    def _init(self, con) -> None:
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
        results: dict[str, gpd.GeoDataFrame] | None = None,
        rasters: dict[str, dict] | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
        meta: dict | None = None,
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
        token = uuid.uuid4().hex[:10]
        new_files: list[Path] = []
        try:
            staged = {}
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
        except BaseException:
            for path in new_files:
                path.unlink(missing_ok=True)
            raise
        for path in old_files:
            path.unlink(missing_ok=True)
        self._sweep()

    def _switch(self, staged, staged_r, tables, meta, replace_all) -> list[Path]:
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
                con.execute("ROLLBACK")
                raise
        return old

    def _sweep(self) -> None:
        """Remove files no catalog row points to (left by a killed write)."""
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

    # -- reading -------------------------------------------------------------------------
    def layers(self) -> pd.DataFrame:
        """The ``_layers`` table: name, kind, path, crs, n_rows, n_synthetic, source, updated_at."""
        self.require()
        with self.connect(read_only=True) as con:
            return con.execute("SELECT * FROM _layers ORDER BY name").df()

    def rasters(self) -> pd.DataFrame:
        """The ``_rasters`` table."""
        self.require()
        with self.connect(read_only=True) as con:
            return con.execute("SELECT * FROM _rasters ORDER BY name").df()

    def meta(self) -> dict:
        """All ``_meta`` entries, decoded."""
        self.require()
        with self.connect(read_only=True) as con:
            return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM _meta").fetchall()}

    def table(self, name: str) -> pd.DataFrame:
        """A plain table (e.g. ``targets``) as a DataFrame."""
        _check_name(name, "table name")
        self.require()
        with self.connect(read_only=True) as con:
            known = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            if name not in known:
                have = ", ".join(sorted(known))
                msg = f"the twin of {self.city_id!r} has no table {name!r}; tables: {have}"
                raise CatalogError(msg)
            return con.execute(f'SELECT * FROM "{name}"').df()

    def layer_path(self, name: str) -> Path:
        """Path of the current GeoParquet file of a layer."""
        self.require()
        with self.connect(read_only=True) as con:
            row = con.execute("SELECT path FROM _layers WHERE name = ?", [name]).fetchone()
        if row is None:
            have = ", ".join(self.layers()["name"])
            msg = f"the twin of {self.city_id!r} has no layer {name!r}; it has {have}"
            raise CatalogError(msg)
        return self.root / row[0]

    def raster_path(self, name: str) -> tuple[Path, dict]:
        """Path and metadata of a raster layer."""
        self.require()
        with self.connect(read_only=True) as con:
            row = con.execute("SELECT path, meta FROM _rasters WHERE name = ?", [name]).fetchone()
        if row is None:
            msg = f"the twin of {self.city_id!r} has no raster {name!r}; import one with `twin import`"
            raise CatalogError(msg)
        return self.root / row[0], json.loads(row[1])

    def read_layer(self, name: str, *, columns: list[str] | None = None, bbox=None) -> gpd.GeoDataFrame:
        """Read a layer from its GeoParquet file (optionally some columns, or a bbox)."""
        path = self.layer_path(name)
        if columns is not None and "geometry" not in columns:
            columns = [*columns, "geometry"]
        return gpd.read_parquet(path, columns=columns, bbox=bbox)

    def has_layer(self, name: str) -> bool:
        """Whether the twin holds vector layer ``name``."""
        self.require()
        with self.connect(read_only=True) as con:
            return con.execute("SELECT count(*) FROM _layers WHERE name = ?", [name]).fetchone()[0] > 0

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
