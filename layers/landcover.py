"""Land cover: polygons in the twin's classes, and class tables mapping any source scheme.

A scheme table (``data/landcover/<scheme>.csv``) maps a source's codes (MODIS
IGBP, FROM-GLC, a user's 10 m map) to :data:`twin.schema.LANDCOVER_CLASSES`.
"""

from __future__ import annotations

import csv
from pathlib import Path

from layers._derive import fill_area_m2
from twin.config import DATA_DIR
from twin.errors import ConfigError
from twin.schema import LANDCOVER_CLASSES, LAYERS

__all__ = ["SCHEME_DIR", "SPEC", "classify", "derive", "normalise_code", "read_class_table",
           "read_code_table"]

SPEC = LAYERS["landcover"]
SCHEME_DIR = DATA_DIR / "landcover"


def derive(gdf, report=None):
    """Fill ``area_m2`` from the geometry."""
    return fill_area_m2(gdf)


def normalise_code(code: object) -> str:
    """A class code as the tables key it: digits without leading zeros, letters upper case.

    ``"0301"``, ``301`` and ``301.0`` all become ``"301"``; ``"05h1"`` becomes ``"05H1"``.
    """
    text = str(code).strip().upper()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return str(int(text)) if text.isdigit() else text


def _table_path(scheme_or_path: str | Path) -> Path:
    path = Path(scheme_or_path)
    if not path.suffix:
        path = SCHEME_DIR / f"{scheme_or_path}.csv"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SCHEME_DIR.glob("*.csv")))
        msg = f"class table {path} not found; use a scheme among: {known}, or a CSV path"
        raise ConfigError(msg)
    return path


def read_code_table(scheme_or_path: str | Path) -> dict[str, str]:
    """Read a class table keyed by code text: source code -> twin class ('' is nodata).

    Codes are keyed by :func:`normalise_code`, so land-survey codes with letters
    (``05H1``, ``0202K``) are kept and ``0301`` matches ``301``.

    Parameters
    ----------
    scheme_or_path : str or path-like
        A scheme name in ``data/landcover/`` (``modis_igbp``, ``worldcover``,
        ``cn_landsurvey``) or a CSV path with columns ``source_code`` and ``lc_class``.

    Raises
    ------
    ConfigError
        Missing columns, a blank or duplicate code, or an unknown twin class.
    """
    path = _table_path(scheme_or_path)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"source_code", "lc_class"} <= set(rows[0]):
        msg = f"{path}: needs columns source_code and lc_class"
        raise ConfigError(msg)
    table: dict[str, str] = {}
    problems = []
    for n, row in enumerate(rows, start=2):
        code, cls = (row["source_code"] or "").strip(), (row["lc_class"] or "").strip()
        if not code or not code.lstrip("-").isalnum():
            problems.append(f"line {n}: source_code {code!r} is not a class code")
            continue
        key = "-" + normalise_code(code[1:]) if code.startswith("-") else normalise_code(code)
        if key in table:
            problems.append(f"line {n}: source_code {code} appears twice")
        if cls and cls not in LANDCOVER_CLASSES:
            known = ", ".join(LANDCOVER_CLASSES)
            problems.append(f"line {n}: lc_class {cls!r} is not a twin class ({known})")
        table[key] = cls
    if problems:
        msg = f"{path}: " + "; ".join(problems)
        raise ConfigError(msg)
    return table


def read_class_table(scheme_or_path: str | Path) -> dict[int, str]:
    """Read a class table for rasters: integer source code -> twin class ('' is nodata).

    Codes with letters (land-survey ``05H1``, ``0202K``) cannot occur in a raster
    and are left out; every other code must be an integer.

    Parameters
    ----------
    scheme_or_path : str or path-like
        A scheme name in ``data/landcover/`` (e.g. ``"modis_igbp"``) or a CSV path
        with columns ``source_code`` and ``lc_class``.

    Raises
    ------
    ConfigError
        Missing columns, a non-integer code, a duplicate code, or an unknown twin class.
    """
    text = read_code_table(scheme_or_path)
    table: dict[int, str] = {}
    for code, cls in text.items():
        digits = code.lstrip("-")
        if digits.isdigit():
            table[int(code)] = cls
        elif digits.isalpha():
            msg = f"{_table_path(scheme_or_path)}: source_code {code!r} is not an integer"
            raise ConfigError(msg)
    return table


def classify(gdf, scheme: str | Path, code_column: str, *, file: str = "<input>"):
    """Map a polygon layer's source class codes to twin classes (pure).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Land-cover polygons with a column of source codes (e.g. the land survey's ``DLBM``).
    scheme : str or path-like
        The class table (:func:`read_code_table`).
    code_column : str
        The column holding the source codes.
    file : str
        Name of the input, for messages.

    Returns
    -------
    out : geopandas.GeoDataFrame
        The rows whose code maps to a class, with ``lc_class``, ``source_scheme``
        and ``source_class`` (the code as given) set.
    dropped : list of (str, str)
        ``(row, reason)`` for rows whose code is nodata in the table.

    Raises
    ------
    SchemaError
        Codes the table does not know (with their row counts), or no column of codes.
    """
    from twin.errors import SchemaError

    if code_column not in gdf.columns:
        cols = ", ".join(map(str, gdf.columns))
        msg = (f"{file}: no column {code_column!r} of class codes (columns: {cols}); "
               f"name it with --rename COLUMN={code_column}")
        raise SchemaError(msg)
    table = read_code_table(scheme)
    raw = gdf[code_column].astype("object")
    missing = raw.isna() | (raw.astype(str).str.strip() == "")
    if missing.any():
        msg = (f"{file}: {int(missing.sum())} rows have no class code in {code_column!r} "
               f"(first rows {list(gdf.index[missing][:5])}); fill or remove them")
        raise SchemaError(msg)
    keys = raw.map(normalise_code)
    unknown = keys[~keys.isin(list(table))]
    if len(unknown):
        counts = unknown.value_counts().head(10).to_dict()
        scheme_name = Path(scheme).stem
        msg = (f"{file}: class codes {counts} (code: rows) in {code_column!r} are not in the {scheme_name} "
               "class table; check --scheme or add the codes to the table")
        raise SchemaError(msg)
    cls = keys.map(table)
    nodata = cls == ""
    dropped = [(str(i), f"{code_column}={raw[i]} is nodata in {Path(scheme).stem}")
               for i in gdf.index[nodata]]
    out = gdf.loc[~nodata].copy()
    out["lc_class"] = cls[~nodata].to_numpy()
    out["source_scheme"] = Path(scheme).stem
    out["source_class"] = raw[~nodata].astype(str).str.strip().to_numpy()
    return out, dropped
