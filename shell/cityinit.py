"""``twin city init``: a validated config skeleton for another city, from its boundary file.

Writes ``<out>/<id>.toml`` and ``<out>/<id>.boundaries.geojson`` (default ``out``:
``$TWIN_HOME/cities``, next to the built twins, where :func:`twin.config.load_city`
looks after the shipped presets). The districts come from the boundary file
(:func:`layers.boundaries.city_districts`); the metric CRS is the CGCS2000 3-degree
Gauss-Kruger zone of the city's longitude (:func:`twin.crs.gauss_kruger_crs`); the
``[access]`` table holds the national defaults with their sources; the target list is
empty, with comments that say how to fill it in. The written config is loaded back
(:func:`twin.config.load_city`) before the command reports success.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.boundaries import city_districts
from layers.io.files import read_vector, write_vector
from twin.config import DATA_DIR, CityConfig, available_cities, cities_dir, load_city, user_cities_dir
from twin.crs import gauss_kruger_crs
from twin.errors import ConfigError, SourceError

__all__ = ["BUILDINGS_PER_KM2", "DEFAULT_WEATHER", "InitResult", "init_city"]

logger = logging.getLogger(__name__)

#: Proxy weather of a new city until it has its own EPW (the Hangzhou SWERA typical year).
DEFAULT_WEATHER = "real/weather/CHN_Zhejiang.Hangzhou.584570_SWERA.epw"
#: Buildings per km2 of city area for ``full_scale_buildings``: the presets' ratio
#: (Hangzhou 2 000 000 / 16 850 km2 and Huzhou 700 000 / 5 820 km2, both about 120).
BUILDINGS_PER_KM2 = 120.0
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class InitResult:
    """What ``twin city init`` wrote: the config, the boundary file and the loaded config."""

    config_path: Path
    boundary_path: Path
    city: CityConfig


def _check_id(name: str) -> None:
    if not _ID_RE.match(name) or len(name) > 40:
        msg = (f"city id {name!r} must be lowercase ASCII letters, digits and '_' starting with a "
               "letter (no path separators, spaces or dots), at most 40 characters, e.g. 'shaoxing'")
        raise ConfigError(msg)
    if (cities_dir() / f"{name}.toml").is_file():
        msg = (f"city id {name!r} is a shipped preset ({cities_dir() / (name + '.toml')}); choose "
               f"another id (e.g. '{name}_2')")
        raise ConfigError(msg)


def _epw_location(path: Path) -> tuple[str, float]:
    """Station name and elevation [m] from an EPW's LOCATION line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline().strip().split(",")
    except OSError as exc:
        msg = f"cannot read weather file {path}: {exc}"
        raise SourceError(msg) from exc
    if len(first) < 10 or first[0] != "LOCATION":
        msg = f"{path}: not an EPW file (first line is not LOCATION,...); give an EnergyPlus .epw"
        raise SourceError(msg)
    try:
        return f"{first[1]} {first[5]} ({first[6]} N, {first[7]} E)", float(first[9])
    except ValueError:
        msg = f"{path}: LOCATION line has no numeric elevation ({first[9]!r}); fix the EPW header"
        raise SourceError(msg) from None


def _kinds(d: gpd.GeoDataFrame) -> list[tuple[str, bool]]:
    """A first guess of each district's generator ``kind`` and ``is_urban`` from its code.

    GB/T 2260: the last two digits 01-20 are 市辖区 (urban districts), 21-80 counties (县),
    81-99 county-level cities. The smallest urban district is the dense core, the other
    urban districts new towns, the rest plains villages; mountain counties need a look
    at a map (``mountain_county``), so the file says to edit them.
    """
    suffix = d["adcode"].str[4:].astype(int)
    urban = (suffix <= 20).to_numpy()
    area = d.to_crs(gauss_kruger_crs(float(d.union_all().centroid.x))).area.to_numpy()
    core = int(pd.Series(area).where(urban).idxmin()) if urban.any() else -1
    return [("dense_core" if i == core else "new_town" if u else "plains_village", bool(u))
            for i, u in enumerate(urban)]


def _q(text: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _toml(name: str, adcode: str, name_zh: str, name_en: str, d: gpd.GeoDataFrame, crs: str,
          lat: float, lon: float, altitude_m: float, weather: str, station: str, n_buildings: int,
          boundary_name: str, source_file: str, area_km2: float) -> str:
    kinds = _kinds(d)
    urban = [a for a, (_, u) in zip(d["adcode"], kinds, strict=True) if u]
    lines = [
        f"# {name_en} ({name_zh}): city config skeleton written by `twin city init` from",
        f"# {source_file}. Check every value marked EDIT, then add the plan's targets below.",
        "# Format: see twin/config.py; load with twin.config.load_city(" + _q(name) + ").",
        "",
        "schema_version = 1",
        "# Plan targets: none yet. To add them, delete this line and append one [[targets]]",
        "# table per plan value at the end of the file (see the example there).",
        "targets = []",
        "",
        "[city]",
        f"id = {_q(name)}",
        f"name_zh = {_q(name_zh)}",
        f"name_en = {_q(name_en)}",
        f"adcode = {_q(adcode)}",
        "# CGCS2000 3-degree Gauss-Kruger zone whose central meridian is nearest the city centre",
        "# (the 'CM' family EPSG:4534-4554, false easting 500 km, as the presets' EPSG:4549):",
        "# within 1.5 deg of the meridian the scale error stays below about 3e-4.",
        f"metric_crs = {_q(crs)}",
        'timezone = "Asia/Shanghai"',
        "# EDIT: PV / weather location, the city centre: here a point of the dense core district",
        f"# (or of the whole city, {area_km2:,.0f} km2, when it has no 市辖区).",
        f"latitude = {lat:.4f}",
        f"longitude = {lon:.4f}",
        f"# EDIT: altitude of the weather station below ({station}), as for Huzhou.",
        f"altitude_m = {altitude_m:g}",
        "# EDIT: a proxy until the city has its own typical-year EPW (e.g. CSWD or SWERA from",
        "# climate.onebuilding.org): put it under data/real/weather/ or give an absolute path.",
        f"weather_file = {_q(weather)}",
        f"weather_files = [{_q(weather)}]",
        f"# {BUILDINGS_PER_KM2:g} buildings per km2, the ratio of the two presets.",
        f"full_scale_buildings = {n_buildings}",
        "# Districts as written by `twin city init` (relative to this file's folder).",
        f"boundary_file = {_q(boundary_name)}",
        "",
        "# --- access thresholds: written once, read by the coverage engine ---------------------",
        "# Defaults: the Zhejiang pilot plans' definitions and GB 50180-2018 (sources below); when",
        "# the city's plan names its own (e.g. a 10-minute circle), set it",
        "# here and cite the plan line in [access.sources]. A coverage target carrying a threshold",
        "# must equal the value here (checked on load).",
        "",
        "[access]",
        "charging_urban_min = 5.0",
        "charging_rural_min = 30.0",
        "bus_stop_m = 300.0",
        "green_space_m = 300.0",
        "park_m = 500.0",
        f"urban_districts = [{', '.join(_q(a) for a in urban)}]  # EDIT: the 市辖区 (codes 01-20)",
        "",
        "[access.sources]",
        'charging_urban_min = "default: 城市五分钟充电圈 of the Zhejiang pilot plans (Hangzhou 002:46, '
        'Huzhou 003:220); replace with the city plan line"',
        'charging_rural_min = "default: 城乡半小时充电圈 of the Zhejiang pilot plans (Hangzhou 002:46, '
        'Huzhou 003:220); replace with the city plan line"',
        'bus_stop_m = "default: 城市公交站点300米半径覆盖率 (Huzhou 003:212); replace with the city '
        'plan line"',
        'green_space_m = "default: GB 50180-2018 城市居住区规划设计标准 (5-minute walk = 300 m) and '
        '300米见绿 (Hangzhou 002:96)"',
        'park_m = "default: 500米见园 (Hangzhou 002:96); replace with the city plan line"',
        'urban_districts = "GB/T 2260 codes: districts whose last two digits are 01-20 are 市辖区"',
        "",
        "# --- districts and counties --------------------------------------------------------------",
        "# kind (synthetic generator): dense_core | new_town | plains_village | mountain_county.",
        "# EDIT: guessed from the code (smallest 市辖区 = dense_core, other 市辖区 = new_town,",
        "# counties and county-level cities = plains_village); set mountain_county for hilly ones,",
        "# aquaculture = true where fish-pond clusters are, and name_en (pinyin).",
    ]
    for (_, row), (kind, is_urban) in zip(d.iterrows(), kinds, strict=True):
        lines += ["", "[[districts]]", f"adcode = {_q(row['adcode'])}", f"name_zh = {_q(row['name_zh'])}",
                  f"name_en = {_q(row['name_en'] or row['name_zh'])}", f"kind = {_q(kind)}",
                  "aquaculture = false", f"is_urban = {str(is_urban).lower()}"]
    lines += [
        "",
        "# --- plan targets ------------------------------------------------------------------------",
        "# None yet (`targets = []` at the top: delete it first). One table per plan value, e.g.",
        "#   [[targets]]",
        '#   id = "PV-1"',
        '#   indicator_zh = "光伏装机"',
        '#   indicator_en = "Installed PV capacity"',
        '#   metric = "pv_capacity_mw"          # a key of twin.metrics.METRICS; its unit below',
        "#   value = 4800.0                      # in `unit` (480万千瓦 = 4800 mw)",
        '#   unit = "mw"',
        '#   value_as_printed = "480万千瓦"      # verbatim from the plan; checked against value',
        '#   comparator = ">="',
        '#   scope = "city"                      # or a district adcode above',
        '#   source = ["005:52"]                 # "NNN:line" of a seed in twin.config.SEEDS:',
        "#                                       # register the city's plan there first",
        '#   status = "final"',
        "#   year = 2025",
        "# A target no engine computes says tracked = false and untracked_reason = \"...\".",
        "",
    ]
    return "\n".join(lines)


def init_city(
    name: str,
    boundary: str | os.PathLike,
    *,
    adcode: str | None = None,
    name_zh: str | None = None,
    name_en: str | None = None,
    out: str | os.PathLike | None = None,
    home: str | os.PathLike | None = None,
    weather: str | None = None,
    crs: str | None = None,
    force: bool = False,
) -> InitResult:
    """Write and validate the config skeleton of a city from its district boundary file.

    Parameters
    ----------
    name : str
        City id: lowercase ASCII, no path separators, not a preset's id.
    boundary : path-like
        Vector file with one polygon per district or county (codes and names in columns,
        see :data:`layers.boundaries.ADCODE_COLUMNS`); a city polygon may be there too.
    adcode : str, optional
        The city's code (e.g. ``330600``); required when the file holds several cities.
    name_zh, name_en : str, optional
        City names (default: the file's city row, else required / the id titled).
    out : path-like, optional
        Folder to write to (default ``<home>/cities``).
    home : path-like, optional
        Twin home (default ``$TWIN_HOME`` or ``./twin-data``).
    weather : str, optional
        EPW file (relative to ``data/`` or absolute); default the Hangzhou proxy.
    crs : str, optional
        A file without a CRS: its CRS (``--crs``); a file with one keeps it.
    force : bool
        Overwrite existing files.

    Returns
    -------
    InitResult

    Raises
    ------
    ConfigError, SchemaError, SourceError
        Bad id, existing files without ``force``, a boundary file that cannot give the
        districts (see :func:`layers.boundaries.city_districts`), an unreadable weather file.
    """
    _check_id(name)
    boundary = Path(boundary)
    folder = Path(out) if out is not None else user_cities_dir(home)
    cfg_path, bnd_path = folder / f"{name}.toml", folder / f"{name}.boundaries.geojson"
    existing = [str(p) for p in (cfg_path, bnd_path) if p.exists()]
    if existing and not force:
        msg = f"{', '.join(existing)} already exist; pass --force to overwrite or pick another id"
        raise ConfigError(msg)
    gdf = read_vector(boundary, crs=crs)
    code, d, city_name = city_districts(gdf, adcode=adcode, file=str(boundary))
    name_zh = name_zh or city_name
    if not name_zh:
        msg = f"{boundary}: has no city row with a name for {code}; pass --name-zh (e.g. 绍兴市)"
        raise ConfigError(msg)
    name_en = name_en or name.replace("_", " ").title()
    metric_crs = gauss_kruger_crs(float(d.union_all().centroid.x))  # the whole city's zone
    metric = d.to_crs(metric_crs)
    area_km2 = float(metric.area.sum()) / 1e6
    # PV / weather location: the centre of the dense core (the smallest 市辖区) when there is
    # one, which is the old town far better than the centroid of a city with large counties
    core = [i for i, (kind, _) in enumerate(_kinds(d)) if kind == "dense_core"]
    where = metric.iloc[core] if core else metric
    centroid = gpd.GeoSeries([where.union_all().representative_point()], crs=metric_crs
                             ).to_crs(4326).iloc[0]
    weather = weather or DEFAULT_WEATHER
    wpath = Path(weather) if Path(weather).is_absolute() else DATA_DIR / weather
    station, altitude = _epw_location(wpath)
    n_buildings = max(1000, round(BUILDINGS_PER_KM2 * area_km2))

    city_row = gpd.GeoDataFrame({"level": ["city"], "adcode": [code], "city_name": [name_zh],
                                 "district_name": [""]},
                                geometry=[d.union_all()], crs=4326)
    districts = gpd.GeoDataFrame({"level": "district", "adcode": d["adcode"], "city_name": name_zh,
                                  "district_name": d["name_zh"]}, geometry=d.geometry, crs=4326)
    norm = gpd.GeoDataFrame(pd.concat([city_row, districts], ignore_index=True), geometry="geometry",
                            crs=4326)
    norm["source"] = f"{boundary.name} via twin city init"
    text = _toml(name, code, name_zh, name_en, d, metric_crs, centroid.y, centroid.x, altitude,
                 weather, station, n_buildings, bnd_path.name, boundary.name, area_km2)
    folder.mkdir(parents=True, exist_ok=True)
    tmp_cfg, tmp_bnd = folder / f".{name}.toml.tmp", folder / f".{name}.boundaries.tmp.geojson"
    try:
        write_vector(norm, tmp_bnd)
        tmp_cfg.write_text(text, encoding="utf-8")
        os.replace(tmp_bnd, bnd_path)
        os.replace(tmp_cfg, cfg_path)
    except OSError as exc:
        msg = f"cannot write the city config to {folder}: {exc}; pick a writable --out"
        raise SourceError(msg) from exc
    finally:
        for p in (tmp_cfg, tmp_bnd):
            p.unlink(missing_ok=True)
    city = load_city(cfg_path)
    logger.info("wrote %s (%d districts, %s); cities now %s", cfg_path, len(city.districts),
                metric_crs, available_cities(home))
    return InitResult(cfg_path, bnd_path, city)
