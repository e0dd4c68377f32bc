"""File formats at the edge: GeoParquet (canonical), GeoPackage, GeoJSON, Shapefile, GeoTIFF.

Readers check that a file exists, is not empty or truncated, decodes as UTF-8
and has a CRS (or that one is given); they return GeoDataFrames with the
file's own columns. Mapping to the twin's schema is done by
:func:`layers.conform.conform_layer`. Writers are atomic.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.windows

from twin.crs import parse_crs
from twin.errors import SourceError
from twin.fsutil import atomic_path

__all__ = [
    "FORMATS",
    "format_of",
    "open_raster",
    "read_raster_window",
    "read_vector",
    "write_vector",
]

logger = logging.getLogger(__name__)

#: Vector formats by file suffix -> (name, OGR driver or None for GeoParquet).
FORMATS: dict[str, tuple[str, str | None]] = {
    ".parquet": ("parquet", None),
    ".geoparquet": ("parquet", None),
    ".gpkg": ("gpkg", "GPKG"),
    ".geojson": ("geojson", "GeoJSON"),
    ".json": ("geojson", "GeoJSON"),
    ".shp": ("shapefile", "ESRI Shapefile"),
}


def format_of(path: str | os.PathLike) -> str:
    """Return the format name for a path from its suffix, or raise :class:`SourceError`."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        msg = f"{path}: unknown vector format {suffix!r}; use one of {known}"
        raise SourceError(msg)
    return FORMATS[suffix][0]


def _check_file(path: Path) -> None:
    if not path.exists():
        msg = f"{path}: no such file; check the path"
        raise SourceError(msg)
    if path.is_dir():
        msg = f"{path}: is a directory; give the file itself"
        raise SourceError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty (0 bytes); re-export it from its source"
        raise SourceError(msg)


def _check_utf8(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Raise if text columns hold undecodable bytes (GDAL hands them over as surrogates)."""
    for col in gdf.columns:
        if col == gdf.geometry.name or not pd.api.types.is_string_dtype(gdf[col].dtype):
            continue
        vals = gdf[col].dropna()
        for idx, val in zip(vals.index, vals, strict=True):
            if isinstance(val, bytes) or (isinstance(val, str) and _has_surrogates(val)):
                msg = (
                    f"{path}: column {col!r} row {idx} is not valid UTF-8 text; re-save the file as "
                    "UTF-8 (for a Shapefile add a .cpg file naming its encoding, e.g. 'GBK')"
                )
                raise SourceError(msg)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _restore_shapefile_names(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Undo the Shapefile's 10-character truncation of declared column names."""
    from twin.schema import FIELDS

    renames = {}
    for col in gdf.columns:
        if len(col) == 10 and col not in FIELDS:
            matches = [f for f in FIELDS if len(f) > 10 and f.startswith(col)]
            if len(matches) == 1 and matches[0] not in gdf.columns:
                renames[col] = matches[0]
    return gdf.rename(columns=renames) if renames else gdf


#: Encodings tried, in order, for a Shapefile that does not declare one (no ``.cpg``):
#: UTF-8 first (it rarely decodes text in another encoding by accident), then GB18030,
#: the superset of GBK and GB2312 in which Chinese GIS offices ship Shapefiles.
SHAPEFILE_ENCODINGS = ("UTF-8", "GB18030")


def _has_cpg(path: Path) -> bool:
    return any(path.with_suffix(s).exists() for s in (".cpg", ".CPG"))


def _gpkg_layer(path: Path, layer: str | None) -> str | None:
    """The layer to read from a GeoPackage: the named one, or its only one."""
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError):
        return layer  # the read itself reports the unreadable file
    if layer is not None:
        if layer not in names:
            msg = (f"{path}: has no layer {layer!r}; its layers are {', '.join(map(repr, names))}; "
                   "pass one of them with --gpkg-layer")
            raise SourceError(msg)
        return layer
    if len(names) > 1:
        msg = (f"{path}: holds {len(names)} layers ({', '.join(map(repr, names))}); say which to "
               "import with --gpkg-layer NAME")
        raise SourceError(msg)
    return layer


def _read_ogr(path: Path, layer: str | None, encodings: list[str | None]) -> gpd.GeoDataFrame:
    """Read with OGR, trying each encoding in turn; the one that decoded goes in ``attrs``."""
    for i, enc in enumerate(encodings):
        kw = {"encoding": enc} if enc else {}
        try:
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio", on_invalid="warn", **kw)
        except UnicodeDecodeError:
            if i == len(encodings) - 1:
                raise
            continue
        if enc and len(encodings) > 1:
            gdf.attrs["encoding"] = enc
            if enc != "UTF-8":
                logger.warning("%s: no .cpg file; its text did not decode as UTF-8 and was read as %s",
                               path, enc)
        return gdf
    msg = f"{path}: no encoding to try"  # pragma: no cover - encodings is never empty
    raise SourceError(msg)  # pragma: no cover


def read_vector(path: str | os.PathLike, *, crs=None, layer: str | None = None,
                encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame, with clear errors for unusable files.

    Parameters
    ----------
    path : path-like
        A GeoParquet, GeoPackage, GeoJSON or Shapefile.
    crs : str or int, optional
        CRS to assign when the file has none. A file that has a CRS keeps it
        (a conflicting ``crs`` raises): coordinates are never silently relabelled.
    layer : str, optional
        Layer name inside a GeoPackage; required when it holds several layers.
    encoding : str, optional
        Text encoding of the file's attributes (e.g. ``"GBK"``). By default the file's
        own declaration is used; a Shapefile without a ``.cpg`` is tried as UTF-8, then
        GB18030 (a superset of GBK/GB2312), and the one that decodes is recorded in
        ``gdf.attrs["encoding"]`` (never read as Latin-1 mojibake).

    Raises
    ------
    SourceError
        Missing, empty, truncated or unreadable file, non-UTF-8 text, no CRS, a
        GeoPackage with several layers and none named, a named layer that is missing.
    """
    path = Path(path)
    _check_file(path)
    fmt = format_of(path)
    if fmt == "gpkg":
        layer = _gpkg_layer(path, layer)
    if encoding is not None:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            msg = (f"{path}: unknown text encoding {encoding!r}; give one Python knows, "
                   "e.g. GBK, GB18030 or UTF-8")
            raise SourceError(msg) from None
    encodings: list[str | None] = [encoding]
    if encoding is None and fmt == "shapefile" and not _has_cpg(path):
        encodings = list(SHAPEFILE_ENCODINGS)
    try:
        gdf = gpd.read_parquet(path) if fmt == "parquet" else _read_ogr(path, layer, encodings)
    except LookupError as exc:
        msg = f"{path}: unknown text encoding {encoding!r} ({exc}); give one Python knows, e.g. GBK or UTF-8"
        raise SourceError(msg) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{path}: cannot be read as {fmt} ({exc}); the file may be truncated or corrupt"
        raise SourceError(msg) from None
    except UnicodeDecodeError as exc:
        tried = " or ".join(str(e) for e in encodings if e) or "its declared encoding"
        msg = (f"{path}: text does not decode as {tried} ({exc}); name the file's encoding with "
               "--encoding (e.g. --encoding GBK) or re-save it as UTF-8")
        raise SourceError(msg) from None
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot be read as {fmt} ({exc}); the file may be truncated or not {fmt}"
        raise SourceError(msg) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        msg = f"{path}: has no geometry column; export it with geometries"
        raise SourceError(msg)
    _check_utf8(gdf, path)
    if fmt == "shapefile":
        gdf = _restore_shapefile_names(gdf)
    if crs is not None:
        wanted = parse_crs(crs, what=f"--crs for {path}")
        if gdf.crs is None:
            gdf = gdf.set_crs(wanted)
        elif not wanted.equals(gdf.crs):  # never relabel a declared CRS silently
            msg = (
                f"{path}: the file declares {gdf.crs.to_string()} but {wanted.to_string()} was "
                "given; drop the option (the file's CRS is used) or fix the file"
            )
            raise SourceError(msg)
    if gdf.crs is None:
        msg = f"{path}: has no CRS; pass its CRS explicitly (e.g. --crs EPSG:4326); it is never guessed"
        raise SourceError(msg)
    logger.info("read %d features from %s", len(gdf), path)
    return gdf


def write_vector(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame atomically; the format follows the suffix.

    GeoParquet is written with GeoParquet 1.1 metadata and bounding-box covering
    columns omitted (the catalog indexes geometry itself).
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt == "shapefile":
        # A Shapefile is several files: write them into a temp dir, then move each.
        import tempfile

        with tempfile.TemporaryDirectory(dir=path.parent or ".") as tmpdir:
            tmp = Path(tmpdir) / path.name
            import warnings

            with warnings.catch_warnings():  # names > 10 chars are truncated; read_vector restores them
                warnings.filterwarnings("ignore", message="Normalized/laundered field name")
                gdf.to_file(tmp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
            for part in Path(tmpdir).iterdir():
                os.replace(part, path.parent / part.name)
        return path
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            gdf.to_parquet(tmp, index=False, schema_version="1.1.0")
        else:
            layer_name = (layer or path.stem) if fmt == "gpkg" else None
            gdf.to_file(tmp, driver=FORMATS[path.suffix.lower()][1], engine="pyogrio", layer=layer_name)
    return path


#: The fix named when a raster has no CRS (unless the caller names its own).
RASTER_CRS_FIX = "assign one with `rio edit-info --crs EPSG:XXXX`"


@contextlib.contextmanager
def open_raster(path: str | os.PathLike, *, what: str = "raster", require_crs: bool = True,
                crs_fix: str = RASTER_CRS_FIX) -> Iterator[rasterio.io.DatasetReader]:
    """Open a raster for reading; every failure is a :class:`SourceError` naming the file.

    A missing, empty or directory path, a file GDAL cannot open, and a read that fails
    inside the ``with`` block (a truncated file) each raise one message with the path,
    the problem and the fix; so does a raster without a CRS when ``require_crs``.

    Parameters
    ----------
    path : path-like
        A raster rasterio can open (GeoTIFF).
    what : str
        What the raster is, for messages (``"wind_speed raster"``, ``"DEM"``).
    require_crs : bool
        Refuse a raster without a CRS (callers that raise their own error pass False).
    crs_fix : str
        The fix named when the CRS is missing.

    Yields
    ------
    rasterio.io.DatasetReader
        The open dataset, closed when the block ends.

    Raises
    ------
    SourceError
        Missing, empty or unreadable file; no CRS (with ``require_crs``).
    """
    path = Path(path)
    _check_file(path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        msg = f"{path}: cannot be read as a {what} ({exc}); the file may be truncated or not a GeoTIFF"
        raise SourceError(msg) from None
    with src:
        if require_crs and src.crs is None:
            msg = f"{path}: the {what} has no CRS; {crs_fix}"
            raise SourceError(msg)
        try:
            yield src
        except rasterio.errors.RasterioIOError as exc:
            msg = f"{path}: cannot read the {what} ({exc}); the file may be truncated or corrupt"
            raise SourceError(msg) from None


def read_raster_window(path: str | os.PathLike, bounds=None, *, bounds_crs=None, band: int = 1):
    """Read one band of a GeoTIFF, only the window covering ``bounds``.

    Parameters
    ----------
    path : path-like
        A raster rasterio can open.
    bounds : tuple of float, optional
        (minx, miny, maxx, maxy); the whole raster when omitted.
    bounds_crs : optional
        CRS of ``bounds``; reprojected to the raster's CRS when different.
    band : int
        1-based band index.

    Returns
    -------
    array : numpy.ma.MaskedArray
        The window, masked where it equals the raster's nodata.
    transform : affine.Affine
        Transform of the window.
    crs : rasterio.crs.CRS
        The raster's CRS.
    """
    with open_raster(path) as src:
        window = None
        if bounds is not None:
            if bounds_crs is not None:
                from rasterio.warp import transform_bounds

                bounds = transform_bounds(parse_crs(bounds_crs), src.crs, *bounds)
            w = rasterio.windows.from_bounds(*bounds, transform=src.transform)
            # outward to whole cells: every cell the bounds touch (rounding could drop an edge cell)
            c0, r0 = math.floor(w.col_off + 1e-9), math.floor(w.row_off + 1e-9)
            c1, r1 = math.ceil(w.col_off + w.width - 1e-9), math.ceil(w.row_off + w.height - 1e-9)
            window = rasterio.windows.Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0)).intersection(
                rasterio.windows.Window(0, 0, src.width, src.height)
            )
        arr = src.read(band, window=window, masked=True)
        transform = src.window_transform(window) if window is not None else src.transform
        crs = src.crs
    return np.ma.asarray(arr), transform, crs
