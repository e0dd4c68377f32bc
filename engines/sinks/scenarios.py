"""What-if scenarios from polygons: afforestation, forest tending, wetland restoration, conversion.

A scenario is a vector file (GeoJSON, GeoPackage, ...) of polygons, applied in
file order (a later polygon wins where two overlap). Columns:

``action`` (required)
    ``afforestation``: non-forest land inside becomes ``to_class`` (a forest class,
    default ``mixed_forest``), age ``young``, growing stock ``growing_stock_m3_per_ha``
    (default 0). ``tending``: forest inside is tended (the forest-quality
    programme's 抚育, 002:96): its volume increment is multiplied by the class's
    ``tending_gain_factor`` (``data/sinks/forest_parameters.csv``); it moves ``age_shift``
    age classes (default 0: tending does not age a stand) and, if given, takes
    ``growing_stock_m3_per_ha``. ``wetland_restoration``: land inside (not open water)
    becomes ``wetland`` (e.g. Xiazhu Lake, Deqing). ``conversion``: land inside becomes
    ``to_class`` (any twin class).
``to_class``, ``age_shift``, ``growing_stock_m3_per_ha``, ``name`` (optional)

Patches that straddle a polygon's edge are split; the part inside changes. A
polygon that changes nothing leaves the patches exactly as they were.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from engines.sinks.factors import AGE_CLASSES, FOREST_CLASSES, VOLUME_CLASSES
from twin.errors import SchemaError, SourceError
from twin.schema import LANDCOVER_CLASSES

__all__ = ["ACTIONS", "apply_scenario", "compare_indicators", "read_scenario", "validate_scenario"]

logger = logging.getLogger(__name__)

#: Scenario actions.
ACTIONS = ("afforestation", "tending", "wetland_restoration", "conversion")


def read_scenario(path: str | Path, crs: Any = "EPSG:4549") -> gpd.GeoDataFrame:
    """Read and validate a scenario file, in ``crs`` (reprojected when the file differs).

    Raises
    ------
    SourceError
        Missing or unreadable file.
    SchemaError
        See :func:`validate_scenario`.
    """
    from layers.io.files import read_vector

    path = Path(path)
    if not path.exists():
        msg = f"scenario file {path} not found"
        raise SourceError(msg)
    gdf = read_vector(path)
    return validate_scenario(gdf, crs=crs, name=str(path))


def validate_scenario(gdf: gpd.GeoDataFrame, *, crs: Any = "EPSG:4549", name: str = "scenario"
                      ) -> gpd.GeoDataFrame:
    """Check a scenario frame and fill defaults; return it in ``crs``.

    Raises
    ------
    SchemaError
        No CRS, missing ``action``, unknown action or class, non-polygon geometry,
        bad ``age_shift`` or negative growing stock; the message names the rows.
    """
    if gdf.crs is None:
        msg = f"{name}: the scenario has no CRS; save it with one (e.g. EPSG:4549 or EPSG:4326)"
        raise SchemaError(msg)
    if "action" not in gdf.columns:
        msg = f"{name}: needs a column 'action' with one of {ACTIONS}"
        raise SchemaError(msg)
    gdf = gdf.to_crs(crs).reset_index(drop=True)
    n = len(gdf)
    problems = []
    i: int | np.integer  # row numbers below come from numpy and from range
    act = gdf["action"].fillna("").astype(str).str.strip()
    for i in np.flatnonzero(~act.isin(ACTIONS).to_numpy()):
        problems.append(f"row {i}: action {act.iloc[i]!r} not in {ACTIONS}")
    default_to = np.where(act == "afforestation", "mixed_forest",
                          np.where(act == "wetland_restoration", "wetland", ""))
    if "to_class" in gdf.columns:
        to = gdf["to_class"].fillna("").astype(str).str.strip().to_numpy()
        to = np.where(to == "", default_to, to)
    else:
        to = default_to
    for i in range(n):
        if act.iloc[i] == "afforestation" and to[i] not in FOREST_CLASSES:
            problems.append(f"row {i}: afforestation needs a forest to_class, got {to[i]!r}")
        if act.iloc[i] == "conversion" and to[i] not in LANDCOVER_CLASSES:
            problems.append(f"row {i}: conversion needs to_class among the twin classes, got {to[i]!r}")
    shift = (pd.to_numeric(gdf["age_shift"], errors="coerce") if "age_shift" in gdf.columns
             else pd.Series(np.nan, index=gdf.index))
    shift = shift.fillna(0.0)
    for i in np.flatnonzero(((shift != shift.round()) | (shift.abs() > 4)).to_numpy()):
        problems.append(f"row {i}: age_shift must be an integer in -4..4")
    gs = (pd.to_numeric(gdf["growing_stock_m3_per_ha"], errors="coerce")
          if "growing_stock_m3_per_ha" in gdf.columns else pd.Series(np.nan, index=gdf.index))
    for i in np.flatnonzero((gs < 0).to_numpy()):
        problems.append(f"row {i}: growing_stock_m3_per_ha is negative")
    kinds = shapely.get_type_id(gdf.geometry.to_numpy())
    for i in np.flatnonzero(~np.isin(kinds, [3, 6])):
        problems.append(f"row {i}: geometry must be a Polygon or MultiPolygon")
    if problems:
        msg = f"{name}: " + "; ".join(problems[:20])
        raise SchemaError(msg)
    out = gdf[["geometry"]].copy()
    out["action"] = act.to_numpy()
    out["to_class"] = to
    out["age_shift"] = shift.astype("int64").to_numpy()
    out["growing_stock_m3_per_ha"] = gs.to_numpy(dtype="float64")
    out["name"] = gdf["name"].fillna("").astype(str) if "name" in gdf.columns else ""
    return out


def _change(row: pd.Series, act: Any) -> dict | None:
    """New attributes for a patch under one action, or None when nothing changes."""
    lc = row["lc_class"]
    if act.action == "afforestation":
        if lc in FOREST_CLASSES or lc in ("water", "built_up"):
            return None
        gs = act.growing_stock_m3_per_ha
        return {"lc_class": act.to_class, "forest_age_class": "young",
                "growing_stock_m3_per_ha": (0.0 if not np.isfinite(gs) else gs)
                if act.to_class in VOLUME_CLASSES else np.nan}
    if act.action == "tending":
        if lc not in VOLUME_CLASSES:
            return None
        age = row.get("forest_age_class", "") or ""
        new: dict[str, Any] = {}
        if not bool(row.get("is_tended", False)):
            new["is_tended"] = True
        if age in AGE_CLASSES and act.age_shift:
            k = int(np.clip(AGE_CLASSES.index(age) + act.age_shift, 0, len(AGE_CLASSES) - 1))
            if AGE_CLASSES[k] != age:
                new["forest_age_class"] = AGE_CLASSES[k]
        gs = act.growing_stock_m3_per_ha
        if np.isfinite(gs) and gs != row.get("growing_stock_m3_per_ha"):
            new["growing_stock_m3_per_ha"] = gs
        return new or None
    if act.action == "wetland_restoration":
        if lc in ("wetland", "water"):
            return None
        return {"lc_class": "wetland", "forest_age_class": "", "growing_stock_m3_per_ha": np.nan}
    # conversion
    if lc == act.to_class:
        return None
    return {"lc_class": act.to_class, "forest_age_class": "young" if act.to_class in VOLUME_CLASSES
            else "", "growing_stock_m3_per_ha": 0.0 if act.to_class in VOLUME_CLASSES else np.nan}


def apply_scenario(patches: gpd.GeoDataFrame, scenario: gpd.GeoDataFrame,
                   id_field: str = "landcover_id") -> gpd.GeoDataFrame:
    """Return the land-cover patches as they would be after the scenario.

    Parameters
    ----------
    patches : GeoDataFrame
        The ``landcover`` layer (``lc_class``, ``area_m2``, ``forest_age_class``,
        ``growing_stock_m3_per_ha``, ...), metric CRS.
    scenario : GeoDataFrame
        From :func:`validate_scenario`, same CRS.
    id_field : str
        Patch id column; split parts get ``<id>~s<k>`` for the part inside polygon k.

    Returns
    -------
    GeoDataFrame
        Patches with the changes; ``area_m2`` recomputed for split parts; a column
        ``scenario_changed`` (bool).
    """
    if scenario.crs is not None and patches.crs is not None and scenario.crs != patches.crs:
        scenario = scenario.to_crs(patches.crs)
    out = patches.copy()
    for col in ("lc_class", "forest_age_class"):
        if col in out.columns:
            out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    out["is_tended"] = (out["is_tended"].fillna(False).astype(bool) if "is_tended" in out.columns
                        else False)
    out["scenario_changed"] = False
    for k, act in enumerate(scenario.itertuples(index=False)):
        tree = shapely.STRtree(out.geometry.to_numpy())
        cand = tree.query(act.geometry, predicate="intersects")
        if not len(cand):
            continue
        new_rows, drop = [], []
        geoms = out.geometry.to_numpy()
        for i in cand:
            row = out.iloc[i]
            change = _change(row, act)
            if change is None:
                continue
            g = geoms[i]
            if shapely.covers(act.geometry, g):
                for col, v in change.items():
                    out.iloc[i, out.columns.get_loc(col)] = v
                out.iloc[i, out.columns.get_loc("scenario_changed")] = True
                continue
            inside = shapely.intersection(g, act.geometry)
            if inside.is_empty or inside.area <= 0:
                continue
            outside = shapely.difference(g, act.geometry)
            drop.append(out.index[i])
            part_in = row.copy()
            for col, v in change.items():
                part_in[col] = v
            part_in["geometry"] = inside
            part_in[id_field] = f"{row[id_field]}~s{k}"
            part_in["scenario_changed"] = True
            new_rows.append(part_in)
            if not outside.is_empty and outside.area > 0:
                part_out = row.copy()
                part_out["geometry"] = outside
                new_rows.append(part_out)
        if drop:
            kept = out.drop(index=drop)
            add = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=out.crs)
            add["area_m2"] = add.geometry.area
            out = pd.concat([kept, add], ignore_index=True)
            out = gpd.GeoDataFrame(out, geometry="geometry", crs=patches.crs)
    logger.info("scenario changed %d patches", int(out["scenario_changed"].sum()))
    return out


def compare_indicators(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Indicator values before and after a scenario, with the change.

    Parameters
    ----------
    before, after : DataFrame
        Outputs of :func:`engines.sinks.indicators.compute_indicators` (one row per target is
        collapsed to one per indicator).

    Returns
    -------
    DataFrame
        ``level``, ``adcode``, ``name_zh``, ``indicator``, ``unit``, ``method``,
        ``value_before``, ``value_after``, ``change`` (after - before), and the
        governing target's ``target_id`` / ``target_value`` with ``gap_after``
        (target - after; positive = still short) and ``synthetic_share`` (of the zone's area after
        the scenario).
    """
    key = ["level", "adcode", "indicator", "method"]
    b = before.sort_values("is_governing", ascending=False).drop_duplicates(key)
    a = after.sort_values("is_governing", ascending=False).drop_duplicates(key)
    if "synthetic_share" not in a.columns:
        a = a.assign(synthetic_share=np.nan)
    m = b[[*key, "name_zh", "unit", "value", "target_id", "target_value"]].merge(
        a[[*key, "value", "synthetic_share"]], on=key, how="outer", suffixes=("_before", "_after"))
    m["change"] = m["value_after"] - m["value_before"]
    m["gap_after"] = m["target_value"] - m["value_after"]
    cols = ["level", "adcode", "name_zh", "indicator", "unit", "method", "value_before",
            "value_after", "change", "target_id", "target_value", "gap_after", "synthetic_share"]
    return m[cols].reset_index(drop=True)
