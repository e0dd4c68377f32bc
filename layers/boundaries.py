"""Administrative boundaries: the city, its districts/counties and townships."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers._derive import fill_area_m2
from twin.errors import SchemaError
from twin.schema import LAYERS

__all__ = ["ADCODE_COLUMNS", "NAME_COLUMNS", "NAME_EN_COLUMNS", "PROVINCE_PREFIXES", "SPEC",
           "city_districts", "derive", "from_admin_geojson"]

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


# --------------------------------------------------------------------------------------------
# A new city's districts from a boundary file (``twin city init``)
# --------------------------------------------------------------------------------------------

#: Column names read as the district code / Chinese name / English name (case-insensitive,
#: in this order): the twin's own, the shipped admin file's, and common GIS exports
#: (DataV/Amap ``adcode``/``name``, Tianditu ``gb``, 国家基础地理 ``PAC``/``NAME``).
ADCODE_COLUMNS = ("adcode", "district_adcode", "gb", "pac", "code", "行政区划代码", "区划代码")
NAME_COLUMNS = ("name_zh", "district_name", "name", "dt_name", "名称", "区县名称")
NAME_EN_COLUMNS = ("name_en", "ename", "name_english")

#: First two digits of the adcodes of China's provinces (GB/T 2260).
PROVINCE_PREFIXES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82"})


def _column(gdf: gpd.GeoDataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): str(c) for c in gdf.columns}
    return next((lower[n] for n in names if n in lower), None)


def _code_text(v) -> str:
    """An adcode cell as text: ``330602``, ``330602.0`` and ``"330602"`` all read ``"330602"``."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def city_districts(gdf: gpd.GeoDataFrame, *, adcode: str | None = None, file: str = "boundary file"
                   ) -> tuple[str, gpd.GeoDataFrame, str]:
    """The districts of one city in a boundary file, checked and normalised.

    A row whose code ends in ``00`` is a city- or province-level polygon and is not a
    district; every other row must be a district or county (6-digit GB/T 2260 code of a
    province of China). With ``adcode`` only that city's rows are kept (a file may hold
    several cities); without it the file must hold the districts of exactly one city.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The boundary file as read (any CRS; it must have one).
    adcode : str, optional
        6-digit code of the city (``330600``); inferred from the districts when omitted.
    file : str
        Name of the file, for messages.

    Returns
    -------
    adcode : str
        The city's code.
    districts : geopandas.GeoDataFrame
        In EPSG:4326, one row per district sorted by code: ``adcode``, ``name_zh``,
        ``name_en`` (the file's English name or ``""``), ``geometry``.
    city_name_zh : str
        The name of the city row when the file has one, else ``""``.

    Raises
    ------
    SchemaError
        No CRS, no code or name column, codes that are not districts of a Chinese city,
        duplicate codes, geometries that are not polygons, or a file with only the city
        polygon; each message names the rows and the fix.
    """
    if gdf.crs is None:
        msg = f"{file}: has no CRS; save it with one (EPSG:4326 or EPSG:4490 lon/lat)"
        raise SchemaError(msg)
    code_col, name_col = _column(gdf, ADCODE_COLUMNS), _column(gdf, NAME_COLUMNS)
    if code_col is None or name_col is None:
        msg = (f"{file}: no {'district code' if code_col is None else 'name'} column among "
               f"{[str(c) for c in gdf.columns if c != gdf.geometry.name]}; name the code column "
               f"one of {list(ADCODE_COLUMNS)} and the Chinese name one of {list(NAME_COLUMNS)}")
        raise SchemaError(msg)
    en_col = _column(gdf, NAME_EN_COLUMNS)
    codes = pd.Series([_code_text(v) for v in gdf[code_col]], index=gdf.index)
    bad = codes[~codes.str.fullmatch(r"\d{6}") | ~codes.str[:2].isin(PROVINCE_PREFIXES)]
    if len(bad):
        shown = ", ".join(f"row {i}: {c!r}" for i, c in list(bad.items())[:10])
        msg = (f"{file}: column {code_col!r} has codes that are not 6-digit adcodes of a Chinese "
               f"province (GB/T 2260): {shown}; fix or drop these rows")
        raise SchemaError(msg)
    if adcode is not None and not (len(adcode) == 6 and adcode.isdigit() and adcode.endswith("00")):
        msg = f"--adcode {adcode!r} is not a city code: 6 digits ending in 00, e.g. 330600"
        raise SchemaError(msg)
    is_district = codes.str[4:] != "00"
    city_rows = codes[~is_district]
    if adcode is None:
        prefixes = sorted(set(codes[is_district].str[:4]))
        if len(prefixes) > 1:
            msg = (f"{file}: holds districts of {len(prefixes)} cities "
                   f"({', '.join(p + '00' for p in prefixes[:10])}); pass --adcode to pick one")
            raise SchemaError(msg)
        first_city = city_rows.iloc[0] if len(city_rows) else None
        adcode = prefixes[0] + "00" if prefixes else first_city
    keep = is_district & (codes.str[:4] == (adcode or "")[:4])
    if not keep.any():
        found = f"only city-level rows ({', '.join(sorted(set(city_rows)))})" if len(city_rows) else "no rows"
        msg = (f"{file}: {found} and no district of city {adcode}; a twin needs one polygon per "
               "district or county (the district totals, coverage and the app are per district): "
               "use a boundary file with the districts (e.g. DataV/Amap 'adcode_full' or the "
               "national 1:1M 县级 layer)")
        raise SchemaError(msg)
    d = gdf.loc[keep]
    dup = codes[keep][codes[keep].duplicated(keep=False)]
    if len(dup):
        rows = {c: [int(i) if isinstance(i, int | np.integer) else i for i in dup.index[dup == c]]
                for c in sorted(set(dup))}
        msg = (f"{file}: duplicate district codes {rows} (code: rows); each district must be one "
               "row: dissolve the parts (e.g. gdf.dissolve('adcode')) or drop the repeats")
        raise SchemaError(msg)
    geom = d.geometry
    badg = d.index[geom.isna() | geom.is_empty | ~geom.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(badg):
        kinds = {str(i): (str(geom[i].geom_type) if geom[i] is not None else "None") for i in badg[:10]}
        msg = (f"{file}: district rows {kinds} (row: geometry) are not polygons; boundaries must be "
               "Polygon or MultiPolygon (convert lines to polygons, drop points)")
        raise SchemaError(msg)
    # the city's name: its own row's name, else a city-name column (the shipped admin file's)
    city_name = ""
    for col in (name_col, _column(gdf, ("city_name", "市", "city"))):
        names = gdf.loc[codes == adcode, col].dropna().astype(str).str.strip() if col else []
        if len(names) and names.iloc[0]:
            city_name = names.iloc[0]
            break
    out = gpd.GeoDataFrame({
        "adcode": codes[keep].to_numpy(),
        "name_zh": d[name_col].fillna("").astype(str).str.strip().to_numpy(),
        "name_en": (d[en_col].fillna("").astype(str).str.strip().to_numpy() if en_col
                    else [""] * len(d)),
    }, geometry=d.geometry.to_numpy(), crs=gdf.crs).to_crs(4326)
    x0, y0, x1, y1 = out.total_bounds
    if not (x0 >= 73.0 and x1 <= 136.0 and y0 >= 3.0 and y1 <= 54.0):
        msg = (f"{file}: extent {x0:.4g}, {y0:.4g} - {x1:.4g}, {y1:.4g} (lon/lat of its CRS "
               f"{gdf.crs.to_string()}) is outside China (73-136 E, 3-54 N); metres labelled as "
               "degrees or the reverse? Save the file with its true CRS")
        raise SchemaError(msg)
    empty = out.loc[out["name_zh"] == "", "adcode"].tolist()
    if empty:
        msg = f"{file}: districts {empty} have no name in column {name_col!r}; fill it in"
        raise SchemaError(msg)
    return str(adcode), out.sort_values("adcode").reset_index(drop=True), city_name
