"""Exports: a layer to a file (``twin export``) or to bytes (the map app's download buttons).

Files are written atomically (a failed export leaves no partial file and the previous
file whole). A target that cannot be written (a read-only folder, a path through a
file) or whose suffix does not match the format is one :class:`~twin.errors.SourceError`
naming the file and the fix.

CSV cells are made safe for spreadsheets (OWASP, "CSV Injection"): a text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a
formula by Excel, LibreOffice or Google Sheets, so it gets a leading ``'``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from twin.errors import ConfigError, SourceError

__all__ = [
    "BYTES_FORMATS",
    "FILE_FORMATS",
    "FORMULA_PREFIXES",
    "export_bytes",
    "export_file",
    "neutralise_formulas",
]

#: File export formats -> the suffixes their target may end in.
FILE_FORMATS: dict[str, tuple[str, ...]] = {
    "gpkg": (".gpkg",),
    "parquet": (".parquet",),
    "geojson": (".geojson",),
    "cityjson": (".json", ".cityjson"),
}
#: Formats :func:`export_bytes` makes.
BYTES_FORMATS = ("csv", "gpkg", "geojson")
#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as spreadsheet formulas.

    A string that begins with one of :data:`FORMULA_PREFIXES` gets a leading ``'``
    (OWASP's rule for CSV injection); numbers and other values are left as they are.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to be written as CSV.

    Returns
    -------
    pandas.DataFrame
        The neutralised copy.
    """

    def safe(value):
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value

    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype):
            out[col] = values.map(safe, na_action="ignore")
    return out.rename(columns={c: safe(c) for c in out.columns if isinstance(c, str)})


def export_bytes(gdf: gpd.GeoDataFrame, fmt: str, *, layer: str, wkt_precision: int = 2) -> bytes:
    """A GeoDataFrame as the bytes of a CSV, GeoPackage or GeoJSON file.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The rows, with a CRS.
    fmt : {"csv", "gpkg", "geojson"}
        CSV: the attribute columns and the geometry as WKT in a ``wkt`` column (in the
        frame's CRS, rounded to ``wkt_precision`` decimals), formulas neutralised
        (:func:`neutralise_formulas`), UTF-8, CRLF line ends (RFC 4180; a cell holding
        a line break is quoted). GeoPackage: one layer named ``layer``, in
        the frame's CRS. GeoJSON: EPSG:4326 as RFC 7946 requires, without feature ids.
    layer : str
        The GeoPackage layer name.
    wkt_precision : int
        Decimals of the CSV's WKT coordinates.

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    ConfigError
        An unknown format.
    """
    if fmt == "csv":
        geometry = gdf.geometry.name
        table = pd.DataFrame(gdf.drop(columns=geometry)).assign(
            wkt=shapely.to_wkt(gdf.geometry.values, rounding_precision=wkt_precision))
        # RFC 4180 line ends: the writer then quotes every cell holding a CR or LF, so no
        # spreadsheet splits a cell into a new row that could begin with a formula.
        return neutralise_formulas(table).to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    if fmt == "geojson":
        return gdf.to_crs(4326).to_json(drop_id=True).encode("utf-8")
    if fmt == "gpkg":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{layer}.gpkg"
            gdf.to_file(path, driver="GPKG", layer=layer, engine="pyogrio")
            return path.read_bytes()
    msg = f"unknown export format {fmt!r}; use one of {', '.join(BYTES_FORMATS)}"
    raise ConfigError(msg)


def export_file(gdf: gpd.GeoDataFrame, path: str | os.PathLike, fmt: str, *,
                layer: str | None = None) -> Path:
    """Write a layer to a file in ``fmt``, atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The rows, with a CRS.
    path : path-like
        Target file; its suffix must match ``fmt`` (:data:`FILE_FORMATS`).
    fmt : {"gpkg", "parquet", "geojson", "cityjson"}
        GeoPackage (layer ``layer``) and GeoParquet keep the frame's CRS; GeoJSON is
        reprojected to EPSG:4326 (RFC 7946); CityJSON 2.0 takes the buildings layer
        (:func:`layers.io.cityjson.write_cityjson`).
    layer : str, optional
        The GeoPackage layer name (default: the file's stem).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ConfigError
        An unknown format.
    SourceError
        The suffix does not match the format; the target cannot be written.
    """
    path = Path(path)
    if fmt not in FILE_FORMATS:
        msg = f"{path}: unknown export format {fmt!r}; use one of {', '.join(FILE_FORMATS)}"
        raise ConfigError(msg)
    suffixes = FILE_FORMATS[fmt]
    if path.suffix.lower() not in suffixes:
        msg = (f"{path}: does not end in {' or '.join(suffixes)} for the {fmt} format; rename the "
               f"output file (e.g. {path.with_suffix(suffixes[0]).name})")
        raise SourceError(msg)
    try:
        if fmt == "cityjson":
            from layers.io.cityjson import write_cityjson

            write_cityjson(gdf, path)
        else:
            from layers.io.files import write_vector

            if fmt == "geojson":
                gdf = gdf.to_crs(4326)  # RFC 7946: GeoJSON is WGS84 lon/lat
            write_vector(gdf, path, layer=layer if fmt == "gpkg" else None)
    except SourceError:
        raise
    except OSError as exc:
        raise SourceError(_unwritable(path, exc)) from None
    return path


def _unwritable(path: Path, exc: OSError) -> str:
    """The message for a target that cannot be written."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"{path}: cannot write the export, the folder {path.parent} is read-only ({reason}); "
                "choose a writable folder for the output file or change the folder's permissions")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return (f"{path}: cannot write the export, a part of {path.parent} is a file, not a folder "
                f"({reason}); choose another output path")
    if exc.errno == errno.ENOSPC:
        return f"{path}: cannot write the export, the disk is full ({reason}); free space or write elsewhere"
    return f"{path}: cannot write the export ({reason}); check the output path"
