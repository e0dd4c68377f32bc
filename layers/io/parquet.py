"""GeoParquet outputs: one file, a folder partitioned by district, a sorted merge of tiles.

The layout readers rely on (``twin build`` outputs, :func:`read_partitioned`):

* ``<folder>/<column>=<value>/part-0.parquet``: one file per value of the partition
  column, hive style; a null or blank value goes to ``<column>=none``. Every file keeps
  the partition column itself, so each is a whole GeoParquet file on its own.
* ``<folder>/part-0.parquet`` when the data has no partition column.

Every file is written atomically (:func:`twin.fsutil.atomic_path`) and carries
GeoParquet 1.1 ``geo`` metadata describing that file: its primary column, encoding,
CRS, geometry types and bounding box.

Two writers stand behind these functions:

* GeoDataFrames are written by geopandas (``to_parquet``), which makes the ``geo``
  metadata of each file.
* Arrow tables read from GeoParquet files (the tiles of a batch run, which are never
  decoded into shapely objects all at once) are written by pyarrow. Their ``geo``
  metadata is the source files' (written by geopandas); only the two facts that
  depend on a file's rows are recomputed for it: ``bbox`` and ``geometry_types``.

:func:`pyarrow.dataset.write_dataset` with hive partitioning is not used: it drops
the partition column from the files and writes one schema, so one ``geo`` bounding
box, for all of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from twin.errors import SchemaError
from twin.fsutil import atomic_path

__all__ = [
    "DISTRICT_PARTITION",
    "NO_PARTITION",
    "PART_FILE",
    "merge_sorted",
    "partition_name",
    "read_partitioned",
    "write_parquet",
    "write_partitioned",
]

#: The column published layers are partitioned by.
DISTRICT_PARTITION = "district_adcode"
#: Partition value of rows whose partition column is null or blank.
NO_PARTITION = "none"
#: File name inside a partition folder (and of an unpartitioned layer).
PART_FILE = "part-0.parquet"

#: Rows decoded or written at a time by the Arrow path.
_STEP = 1 << 18

#: GeoParquet geometry type names by shapely type id (``+ 8`` for the 3D ``" Z"`` types).
_TYPE_NAMES = ["Point", "LineString", "LineString", "Polygon", "MultiPoint", "MultiLineString",
               "MultiPolygon", "GeometryCollection"]
_TYPE_NAMES += [f"{name} Z" for name in _TYPE_NAMES]


def partition_name(value) -> str:
    """The folder value of a partition key: ``str(value)``, or ``"none"`` when null or blank.

    Parameters
    ----------
    value : object
        A value of the partition column.

    Returns
    -------
    str
        ``"330502"`` for ``"330502"``; ``"none"`` for None, NaN, NA and ``""``.
    """
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return NO_PARTITION
    text = str(value)
    return text if text else NO_PARTITION


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike, *, index: bool = False,
                  **options: Any) -> Path:
    """Write a frame to one Parquet file atomically.

    A GeoDataFrame becomes GeoParquet 1.1 (metadata by geopandas); a DataFrame plain Parquet.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
        The rows to write.
    path : path-like
        Target file; its folder is created.
    index : bool
        Keep the frame's index as a column (default: dropped).
    **options
        Passed to :func:`pyarrow.parquet.write_table` (e.g. ``use_dictionary``).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_parquet(tmp, index=index, schema_version="1.1.0", **options)
        else:
            frame.to_parquet(tmp, index=index, **options)
    return path


def write_partitioned(data: gpd.GeoDataFrame | pa.Table, folder: str | os.PathLike,
                      partition_col: str = DISTRICT_PARTITION, *, sort_by: str | None = None,
                      single: str | os.PathLike | None = None) -> Path | None:
    """Write a layer as a folder of GeoParquet files, one per value of ``partition_col``.

    Parameters
    ----------
    data : geopandas.GeoDataFrame or pyarrow.Table
        The layer. A table must come from GeoParquet (schema metadata ``geo``, WKB).
    folder : path-like
        The layer's folder: ``<folder>/<partition_col>=<value>/part-0.parquet``, or
        ``<folder>/part-0.parquet`` when ``data`` has no ``partition_col``.
    partition_col : str
        The partition column (kept in every file).
    sort_by : str, optional
        Write rows sorted by this column (stable); default: in their order.
    single : path-like, optional
        Also write the whole layer, in the same order, to this one file (for the
        catalog) when it is partitioned.

    Returns
    -------
    pathlib.Path
        The one file holding every row: ``single``, or ``<folder>/part-0.parquet`` when
        the layer is not partitioned (``single`` is then not written). ``None`` when
        the layer is partitioned and ``single`` is not given.

    Raises
    ------
    SchemaError
        A table without GeoParquet metadata or with a geometry encoding other than WKB.
    """
    folder = Path(folder)
    if isinstance(data, pa.Table):
        return _ArrowLayer(data, sort_by).write(folder, partition_col, single)
    if sort_by is not None:
        data = data.sort_values(sort_by, kind="stable")
    if partition_col not in data.columns:
        return write_parquet(data, folder / PART_FILE)
    names = data[partition_col].astype(object).map(partition_name)
    for name, part in data.groupby(names.to_numpy(), sort=True):
        write_parquet(part, folder / f"{partition_col}={name}" / PART_FILE)
    return None if single is None else write_parquet(data, single)


def merge_sorted(files: Iterable[str | os.PathLike], sort_by: str, folder: str | os.PathLike, *,
                 partition_col: str = DISTRICT_PARTITION,
                 single: str | os.PathLike | None = None) -> tuple[Path | None, int]:
    """Merge GeoParquet files (tiles of one layer) into one layer sorted by ``sort_by``.

    The rows are concatenated as Arrow data and written in slices of the sorted order
    (the geometries are decoded only a slice at a time, for the bounding boxes), so the
    result does not depend on how the rows were split into files.

    Parameters
    ----------
    files : iterable of path-like
        GeoParquet files with one schema; those that do not exist are skipped.
    sort_by : str
        The id column the rows are sorted by.
    folder : path-like
        The layer's folder (as for :func:`write_partitioned`).
    partition_col : str
        The partition column.
    single : path-like, optional
        The whole layer as one file, when partitioned (as for :func:`write_partitioned`).

    Returns
    -------
    path : pathlib.Path or None
        The one file holding every row (None when no file existed).
    rows : int
        The number of rows.
    """
    tables = [pq.read_table(f) for f in map(Path, files) if f.exists()]
    if not tables:
        return None, 0
    layer = _ArrowLayer(pa.concat_tables(tables), sort_by)
    del tables
    return layer.write(Path(folder), partition_col, single), layer.table.num_rows


def read_partitioned(folder: str | os.PathLike) -> gpd.GeoDataFrame:
    """Read a layer written by :func:`write_partitioned` (every file, in path order).

    Parameters
    ----------
    folder : path-like
        The layer's folder.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows of every file, on a fresh RangeIndex.

    Raises
    ------
    FileNotFoundError
        The folder holds no Parquet file.
    """
    files = sorted(Path(folder).rglob("*.parquet"))
    if not files:
        msg = f"{folder}: no GeoParquet files; write the layer first (or check the path)"
        raise FileNotFoundError(msg)
    parts = [gpd.read_parquet(f) for f in files]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _partition_names(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """:func:`partition_name` of every value of an Arrow column, vectorised."""
    text = pc.cast(column, pa.string())
    blank = pc.or_kleene(pc.is_null(text), pc.equal(text, ""))
    if pa.types.is_floating(column.type):
        blank = pc.or_kleene(blank, pc.is_nan(column))
    return pc.if_else(blank, pa.scalar(NO_PARTITION), text)


class _ArrowLayer:
    """A GeoParquet table held once, its sorted order, and each row's bounds and geometry type."""

    def __init__(self, table: pa.Table, sort_by: str | None):
        meta = table.schema.metadata or {}
        if b"geo" not in meta:
            msg = "table has no GeoParquet 'geo' metadata; read it from a GeoParquet file"
            raise SchemaError(msg)
        self.geo = json.loads(meta[b"geo"])
        self.col = self.geo["primary_column"]
        encoding = self.geo["columns"][self.col].get("encoding")
        if encoding != "WKB":
            msg = f"geometry column {self.col!r} is encoded as {encoding!r}; write the tiles as WKB"
            raise SchemaError(msg)
        self.table = table
        n = table.num_rows
        self.order = (np.arange(n) if sort_by is None
                      else pc.sort_indices(table[sort_by]).to_numpy())
        bounds, types = [np.empty((0, 4))], [np.empty(0, dtype="int64")]
        for i in range(0, n, _STEP):  # decoded in slices: only bounds and types are kept
            geoms = shapely.from_wkb(table[self.col].slice(i, _STEP).to_numpy(zero_copy_only=False))
            bounds.append(shapely.bounds(geoms))
            types.append(shapely.get_type_id(geoms) + 8 * shapely.has_z(geoms))
        self.bounds = np.concatenate(bounds)
        self.types = np.concatenate(types)

    def write(self, folder: Path, partition_col: str, single) -> Path | None:
        if partition_col not in self.table.column_names:
            return self._write_rows(self.order, folder / PART_FILE)
        names, which = np.unique(_partition_names(self.table[partition_col]).take(self.order)
                                 .to_numpy(zero_copy_only=False), return_inverse=True)
        for k, name in enumerate(names.tolist()):
            self._write_rows(self.order[which == k], folder / f"{partition_col}={name}" / PART_FILE)
        return None if single is None else self._write_rows(self.order, Path(single))

    def _file_geo(self, rows: np.ndarray) -> dict:
        """The source ``geo`` metadata with this file's bounding box and geometry types."""
        column = dict(self.geo["columns"][self.col])
        b = self.bounds[rows]
        if len(b) and np.isfinite(b).any():
            column["bbox"] = [float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])),
                              float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))]
        else:
            column.pop("bbox", None)
        column["geometry_types"] = sorted({_TYPE_NAMES[t] for t in np.unique(self.types[rows]) if t >= 0})
        return dict(self.geo, columns={**self.geo["columns"], self.col: column})

    def _write_rows(self, rows: np.ndarray, path: Path) -> Path:
        meta = dict(self.table.schema.metadata)
        meta[b"geo"] = json.dumps(self._file_geo(rows)).encode()
        schema = self.table.schema.with_metadata(meta)
        with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
            if not len(rows):
                writer.write_table(self.table.slice(0, 0).replace_schema_metadata(meta))
            for i in range(0, len(rows), _STEP):
                writer.write_table(self.table.take(rows[i:i + _STEP]).replace_schema_metadata(meta))
        return path
