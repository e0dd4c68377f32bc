"""Administrative boundaries: the city, its districts/counties and townships."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers._derive import fill_area_m2
from twin.schema import LAYERS

__all__ = ["SPEC", "derive", "from_admin_geojson"]

SPEC = LAYERS["boundaries"]


def derive(gdf, report=None):
    """Fill ``area_km2`` from the geometry."""
    return fill_area_m2(gdf, "area_km2", 1e-6)


def from_admin_geojson(admin: gpd.GeoDataFrame, city, *, source: str) -> gpd.GeoDataFrame:
    """Map the shipped Amap/Tianditu admin file to the boundaries schema for one city.

    Parameters
    ----------
    admin : geopandas.GeoDataFrame
        Rows with ``level`` (city/district), ``adcode``, ``city_name``, ``district_name``.
    city : twin.config.CityConfig
        The city whose rows are kept; English names and the urban flag come from it.
    source : str
        Provenance text stored on every row.
    """
    adcode = admin["adcode"].astype(str)
    districts = {d.adcode: d for d in city.districts}
    keep = (adcode == city.adcode) | adcode.isin(districts)
    out = admin.loc[keep].copy()
    codes = out["adcode"].astype(str)
    out["adcode"] = codes
    out["name_zh"] = [
        city.name_zh if c == city.adcode else districts[c].name_zh for c in codes
    ]
    out["name_en"] = [
        city.name_en if c == city.adcode else districts[c].name_en for c in codes
    ]
    out["parent_adcode"] = ["" if c == city.adcode else city.adcode for c in codes]
    out["is_urban"] = [False if c == city.adcode else districts[c].is_urban for c in codes]
    out["source"] = source
    out["is_synthetic"] = False
    return gpd.GeoDataFrame(
        pd.DataFrame(out.drop(columns=out.geometry.name)), geometry=out.geometry.values, crs=admin.crs
    )
