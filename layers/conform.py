"""Bring any input frame to a layer's declared schema, repairing what is safe and reporting it.

:func:`conform_layer` is the one validation path every importer and the
generator's output go through: CRS, required columns, identifiers, geometry
type and validity, value ranges and categories, defaults, derived columns.
Schema-level problems (a missing column, no CRS, duplicate ids, absurd
heights, unknown categories) raise one :class:`~twin.errors.SchemaError` that
names the file, the columns or ids, and the fix. Row-level geometry problems
are repaired where safe (``shapely.make_valid``) or the row is rejected; both
are listed in the returned :class:`ConformReport`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.crs import METRIC_CRS, to_metric
from twin.errors import SchemaError, listing, require_columns
from twin.schema import FIELDS, LAYERS, LayerSpec

__all__ = ["ConformReport", "conform_layer", "derive_columns"]

logger = logging.getLogger(__name__)

_GEOM_TYPES = {
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
    "point": ("Point",),
}


@dataclass
class ConformReport:
    """What :func:`conform_layer` did to an input.

    Attributes
    ----------
    layer, file : str
        Layer name and the input's name (for messages).
    n_in, n_out : int
        Rows read and rows kept.
    repaired : list of (id, reason)
        Rows kept after a safe repair (invalid geometry made valid, height estimated, ...).
    rejected : list of (id, reason)
        Rows that could not be used, with the reason.
    """

    layer: str
    file: str
    n_in: int = 0
    n_out: int = 0
    repaired: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (
            f"{self.layer} from {self.file}: {self.n_out}/{self.n_in} rows kept, "
            f"{len(self.repaired)} repaired, {len(self.rejected)} rejected"
        )

    def to_frame(self) -> pd.DataFrame:
        """Repairs and rejections as one table (``id``, ``action``, ``reason``)."""
        rows = [(i, "repaired", r) for i, r in self.repaired]
        rows += [(i, "rejected", r) for i, r in self.rejected]
        return pd.DataFrame(rows, columns=["id", "action", "reason"])


def _coerce(series: pd.Series, dtype: str, name: str, where: str) -> pd.Series:
    """Cast a column to its declared dtype, naming the rows that cannot be cast."""
    if dtype == "float64":
        out = pd.to_numeric(series, errors="coerce").astype("float64")
        bad = series.notna() & out.isna()
    elif dtype == "int64":
        num = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & (num.isna() | (num.fillna(0) % 1 != 0))
        out = num.fillna(0).astype("int64") if not bad.any() else num
    elif dtype == "bool":
        mapping = {True: True, False: False, "true": True, "false": False,
                   "1": True, "0": False, "yes": True, "no": False, "t": True, "f": False}
        norm = series.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
        out = norm.map(lambda v: mapping.get(v) if not pd.isna(v) else False)
        bad = out.isna()
        out = out.fillna(False).astype(bool)
    else:  # string, category
        out = series.astype("object").where(series.notna(), "").map(str).astype("str")
        bad = pd.Series(False, index=series.index)
    if bad.any():
        msg = (
            f"{where}: column {name!r} must be {dtype}; rows {listing(series.index[bad])} hold "
            f"{listing(series[bad].unique())}; fix or blank those values"
        )
        raise SchemaError(msg)
    return out


def _fix_geometries(gdf: gpd.GeoDataFrame, spec: LayerSpec, report: ConformReport, ids: pd.Series):
    """Repair invalid geometries where safe; return a mask of rows to keep."""
    geoms = gdf.geometry.values
    keep = np.ones(len(gdf), dtype=bool)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        report.rejected.append((ids.iloc[i], "empty or missing geometry"))
    keep &= ~missing

    allowed = _GEOM_TYPES[spec.geometry]
    types = np.asarray(shapely.get_type_id(geoms))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"] + ["?"] * 10)
    type_names = np.where(types >= 0, names[np.clip(types, 0, 17)], "")
    wrong = keep & ~np.isin(type_names, allowed) & (type_names != "GeometryCollection")
    for i in np.flatnonzero(wrong):
        report.rejected.append(
            (ids.iloc[i], f"geometry is {type_names[i]}, layer {spec.name} needs {'/'.join(allowed)}")
        )
    keep &= ~wrong

    invalid = keep & ~shapely.is_valid(geoms)
    invalid |= keep & (type_names == "GeometryCollection")
    fixed = geoms.copy()
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        repaired = shapely.make_valid(geoms[i])
        parts = [g for g in shapely.get_parts(repaired) if g.geom_type in allowed]
        if spec.geometry == "polygon":
            parts = [g for g in parts if g.area > 0]
            candidate = shapely.multipolygons(parts) if len(parts) > 1 else (parts[0] if parts else None)
        elif spec.geometry == "line":
            candidate = shapely.multilinestrings(parts) if len(parts) > 1 else (parts[0] if parts else None)
        else:
            candidate = parts[0] if len(parts) == 1 else None
        if candidate is None or candidate.is_empty:
            report.rejected.append((ids.iloc[i], f"invalid geometry that cannot be repaired ({reason})"))
            keep[i] = False
        else:
            fixed[i] = candidate
            report.repaired.append((ids.iloc[i], f"invalid geometry made valid ({reason})"))
    gdf = gdf.set_geometry(gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs))
    return gdf, keep


def derive_columns(gdf: gpd.GeoDataFrame, layer: str, report: ConformReport | None = None):
    """Fill derived columns of a layer (areas, lengths, CIM level, speeds, ...).

    Pure: dispatches to the layer module's ``derive`` (``layers.<module>.derive``).
    """
    from layers import LAYER_MODULES

    module = LAYER_MODULES[layer]
    return module.derive(gdf, report)


def conform_layer(
    gdf: gpd.GeoDataFrame,
    layer: str,
    *,
    file: str = "<input>",
    crs=METRIC_CRS,
    rename: dict[str, str] | None = None,
    source: str | None = None,
    is_synthetic: bool | None = None,
) -> tuple[gpd.GeoDataFrame, ConformReport]:
    """Validate and normalise ``gdf`` to the schema of ``layer``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Input features with a CRS.
    layer : str
        A key of :data:`twin.schema.LAYERS`.
    file : str
        Name of the input, used in every message.
    crs : optional
        Metric CRS to store the layer in (the city's; EPSG:4549 by default).
    rename : dict, optional
        Input column -> schema column, applied first.
    source : str, optional
        Provenance to set where the input has no ``source`` column.
    is_synthetic : bool, optional
        Value of ``is_synthetic`` where the input has no such column
        (default False: imported data is observed data).

    Returns
    -------
    gdf : geopandas.GeoDataFrame
        Exactly ``LAYERS[layer].columns`` plus ``geometry``, in the metric CRS,
        on a fresh RangeIndex.
    report : ConformReport
        Rows repaired and rejected, with reasons.

    Raises
    ------
    SchemaError
        Unknown layer, missing required columns, no CRS, duplicate or blank ids,
        values out of range or outside their category, no usable rows.
    """
    if layer not in LAYERS:
        msg = f"unknown layer {layer!r}; choose one of {', '.join(LAYERS)}"
        raise SchemaError(msg)
    spec = LAYERS[layer]
    where = f"{file} (layer {layer})"
    report = ConformReport(layer=layer, file=file, n_in=len(gdf))
    if len(gdf) == 0:
        msg = f"{where}: has no features; check that the right file (and GeoPackage layer) was given"
        raise SchemaError(msg)
    if rename:
        gdf = gdf.rename(columns=rename)
    gdf = to_metric(gdf, crs, what=where)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")

    require_columns(gdf, [c for c in (spec.id_field, *spec.required) if not _derivable(layer, c, gdf)],
                    where, f"rename the matching input columns (e.g. `twin import {layer} FILE "
                    "--rename SRC=DEST`) or add them")

    gdf = gdf.reset_index(drop=True)
    if spec.id_field not in gdf.columns:  # derivable ids (boundaries never reach here)
        gdf[spec.id_field] = _geometry_ids(layer, gdf.geometry.values)
    ids = _coerce(gdf[spec.id_field], "string", spec.id_field, where).str.strip()
    blank = ids == ""
    if blank.any():
        msg = (f"{where}: {spec.id_field!r} is blank in rows {listing(ids.index[blank])}; "
               "every row needs an id")
        raise SchemaError(msg)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        msg = (
            f"{where}: duplicate {spec.id_field} values {listing(dup.unique())}; ids must be unique "
            "(deduplicate the input or give a column of unique ids with --rename)"
        )
        raise SchemaError(msg)
    gdf[spec.id_field] = ids

    gdf, keep = _fix_geometries(gdf, spec, report, ids)
    gdf = gdf.loc[keep].reset_index(drop=True)
    if len(gdf) == 0:
        msg = f"{where}: no usable rows (all {report.n_in} rejected: {report.rejected[0][1]} ...)"
        raise SchemaError(msg)

    # Declared columns: coerce types, check ranges and categories, fill defaults.
    for col in spec.columns:
        if col == spec.id_field:
            continue
        f = FIELDS[col]
        if col not in gdf.columns:
            if col in spec.defaults:
                gdf[col] = spec.defaults[col]
            elif col == "is_synthetic":
                gdf[col] = bool(is_synthetic) if is_synthetic is not None else False
            elif col == "source":
                gdf[col] = source or file
            else:
                gdf[col] = np.nan if f.dtype == "float64" else pd.NA
            if f.dtype in ("string", "category"):
                gdf[col] = gdf[col].astype("object").where(gdf[col].notna(), "").map(str)
            continue
        if f.dtype == "int64" and gdf[col].isna().any():
            continue  # derive() fills these (e.g. floors from height)
        gdf[col] = _coerce(gdf[col], f.dtype, col, where)

    gdf = derive_columns(gdf, layer, report)
    for col in spec.columns:
        f = FIELDS[col]
        if f.dtype == "int64" and gdf[col].dtype != "int64":
            num = pd.to_numeric(gdf[col], errors="coerce")
            if num.isna().any() and col in spec.defaults:
                num = num.fillna(spec.defaults[col])
            gdf[col] = _coerce(num, "int64", col, where)

    for col in spec.columns:
        f = FIELDS[col]
        values = gdf[col]
        if f.dtype in ("float64", "int64"):
            num = pd.to_numeric(values, errors="coerce")
            bad = pd.Series(False, index=gdf.index)
            if f.minimum is not None:
                bad |= num < f.minimum
            if f.maximum is not None:
                bad |= num > f.maximum
            if bad.any():
                rng = f"[{f.minimum}, {f.maximum}]"
                offenders = [f"{i}={v}" for i, v in zip(gdf.loc[bad, spec.id_field], num[bad], strict=True)]
                msg = (
                    f"{where}: {col} out of its plausible range {rng} {f.unit} for "
                    f"{listing(offenders)}; correct these values (or remove the rows) and import again"
                )
                raise SchemaError(msg)
        if f.dtype == "category" and f.allowed is not None:
            bad_vals = sorted(set(values.unique()) - set(f.allowed))
            if bad_vals:
                rows = gdf.loc[values.isin(bad_vals), spec.id_field]
                msg = (
                    f"{where}: {col} has values {listing(bad_vals)} (ids {listing(rows)}) that are "
                    f"not among {', '.join(repr(a) for a in f.allowed)}; map them to these classes"
                )
                raise SchemaError(msg)

    out = gpd.GeoDataFrame(gdf[list(spec.columns)], geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.rename_geometry("geometry") if out.geometry.name != "geometry" else out
    report.n_out = len(out)
    if report.repaired or report.rejected:
        logger.warning(report.summary())
    return out, report


def _derivable(layer: str, column: str, gdf) -> bool:
    """Columns an importer may derive instead of requiring."""
    if column == LAYERS[layer].id_field:
        return layer != "boundaries"  # ids are derived from the geometry (stable across re-imports)
    if layer == "buildings" and column == "height_m":
        return "floors" in gdf.columns
    return False


def _geometry_ids(layer: str, geoms) -> list[str]:
    """Stable ids from geometry: the same file imported twice gets the same ids."""
    import hashlib

    wkb = shapely.to_wkb(shapely.set_precision(geoms, 0.01), hex=False)
    return [f"{layer}-{hashlib.sha1(b).hexdigest()[:12]}" for b in wkb]
