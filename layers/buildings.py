"""Buildings: CIM-style blocks (LOD1 footprint + height; roof form for LOD2).

CIM grade (Chinese CIM practice): a footprint with a height is CIM2 (框架模型,
block model); one whose roof form is also known is CIM3 (标准模型).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.schema import LAYERS

__all__ = [
    "DEFAULT_HEIGHT_M",
    "OSM_USE_CLASSES",
    "SPEC",
    "STOREY_HEIGHT_M",
    "cim_level",
    "derive",
    "from_osm_sample",
    "zonal_median",
]

SPEC = LAYERS["buildings"]

#: Storey height used to convert between floors and height [m]. 3.0 m is the
#: residential storey of GB 50096-2011 (2.8 m minimum clear height plus slab).
STOREY_HEIGHT_M = 3.0
#: Height assumed when neither height nor floors is known [m]; flagged 'estimated'.
DEFAULT_HEIGHT_M = 10.0

#: OSM ``building=*`` values -> twin use classes.
OSM_USE_CLASSES = {
    "yes": "other",
    "residential": "residential",
    "apartments": "residential",
    "house": "residential",
    "commercial": "commercial",
    "retail": "commercial",
    "department_store": "commercial",
    "hotel": "commercial",
    "office": "office",
    "industrial": "industrial",
    "hospital": "health",
    "school": "education",
    "university": "education",
    "kindergarten": "education",
    "train_station": "transport",
    "cathedral": "religious",
    "church": "religious",
    "government": "government",
    "public": "public",
    "warehouse": "warehouse",
}


def cim_level(roof_type: pd.Series) -> np.ndarray:
    """CIM grade per building: 3 when the roof form is known, else 2."""
    return np.where(roof_type.astype(str).to_numpy() != "unknown", 3, 2).astype("int64")


def derive(gdf, report=None):
    """Fill footprint area, missing heights/floors, gross floor area and CIM level.

    A missing height is estimated from floors × :data:`STOREY_HEIGHT_M`, or set to
    :data:`DEFAULT_HEIGHT_M` when floors are unknown too; such rows get
    ``height_source='estimated'`` (the default ones also ``height_defaulted``) and are
    listed in the report as repaired.
    """
    gdf["footprint_area_m2"] = np.asarray(gdf.geometry.area, dtype="float64")
    height = pd.to_numeric(gdf["height_m"], errors="coerce") if "height_m" in gdf else None
    floors = pd.to_numeric(gdf["floors"], errors="coerce")
    if height is None:
        height = pd.Series(np.nan, index=gdf.index)
    no_height = height.isna()
    if no_height.any():
        from_floors = floors * STOREY_HEIGHT_M
        height = height.where(~no_height, from_floors)
        still = height.isna()
        height = height.fillna(DEFAULT_HEIGHT_M)
        gdf.loc[no_height, "height_source"] = "estimated"
        if "height_defaulted" in gdf.columns:  # neither height nor floors: a default, flagged
            gdf.loc[no_height & still, "height_defaulted"] = True
        if report is not None:
            for bid, by_floors in zip(gdf.loc[no_height, "building_id"], ~still[no_height], strict=True):
                how = "floors x 3.0 m" if by_floors else f"default {DEFAULT_HEIGHT_M} m"
                report.repaired.append((bid, f"no height: estimated as {how}"))
    gdf["height_m"] = height.astype("float64")
    floors = floors.where(floors.notna(), np.maximum(1, np.round(height / STOREY_HEIGHT_M)))
    gdf["floors"] = floors.astype("int64")
    gfa = pd.to_numeric(gdf["gross_floor_area_m2"], errors="coerce")
    gdf["gross_floor_area_m2"] = gfa.fillna(gdf["footprint_area_m2"] * gdf["floors"]).astype("float64")
    gdf["cim_level"] = cim_level(gdf["roof_type"])
    return gdf


def from_osm_sample(osm: gpd.GeoDataFrame, *, source: str) -> tuple[gpd.GeoDataFrame, list]:
    """Map the shipped OSM building sample to the buildings schema.

    Footprints, names and the OSM ``building`` value are real. Heights are
    mostly per-type defaults of the upstream project: only ``levels_x3.5`` is
    observed (levels × 3.5 m); type defaults are 'estimated'; the upstream's
    random 8–19 m values are 'synthetic'. ``building=no`` rows are not buildings
    and are returned as rejected ``(id, reason)`` pairs.
    """
    osm = osm.copy()
    is_building = osm["osm_building"].astype(str) != "no"
    rejected = [(f"osm-{b}", "OSM building=no is not a building")
                for b in osm.loc[~is_building, "bid"]]
    osm = osm.loc[is_building]
    hs = osm["height_source"].astype(str)
    height_source = np.select(
        [hs == "levels_x3.5", hs == "synthetic_random_8_19"], ["observed", "synthetic"], "estimated"
    )
    levels = pd.to_numeric(osm["osm_levels"], errors="coerce")
    height = pd.to_numeric(osm["height_m_published"], errors="coerce")
    out = gpd.GeoDataFrame(
        {
            "building_id": [f"osm-{b}" for b in osm["bid"]],
            "name": osm["name"].astype("object").where(osm["name"].notna(), "").map(str),
            "height_m": height.to_numpy(),
            "floors": levels.where(levels.notna(), np.maximum(1, np.round(height / 3.5))).to_numpy(),
            "use_class": osm["osm_building"].map(OSM_USE_CLASSES).fillna("other").to_numpy(),
            "roof_type": "unknown",
            "height_source": height_source,
            "is_synthetic": False,
            "source": source,
        },
        geometry=osm.geometry.values,
        crs=osm.crs,
    )
    return out, rejected


def zonal_median(geoms, values: np.ma.MaskedArray, transform) -> np.ndarray:
    """Median of the valid raster cells under each footprint (pure; e.g. a 10 m building-height map).

    Cells whose centre lies in a footprint count; a footprint smaller than a
    cell takes the cell under its representative point. Masked, non-finite
    and non-positive cells (no building) are left out.

    Parameters
    ----------
    geoms : array of shapely geometries
        Footprints in the raster's CRS.
    values : numpy.ma.MaskedArray, shape (rows, cols)
        The raster window.
    transform : affine.Affine
        Transform of ``values``.

    Returns
    -------
    ndarray of float64
        Median per footprint, NaN where no valid cell lies under it.
    """
    import shapely
    from rasterio.features import rasterize

    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    data = np.ma.filled(np.ma.asarray(values, dtype="float64"), np.nan)
    valid = np.isfinite(data) & (data > 0)
    labels = rasterize(((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
                       out_shape=data.shape, transform=transform, fill=0, dtype="int32")
    sel = (labels > 0) & valid
    lab, val = labels[sel] - 1, data[sel]
    if len(lab):
        order = np.lexsort((val, lab))
        lab, val = lab[order], val[order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        counts = np.diff(np.r_[starts, len(lab)])
        lo = val[starts + (counts - 1) // 2]
        hi = val[starts + counts // 2]
        out[lab[starts]] = (lo + hi) / 2.0
    # footprints no cell centre falls in: the cell under the representative point
    empty = np.flatnonzero(~np.isin(np.arange(n), np.unique(labels[labels > 0] - 1)))
    if len(empty):
        pts = shapely.point_on_surface(geoms[empty])
        inv = ~transform
        cols, rows = inv * (shapely.get_x(pts), shapely.get_y(pts))
        r, c = np.floor(rows).astype(int), np.floor(cols).astype(int)
        inside = (r >= 0) & (r < data.shape[0]) & (c >= 0) & (c < data.shape[1])
        vals = np.full(len(empty), np.nan)
        vals[inside] = data[r[inside], c[inside]]
        vals[~(np.isfinite(vals) & (vals > 0))] = np.nan
        out[empty] = vals
    return out
