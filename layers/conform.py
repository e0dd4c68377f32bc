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

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from twin.config import DATA_DIR
from twin.crs import METRIC_CRS, parse_crs, to_metric
from twin.errors import SchemaError, listing, require_columns
from twin.params import load_toml
from twin.schema import FIELDS, LAYERS, LayerSpec

__all__ = [
    "GATE_FILE",
    "CityExtent",
    "ConformReport",
    "check_crs_numbers",
    "conform_layer",
    "conform_raster",
    "derive_columns",
    "gate_limits",
]

#: Plausibility limits of the gate (extent shares, building sizes, DEM range), with sources.
GATE_FILE = DATA_DIR / "import" / "gate.toml"


@functools.cache
def gate_limits() -> dict[str, dict[str, float]]:
    """The limits of :data:`GATE_FILE` (``extent``, ``buildings``, ``dem`` tables)."""
    return load_toml(GATE_FILE)


@dataclass(frozen=True)
class CityExtent:
    """What an import is checked against: the city's boundary and its district codes.

    Attributes
    ----------
    city : str
        City id, for messages.
    boundary : shapely geometry
        The city's boundary polygon, in ``crs``.
    crs : str
        The city's metric CRS.
    district_codes : frozenset of str
        Adcodes of the city's districts/counties.
    """

    city: str
    boundary: Any
    crs: str
    district_codes: frozenset[str]

    @classmethod
    def from_boundaries(cls, boundaries: gpd.GeoDataFrame, city: str, crs: Any) -> CityExtent:
        """Build it from a twin's ``boundaries`` layer (the city row, else the union of all)."""
        b = boundaries.to_crs(crs)
        level = b["level"].astype(str)
        rows = b.loc[level == "city"] if (level == "city").any() else b
        return cls(city=city, boundary=shapely.union_all(rows.geometry.values), crs=str(crs),
                   district_codes=frozenset(b.loc[level == "district", "adcode"].astype(str)))

    def area_m2(self) -> float:
        """Area of the city boundary [m2]."""
        return float(self.boundary.area)

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
    notes : list of str
        What was done to the whole file (Z coordinates dropped, encoding detected).
    """

    layer: str
    file: str
    n_in: int = 0
    n_out: int = 0
    repaired: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and the CLI (with the file-wide notes: Z dropped, encoding, ...)."""
        line = (
            f"{self.layer} from {self.file}: {self.n_out}/{self.n_in} rows kept, "
            f"{len(self.repaired)} repaired, {len(self.rejected)} rejected"
        )
        return line + "".join(f"; {n}" for n in self.notes)

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
    elif dtype == "bool" and pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.astype(bool)  # already booleans: no per-row mapping (large imports)
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
    extent: CityExtent | None = None,
    min_cover: float | None = None,
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
    extent : CityExtent, optional
        The city the data must be of: a file mostly outside it, district codes that are
        not its districts, or (with ``min_cover``) too small a cover is refused; rows
        outside it are rejected. Importers pass it (``shell.importer`` does).
    min_cover : float, optional
        Least share of the city area the features' extent must cover (with ``extent``).

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
        values out of range or outside their category, no usable rows; and the gate's
        checks: coordinates that cannot be in the declared CRS, a file outside the city,
        infinite values, building heights and footprints beyond :data:`GATE_FILE` (with
        ``extent``), NaN in
        an integer column (with ``extent``, i.e. an import; a build fills the declared
        default and notes it in the report), unknown district codes, boundaries without
        districts.
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
    if gdf.crs is not None:
        valid = gdf.geometry.values[~(shapely.is_missing(gdf.geometry.values)
                                      | shapely.is_empty(gdf.geometry.values))]
        if len(valid):
            check_crs_numbers(shapely.total_bounds(valid), gdf.crs, where)
    gdf = _drop_z(gdf, report)
    source_crs = gdf.crs
    gdf = to_metric(gdf, crs, what=where)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    ok = shapely.is_missing(gdf.geometry.values) | shapely.is_empty(gdf.geometry.values)
    if not np.isfinite(shapely.total_bounds(gdf.geometry.values[~ok])).all():
        msg = (f"{where}: its coordinates do not fit its CRS {source_crs.to_string()}: reprojecting "
               f"them to {parse_crs(crs).to_string()} gives infinite numbers; declare the CRS the "
               "numbers are in (or fix the file's CRS)")
        raise SchemaError(msg)

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
    if extent is not None and keep.any():
        idx = np.flatnonzero(keep)
        inside = _check_extent(gdf.iloc[idx], extent, where, report, ids.iloc[idx], min_cover)
        keep[idx[~inside]] = False
    gdf = gdf.loc[keep].reset_index(drop=True)
    if len(gdf) == 0:
        msg = f"{where}: no usable rows (all {report.n_in} rejected: {report.rejected[0][1]} ...)"
        raise SchemaError(msg)
    _check_plausible(gdf, layer, where, spec, extent)
    supplied_int_nan = {c for c in spec.columns if c in gdf.columns and FIELDS[c].dtype == "int64"
                        and pd.to_numeric(gdf[c], errors="coerce").isna().any()}

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
            if col in supplied_int_nan and num.isna().any() and col in spec.defaults and extent is None:
                report.notes.append(f"{col} blank in {int(num.isna().sum())} rows, set to "
                                    f"{spec.defaults[col]!r}")
            elif col in supplied_int_nan and num.isna().any():  # an import: NaN is never a number
                msg = (f"{where}: integer column {col!r} is blank/NaN in rows "
                       f"{listing(gdf.loc[num.isna(), spec.id_field])}; fill those values "
                       f"(e.g. {spec.defaults.get(col, 0)!r} where unknown) or drop the column")
                raise SchemaError(msg)
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


# -- the gate: checks no schema can express -------------------------------------------------
def _fmt_bounds(bounds) -> str:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return f"x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}"


def check_crs_numbers(bounds, crs: Any, where: str) -> None:
    """Refuse coordinates whose numbers cannot be in the declared CRS.

    Degrees labelled as metres (all numbers within +-180/+-90 in a projected CRS, so
    every footprint is a few square micrometres) and metres labelled as degrees
    (numbers beyond +-180/+-90 in a geographic CRS) each raise one message naming the
    CRS to declare instead.

    Parameters
    ----------
    bounds : sequence of 4 float
        (minx, miny, maxx, maxy) of the data, in ``crs``.
    crs : CRS-like
        The CRS the file declares.
    where : str
        The file (and layer) for the message.

    Raises
    ------
    SchemaError
        Non-finite bounds or numbers that do not fit the CRS.
    """
    box = np.asarray(bounds, dtype="float64")
    if not np.isfinite(box).all():
        msg = (f"{where}: coordinates are not finite numbers ({_fmt_bounds(box)}); remove the "
               "features with infinite or missing coordinates and import again")
        raise SchemaError(msg)
    crs = parse_crs(crs, what=f"the CRS of {where}")
    minx, miny, maxx, maxy = box
    degree_like = bool(np.all(np.abs(box) <= [180, 90, 180, 90]))
    if crs.is_geographic and not degree_like:
        msg = (f"{where}: coordinates reach {_fmt_bounds(box)}, which cannot be degrees, but the "
               f"file declares {crs.to_string()} (lon/lat); they are metres of a projected CRS: "
               "declare that one (for Hangzhou and Huzhou usually EPSG:4549, CGCS2000 / "
               "Gauss-Kruger 120E) with --crs on a file without a CRS, or fix the file's CRS")
        raise SchemaError(msg)
    if crs.is_projected and degree_like:
        msg = (f"{where}: coordinates lie within {_fmt_bounds(box)}, which are lon/lat degrees, "
               f"but the file declares {crs.to_string()} in metres; declare EPSG:4326 (or "
               "EPSG:4490, CGCS2000) for it, e.g. `ogr2ogr -a_srs EPSG:4326 OUT IN`")
        raise SchemaError(msg)


def _lonlat_bounds(bounds, crs: Any) -> str:
    try:
        t = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
        lon0, lat0, lon1, lat1 = t.transform_bounds(*bounds)
    except (pyproj.exceptions.ProjError, ValueError):
        return _fmt_bounds(bounds)
    return f"lon {lon0:.3f}..{lon1:.3f}, lat {lat0:.3f}..{lat1:.3f}"


def _check_extent(gdf: gpd.GeoDataFrame, extent: CityExtent, where: str, report: ConformReport,
                  ids: pd.Series, min_cover: float | None) -> np.ndarray:
    """Rows inside the (buffered) city; raise when too few are, or they cover too little."""
    lim = gate_limits()["extent"]
    region = shapely.buffer(extent.boundary, float(lim["buffer_m"]))
    shapely.prepare(region)
    inside = np.asarray(shapely.intersects(region, gdf.geometry.values), dtype=bool)
    share = float(inside.mean()) if len(inside) else 0.0
    if share < float(lim["min_inside_share"]):
        dist_km = shapely.distance(extent.boundary, shapely.box(*gdf.total_bounds)) / 1000
        msg = (f"{where}: only {int(inside.sum())} of {len(inside)} features ({share:.0%}) lie in "
               f"{extent.city} (its boundary + {lim['buffer_m']:g} m); the file spans "
               f"{_lonlat_bounds(gdf.total_bounds, gdf.crs)}, {dist_km:.0f} km from the city: it is for "
               "another place or its CRS is wrong; import a file of this city (or check --crs)")
        raise SchemaError(msg)
    for i in np.flatnonzero(~inside):
        report.rejected.append((ids.iloc[i], f"outside {extent.city} (more than {lim['buffer_m']:g} m "
                                             "beyond its boundary)"))
    cover = float(lim["min_cover_share"]) if min_cover is None else float(min_cover)
    if cover > 0:
        hull = shapely.convex_hull(shapely.union_all(shapely.envelope(gdf.geometry.values[inside])))
        got = shapely.intersection(hull, extent.boundary).area / max(extent.area_m2(), 1e-9)
        if got < cover:
            msg = (f"{where}: the features cover {got:.0%} of {extent.city}, less than the {cover:.0%} "
                   "asked (--min-cover); import a file for the whole city or lower --min-cover")
            raise SchemaError(msg)
    return inside


def _check_plausible(gdf: gpd.GeoDataFrame, layer: str, where: str, spec: LayerSpec,
                     extent: CityExtent | None) -> None:
    """Infinite numbers, absurd building sizes and heights, unknown districts, districtless boundaries."""
    for col in gdf.columns:
        if col == gdf.geometry.name or col not in FIELDS or FIELDS[col].dtype not in ("float64", "int64"):
            continue
        num = pd.to_numeric(gdf[col], errors="coerce")
        inf = np.isinf(num.to_numpy(dtype="float64", na_value=np.nan))
        if inf.any():
            msg = (f"{where}: column {col!r} is infinite in rows {listing(gdf.loc[inf, spec.id_field])}; "
                   "blank those values (or correct them) and import again")
            raise SchemaError(msg)
    if layer == "buildings" and extent is not None:  # imports; the schema's ranges apply to all
        lim = gate_limits()["buildings"]
        if "height_m" in gdf.columns:
            h = pd.to_numeric(gdf["height_m"], errors="coerce")
            low = h < float(lim["min_height_m"])
            if low.any():
                offenders = [f"{i}={v:g}"
                             for i, v in zip(gdf.loc[low, spec.id_field], h[low], strict=True)]
                msg = (f"{where}: height_m below {lim['min_height_m']:g} m for {listing(offenders)}; a "
                       "height of 0 means unknown: blank those values (they are then estimated from "
                       "floors, flagged 'estimated') or correct them")
                raise SchemaError(msg)
        area = np.asarray(shapely.area(gdf.geometry.values), dtype="float64")
        for bad, what, fix in (
            (area > float(lim["max_footprint_area_m2"]),
             f"above {lim['max_footprint_area_m2'] / 1e6:g} km2", "these are not single buildings (a "
             "district or parcel polygon?); remove them or import the right layer"),
            (area < float(lim["min_footprint_area_m2"]),
             f"below {lim['min_footprint_area_m2']:g} m2", "the coordinates are probably in another "
             "unit or CRS than declared; fix the CRS (or remove the slivers)"),
        ):
            if bad.any():
                offenders = [f"{i}={a:.4g} m2"
                             for i, a in zip(gdf.loc[bad, spec.id_field], area[bad], strict=True)]
                msg = f"{where}: footprint area {what} for {listing(offenders)}; {fix}"
                raise SchemaError(msg)
    if layer == "boundaries" and "level" in gdf.columns \
            and not (gdf["level"].astype(str) == "district").any():
        msg = (f"{where}: has no district rows (level 'district'); the twin needs the city's "
               "districts/counties for its district totals and map: import a file with the city "
               "and district polygons (level, adcode, name_zh for each)")
        raise SchemaError(msg)
    if extent is not None and layer != "boundaries" and "district_adcode" in gdf.columns \
            and extent.district_codes:
        codes = gdf["district_adcode"].astype("object").where(gdf["district_adcode"].notna(), "")
        codes = codes.map(lambda v: str(v).strip())
        unknown = (codes != "") & ~codes.isin(extent.district_codes)
        if unknown.any():
            msg = (f"{where}: district_adcode {listing(sorted(codes[unknown].unique()))} (ids "
                   f"{listing(gdf.loc[unknown, spec.id_field])}) are not districts of {extent.city} "
                   f"({', '.join(sorted(extent.district_codes))}); correct them or blank them (they are "
                   "then filled from the boundaries)")
            raise SchemaError(msg)


def _drop_z(gdf: gpd.GeoDataFrame, report: ConformReport) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values
    has_z = np.asarray(shapely.has_z(geoms), dtype=bool)
    if not has_z.any():
        return gdf
    report.notes.append(f"Z coordinates of {int(has_z.sum())} features dropped (the twin stores 2D "
                        "geometry; building heights go in height_m)")
    return gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(geoms), index=gdf.index, crs=gdf.crs))


def conform_raster(path: str | Path, kind: str, *, extent: CityExtent | None = None,
                   min_cover: float | None = None) -> tuple[np.ma.MaskedArray, dict[str, Any]]:
    """Check a raster before it enters the twin; return its cells over the city and facts.

    Refused, each with one message naming the file and the fix: numbers that cannot
    be in the declared CRS (metres labelled EPSG:4326 and the reverse), a raster that
    does not overlap the city or covers less than ``min_cover`` of it, NaN cells when no
    nodata value is declared, no valid cell over the city (all nodata or NaN), and for
    a ``dem`` elevations outside the limits of :data:`GATE_FILE`.

    Parameters
    ----------
    path : path-like
        A GeoTIFF.
    kind : str
        ``dem``, ``wind_speed`` or ``landcover_raster`` (for messages and range checks).
    extent : CityExtent, optional
        The city; without it only the CRS, NaN and nodata checks run.
    min_cover : float, optional
        Least share of the city area the raster must cover (default from :data:`GATE_FILE`).

    Returns
    -------
    array : numpy.ma.MaskedArray
        Band 1 over the city (all of it without ``extent``), nodata and NaN masked.
    meta : dict
        ``nodata_cells`` and ``crs``.

    Raises
    ------
    SchemaError, SourceError
        As above; unreadable files raise :class:`~twin.errors.SourceError`.
    """
    from rasterio.warp import transform_geom

    from layers.io.files import open_raster

    path = Path(path)
    where = f"{path} ({kind} raster)"
    with open_raster(path, what=f"{kind} raster") as src:
        if src.width == 0 or src.height == 0 or src.count == 0:
            msg = f"{where}: has no cells ({src.width} x {src.height}, {src.count} bands); re-export it"
            raise SchemaError(msg)
        check_crs_numbers(tuple(src.bounds), src.crs.to_wkt(), where)
        window = None
        cover = 1.0
        if extent is not None:
            import rasterio.windows

            city = shapely.geometry.shape(transform_geom(extent.crs, src.crs.to_wkt(),
                                                         shapely.geometry.mapping(extent.boundary)))
            box = shapely.box(*src.bounds)
            cover = float(shapely.intersection(box, city).area / max(city.area, 1e-12))
            if cover <= 0:
                msg = (f"{where}: does not overlap {extent.city}; it spans "
                       f"{_lonlat_bounds(tuple(src.bounds), src.crs.to_wkt())}: it is for another "
                       "place or its CRS is wrong; use a raster covering the city")
                raise SchemaError(msg)
            need = float(gate_limits()["extent"]["raster_min_cover_share"]) if min_cover is None \
                else float(min_cover)
            if cover < need:
                msg = (f"{where}: covers {cover:.0%} of {extent.city}, less than the {need:.0%} asked; "
                       "use a raster covering the city (or accept it with --min-cover 0)")
                raise SchemaError(msg)
            window = rasterio.windows.from_bounds(*city.bounds, transform=src.transform)
            window = window.round_offsets().round_lengths().intersection(
                rasterio.windows.Window(0, 0, src.width, src.height))
        raw = src.read(1, window=window, masked=True)
        nodata = src.nodata
    data = np.ma.asarray(raw)
    if np.issubdtype(data.dtype, np.floating):
        nan = np.isnan(data.filled(0.0)) & ~np.ma.getmaskarray(data)
        if nan.any() and (nodata is None or not np.isnan(nodata)):
            msg = (f"{where}: {int(nan.sum())} cells are NaN but the raster declares "
                   f"{'no nodata value' if nodata is None else f'nodata {nodata:g}'}; declare NaN as "
                   f"nodata (`rio edit-info --nodata nan {path.name}`) so they count as missing")
            raise SchemaError(msg)
        data = np.ma.masked_invalid(data)
    if data.count() == 0:
        msg = (f"{where}: every cell over the city is nodata or NaN ({data.size} cells); the "
               "raster holds no values here: re-export it with data")
        raise SchemaError(msg)
    if kind == "dem":
        lim = gate_limits()["dem"]
        valid = data.compressed()
        bad = (valid < float(lim["min_m"])) | (valid > float(lim["max_m"]))
        if bad.any():
            msg = (f"{where}: {int(bad.sum())} cells hold elevations outside {lim['min_m']:g}.."
                   f"{lim['max_m']:g} m (min {valid.min():.6g}, max {valid.max():.6g}); they are "
                   "missing-value codes or another unit: set them to the raster's nodata value")
            raise SchemaError(msg)
    return data, {"nodata_cells": int(np.ma.count_masked(data)), "crs": str(src.crs.to_string()),
                  "city_cover_share": round(cover, 4)}
