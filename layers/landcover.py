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

__all__ = ["SCHEME_DIR", "SPEC", "derive", "read_class_table"]

SPEC = LAYERS["landcover"]
SCHEME_DIR = DATA_DIR / "landcover"


def derive(gdf, report=None):
    """Fill ``area_m2`` from the geometry."""
    return fill_area_m2(gdf)


def read_class_table(scheme_or_path: str | Path) -> dict[int, str]:
    """Read a class table: source code -> twin class (codes mapping to '' are nodata).

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
    path = Path(scheme_or_path)
    if not path.suffix:
        path = SCHEME_DIR / f"{scheme_or_path}.csv"
    if not path.exists():
        known = ", ".join(p.stem for p in SCHEME_DIR.glob("*.csv"))
        msg = f"class table {path} not found; use a scheme among: {known}, or a CSV path"
        raise ConfigError(msg)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"source_code", "lc_class"} <= set(rows[0]):
        msg = f"{path}: needs columns source_code and lc_class"
        raise ConfigError(msg)
    table: dict[int, str] = {}
    problems = []
    for n, row in enumerate(rows, start=2):
        code, cls = row["source_code"].strip(), row["lc_class"].strip()
        if not code.lstrip("-").isdigit():
            problems.append(f"line {n}: source_code {code!r} is not an integer")
            continue
        if int(code) in table:
            problems.append(f"line {n}: source_code {code} appears twice")
        if cls and cls not in LANDCOVER_CLASSES:
            known = ", ".join(LANDCOVER_CLASSES)
            problems.append(f"line {n}: lc_class {cls!r} is not a twin class ({known})")
        table[int(code)] = cls
    if problems:
        msg = f"{path}: " + "; ".join(problems)
        raise ConfigError(msg)
    return table
