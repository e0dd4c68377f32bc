"""Open building datasets recognised by their columns: Overture Maps, Google Open Buildings, Microsoft.

Each layout has a reader (file -> frame with the dataset's own columns) and a
pure mapping (dataset columns -> the twin's building columns). Heights the
dataset lacks stay NaN: :func:`layers.conform.conform_layer` then estimates
them from floors or a default and flags them ``height_source = 'estimated'``.
Every row is real (``is_synthetic = False``) and its ``source`` names the
dataset, its licence and the file. Column and class mappings are data
(``data/buildings/open_datasets.toml``).

References
----------
Overture Maps buildings schema: https://docs.overturemaps.org/schema/reference/buildings/building/
Google Open Buildings (v3 CSV, 2.5D Temporal): https://sites.research.google/open-buildings/
Microsoft GlobalMLBuildingFootprints: https://github.com/microsoft/GlobalMLBuildingFootprints
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.config import DATA_DIR
from twin.errors import SourceError
from twin.params import load_toml

__all__ = [
    "LAYOUTS",
    "detect_layout",
    "licence_of",
    "map_google",
    "map_microsoft",
    "map_overture",
    "mapping",
    "read_open_buildings",
]

#: Columns that identify each layout.
OVERTURE_COLUMNS = frozenset({"sources", "height", "num_floors", "roof_shape", "class"})
GOOGLE_COLUMNS = frozenset({"latitude", "longitude", "area_in_meters", "confidence", "geometry"})
MICROSOFT_PROPERTIES = frozenset({"height", "confidence"})

_JSONL_SUFFIXES = (".geojsonl", ".geojsonseq", ".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv", ".csv.gz")

Rejected = list[tuple[str, str]]


@cache
def mapping() -> dict[str, Any]:
    """The dataset table ``data/buildings/open_datasets.toml``."""
    return load_toml(DATA_DIR / "buildings" / "open_datasets.toml")


def licence_of(layout: str) -> str:
    """``'<dataset> (<licence>)'`` for a layout, as recorded in ``source`` and the catalog."""
    m = mapping()[layout]
    return f"{m['dataset']} ({m['licence']})"


def _name(path: Path) -> str:
    return path.name.lower()


def detect_layout(path: str | Path, columns: list[str] | None = None) -> str | None:
    """Which open dataset a file is, from its name and columns, or ``None`` for the twin's own layout.

    Parameters
    ----------
    path : path-like
        The input file.
    columns : list of str, optional
        Its columns (GeoJSON/GeoPackage already read); GeoParquet and CSV headers are read here.
    """
    path = Path(path)
    name = _name(path)
    if name.endswith(_JSONL_SUFFIXES) or name.endswith(tuple(s + ".gz" for s in _JSONL_SUFFIXES)):
        return "microsoft"
    if name.endswith(_CSV_SUFFIXES):
        return "google"
    if columns is None and name.endswith((".parquet", ".geoparquet")) and path.is_file():
        import pyarrow.parquet as pq

        try:
            columns = list(pq.read_schema(path).names)
        except Exception:  # unreadable files get their error from the ordinary reader
            return None
    if columns is None:
        return None
    cols = set(columns)
    if "sources" in cols and len(cols & OVERTURE_COLUMNS) >= 3:
        return "overture"
    if GOOGLE_COLUMNS - {"geometry"} <= cols:
        return "google"
    if "height" in cols and cols - {"geometry"} <= MICROSOFT_PROPERTIES:
        return "microsoft"
    return None


def _open_text(path: Path):
    if _name(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _read_overture(path: Path) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError:  # a plain Parquet with WKB geometry and no 'geo' metadata (e.g. a DuckDB export)
        df = pd.read_parquet(path)
        if "geometry" not in df.columns:
            msg = f"{path}: an Overture buildings file needs its 'geometry' column (WKB)"
            raise SourceError(msg) from None
        geoms = shapely.from_wkb(df.pop("geometry").to_numpy())
        return gpd.GeoDataFrame(df, geometry=geoms, crs="OGC:CRS84")


def _read_google(path: Path) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(path, dtype={"full_plus_code": "string"})
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"{path}: not a readable Google Open Buildings CSV ({exc}); re-download the tile"
        raise SourceError(msg) from None
    missing = sorted(GOOGLE_COLUMNS - set(df.columns))
    if missing:
        msg = (f"{path}: a Google Open Buildings CSV needs columns {', '.join(sorted(GOOGLE_COLUMNS))}; "
               f"missing {', '.join(missing)}")
        raise SourceError(msg)
    wkt = df.pop("geometry").astype("object")
    try:
        geoms = shapely.from_wkt(wkt.where(wkt.notna(), None).to_numpy())
    except shapely.errors.GEOSException as exc:
        msg = f"{path}: column 'geometry' holds text that is not WKT ({exc}); it must be WKT polygons"
        raise SourceError(msg) from None
    return gpd.GeoDataFrame(df, geometry=geoms, crs="EPSG:4326")


def _read_microsoft(path: Path) -> gpd.GeoDataFrame:
    props: list[dict[str, Any]] = []
    geoms: list[Any] = []
    with _open_text(path) as fh:
        for n, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                feat = json.loads(line)
                geoms.append(shapely.geometry.shape(feat["geometry"]))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
                msg = (f"{path}: line {n} is not a GeoJSON Feature ({type(exc).__name__}: {exc}); "
                       "Microsoft footprints come one Feature per line (GeoJSONL)")
                raise SourceError(msg) from None
            props.append(feat.get("properties") or {})
    if not geoms:
        msg = f"{path}: no features; check that the right file was given"
        raise SourceError(msg)
    return gpd.GeoDataFrame(pd.DataFrame(props), geometry=geoms, crs="EPSG:4326")


_READERS: dict[str, Callable[[Path], gpd.GeoDataFrame]] = {
    "overture": _read_overture,
    "google": _read_google,
    "microsoft": _read_microsoft,
}


def _positive(values: Any, index: pd.Index) -> pd.Series:
    """Numbers > 0 kept, everything else (missing, -1 sentinels, 0) NaN."""
    num = pd.to_numeric(pd.Series(values, index=index), errors="coerce").astype("float64")
    return num.where(num > 0)


def _frame(gdf: gpd.GeoDataFrame, cols: dict[str, Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, index=gdf.index, geometry=gdf.geometry.values, crs=gdf.crs)


def _first_dataset(sources: Any) -> str:
    """The dataset of an Overture row's geometry (its first ``sources`` entry)."""
    if sources is None or (isinstance(sources, float) and np.isnan(sources)):
        return ""
    for entry in list(sources):
        if isinstance(entry, dict) and entry.get("dataset"):
            return str(entry["dataset"])
    return ""


def map_overture(gdf: gpd.GeoDataFrame, file: str) -> tuple[gpd.GeoDataFrame, Rejected]:
    """Overture buildings -> twin building columns (pure).

    ``height`` [m] is observed; ``num_floors`` gives ``floors``; ``roof_shape``
    and ``class``/``subtype`` map through the dataset table. Underground
    buildings (``is_underground``) are rejected.
    """
    m = mapping()["overture"]
    rejected: Rejected = []
    if "is_underground" in gdf.columns:
        under = gdf["is_underground"].fillna(False).astype(bool)
        ids = gdf["id"] if "id" in gdf.columns else pd.Series(gdf.index.astype(str), index=gdf.index)
        rejected = [(f"ovt-{i}", "Overture is_underground: not a building above ground") for i in ids[under]]
        gdf = gdf.loc[~under]
    idx = gdf.index
    height = _positive(gdf.get("height", np.nan), idx)
    floors = _positive(gdf.get("num_floors", np.nan), idx).round()
    roof = (gdf["roof_shape"] if "roof_shape" in gdf else pd.Series(None, index=idx, dtype="object"))
    roof_type = roof.map(m["roof_shape"]).fillna("unknown")
    none = pd.Series(None, index=idx, dtype="object")
    by_class = gdf.get("class", none).map(m["class"])
    by_sub = gdf.get("subtype", none).map(m["subtype"])
    use = by_class.fillna(by_sub).fillna("other")
    names = pd.Series("", index=idx, dtype="object")
    if "names" in gdf.columns:
        names = gdf["names"].map(lambda v: str(v.get("primary") or "") if isinstance(v, dict) else "")
    datasets = (gdf["sources"].map(_first_dataset) if "sources" in gdf
                else pd.Series("", index=idx, dtype="object"))
    head = f"Overture Maps buildings, {m['licence'].split(' ')[0]}"
    source = datasets.map(lambda d: f"{head}; dataset {d}; file {file}" if d else f"{head}; file {file}")
    cols: dict[str, Any] = {
        "name": names.to_numpy(),
        "height_m": height.to_numpy(),
        "floors": floors.to_numpy(),
        "roof_type": roof_type.to_numpy(),
        "use_class": use.to_numpy(),
        "height_source": np.where(height.notna(), "observed", "estimated"),
        "is_synthetic": False,
        "source": source.to_numpy(),
    }
    if "id" in gdf.columns:
        cols["building_id"] = ("ovt-" + gdf["id"].astype(str)).to_numpy()
    return _frame(gdf, cols), rejected


def map_google(gdf: gpd.GeoDataFrame, file: str, min_confidence: float | None = None
               ) -> tuple[gpd.GeoDataFrame, Rejected]:
    """Google Open Buildings (v3 polygons; 2.5D height columns where present) -> twin columns (pure).

    Rows whose ``confidence`` is below ``min_confidence`` (default ``[google]
    min_confidence`` of the dataset table) or missing are rejected with the reason.
    The first column of ``[google] height_columns`` present gives ``height_m``
    (observed, a 2.5D model estimate); without one every height is estimated.
    ``full_plus_code`` gives the id when present and unique.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The file's rows with Google's columns.
    file : str
        File name recorded in ``source``.
    min_confidence : float, optional
        Least confidence kept [0-1].

    Raises
    ------
    SourceError
        ``min_confidence`` outside [0, 1].
    """
    m = mapping()["google"]
    thr = float(m["min_confidence"] if min_confidence is None else min_confidence)
    if not 0.0 <= thr <= 1.0:
        msg = f"min_confidence {thr:g} is not a share; give a value in 0-1 (Google's scores are 0.65-1.0)"
        raise SourceError(msg)
    rejected: Rejected = []
    if "confidence" in gdf.columns:
        conf = pd.to_numeric(gdf["confidence"], errors="coerce")
        low = ~(conf >= thr)
        if low.any():
            ids = (gdf["full_plus_code"].astype(str) if "full_plus_code" in gdf.columns
                   else pd.Series(gdf.index.astype(str), index=gdf.index))
            rejected = [(f"gob-{i}", f"Google confidence {c:.3f} below {thr:g} (--min-confidence)"
                         if np.isfinite(c) else "Google confidence missing")
                        for i, c in zip(ids[low], conf[low].to_numpy(dtype="float64", na_value=np.nan),
                                        strict=True)]
            gdf = gdf.loc[~low]
    idx = gdf.index
    hcol = next((c for c in m["height_columns"] if c in gdf.columns), None)
    height = _positive(gdf[hcol] if hcol else np.nan, idx)
    lic = m["licence"].split(" or ")[0] + " / ODbL-1.0"
    what = "2.5D heights" if hcol else "footprints"
    cols: dict[str, Any] = {
        "height_m": height.to_numpy(),
        "height_source": np.where(height.notna(), "observed", "estimated"),
        "is_synthetic": False,
        "source": f"Google Open Buildings {what}, {lic}; file {file}",
    }
    if "full_plus_code" in gdf.columns:
        codes = gdf["full_plus_code"].astype("string")
        if codes.notna().all() and codes.is_unique:
            cols["building_id"] = ("gob-" + codes).to_numpy(dtype=object)
    return _frame(gdf, cols), rejected


def map_microsoft(gdf: gpd.GeoDataFrame, file: str) -> tuple[gpd.GeoDataFrame, Rejected]:
    """Microsoft building footprints -> twin columns (pure); ``height = -1`` means unknown."""
    height = _positive(gdf.get("height", np.nan), gdf.index)
    cols: dict[str, Any] = {
        "height_m": height.to_numpy(),
        "height_source": np.where(height.notna(), "observed", "estimated"),
        "is_synthetic": False,
        "source": (f"Microsoft Global ML Building Footprints, {mapping()['microsoft']['licence']}; "
                   f"file {file}"),
    }
    return _frame(gdf, cols), []


#: Layout -> mapping function.
LAYOUTS: dict[str, Callable[[gpd.GeoDataFrame, str], tuple[gpd.GeoDataFrame, Rejected]]] = {
    "overture": map_overture,
    "google": map_google,
    "microsoft": map_microsoft,
}


def read_open_buildings(path: str | Path, layout: str, frame: gpd.GeoDataFrame | None = None,
                        min_confidence: float | None = None) -> tuple[gpd.GeoDataFrame, Rejected]:
    """Read (unless ``frame`` is given) and map an open building file of ``layout``.

    ``min_confidence`` (Google Open Buildings only) overrides the dataset table's
    least confidence kept; for another layout it is an error.

    Returns
    -------
    gdf : geopandas.GeoDataFrame
        Twin building columns in the file's CRS, ready for :func:`layers.conform.conform_layer`.
    rejected : list of (id, reason)
        Rows left out by the mapping.
    """
    path = Path(path)
    if layout not in LAYOUTS:
        msg = f"unknown open building layout {layout!r}; known: {', '.join(LAYOUTS)}"
        raise SourceError(msg)
    if frame is None and (not path.is_file() or path.stat().st_size == 0):
        msg = f"{path}: no such file or the file is empty; check the path"
        raise SourceError(msg)
    if min_confidence is not None and layout != "google":
        msg = (f"{path}: --min-confidence applies to Google Open Buildings files; this file is "
               f"{mapping()[layout]['dataset']}")
        raise SourceError(msg)
    if frame is None:
        frame = _READERS[layout](path)
    if layout == "google":
        return map_google(frame, path.name, min_confidence)
    return LAYOUTS[layout](frame, path.name)
