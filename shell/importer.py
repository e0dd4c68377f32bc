"""Import into and export from a built twin (the IO edge used by the ``twin`` CLI).

An import reads a file, validates it against the layer's schema
(:func:`layers.conform.conform_layer`), fills administrative codes from the
twin's boundaries, and commits it in one atomic catalog step: on any error the
previous layer stays whole.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np

from layers.conform import CityExtent, ConformReport, conform_layer, conform_raster
from layers.io.export import export_file
from layers.io.files import read_vector
from twin.config import load_city
from twin.errors import SchemaError
from twin.schema import LAYERS
from twin.store import RASTER_KINDS, TwinStore

__all__ = ["export_layer", "import_layer", "import_raster"]

logger = logging.getLogger(__name__)

#: Largest plausible mean wind speed [m/s]; above it a raster is refused.
MAX_WIND_SPEED_M_PER_S = 50.0


def _is_cityjson(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".city.json", ".cityjson"))


def _read(layer: str, path: Path, crs, gpkg_layer, gcj02: bool, encoding: str | None = None
          ) -> gpd.GeoDataFrame:
    if layer == "buildings" and _is_cityjson(path):
        from layers.io.cityjson import read_cityjson

        gdf = read_cityjson(path, crs=crs)
    else:
        gdf = read_vector(path, crs=crs, layer=gpkg_layer, encoding=encoding)
    if gcj02:
        from twin.gcj02 import geometry_gcj02_to_wgs84

        if not gdf.crs.is_geographic:
            msg = (
                f"{path}: --gcj02 applies to lon/lat coordinates, but the file is in "
                f"{gdf.crs.to_string()}; GCJ-02 data is always lon/lat (declare it as EPSG:4326)"
            )
            raise SchemaError(msg)
        gdf = gdf.set_geometry(geometry_gcj02_to_wgs84(gdf.geometry)).set_crs(4326, allow_override=True)
        logger.info("converted %d features of %s from GCJ-02 to WGS84", len(gdf), path)
    return gdf


def _fill_admin_codes(store: TwinStore, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "district_adcode" not in gdf.columns:
        return gdf
    blank = gdf["district_adcode"].astype(str) == ""
    if not blank.any():
        return gdf
    tships = store.read_layer("boundaries", columns=["adcode", "level", "parent_adcode"])
    tships = tships.loc[tships["level"] == "township"]
    pts = gpd.GeoDataFrame(geometry=gdf.geometry.representative_point(), crs=gdf.crs)
    joined = gpd.sjoin(pts, tships.to_crs(gdf.crs), how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    gdf = gdf.copy()
    gdf.loc[blank, "district_adcode"] = joined.loc[blank[blank].index, "parent_adcode"].fillna("").to_numpy()
    if "township_code" in gdf.columns:
        gdf.loc[blank, "township_code"] = joined.loc[blank[blank].index, "adcode"].fillna("").to_numpy()
    return gdf


def import_layer(
    city_id: str,
    layer: str,
    path,
    *,
    home=None,
    crs=None,
    gcj02: bool = False,
    rename: dict[str, str] | None = None,
    gpkg_layer: str | None = None,
    height_m: float | None = None,
    scheme: str | None = None,
    encoding: str | None = None,
    min_cover: float | None = None,
) -> ConformReport:
    """Import a file as a layer of a built twin, all or nothing.

    Parameters
    ----------
    city_id : str
        City of a built twin.
    layer : str
        Vector layer (:data:`twin.schema.LAYERS`) or raster (:data:`twin.store.RASTER_KINDS`).
    path : path-like
        Input file (GeoParquet, GeoPackage, GeoJSON, Shapefile, CityJSON for
        buildings; GeoTIFF for rasters).
    crs : optional
        CRS of a file that declares none.
    gcj02 : bool
        The file's lon/lat are GCJ-02 (Amap/Gaode): convert to WGS84 before use.
    rename : dict, optional
        Input column -> schema column.
    gpkg_layer : str, optional
        Layer inside a GeoPackage.
    height_m : float, optional
        Height of a ``wind_speed`` raster [m] (required for it).
    scheme : str, optional
        Class scheme of a ``landcover_raster`` (a table in ``data/landcover``).
    encoding : str, optional
        Text encoding of the file (detected for a Shapefile without ``.cpg``).
    min_cover : float, optional
        Least share of the city the file must cover (default: ``data/import/gate.toml``).

    Returns
    -------
    ConformReport
        Rows kept, repaired and rejected.
    """
    path = Path(path)
    city = load_city(city_id)
    store = TwinStore(city.id, home)
    store.require()
    extent = CityExtent.from_boundaries(store.read_layer("boundaries"), city.id, city.metric_crs)
    if layer in RASTER_KINDS:
        return import_raster(store, layer, path, height_m=height_m, scheme=scheme, extent=extent,
                             min_cover=min_cover)
    if layer not in LAYERS:
        msg = (f"unknown layer {layer!r}; vector layers: {', '.join(LAYERS)}; "
               f"rasters: {', '.join(RASTER_KINDS)}")
        raise SchemaError(msg)
    gdf = _read(layer, path, crs, gpkg_layer, gcj02, encoding)
    out, report = conform_layer(gdf, layer, file=str(path), crs=city.metric_crs, rename=rename,
                                source=f"imported from {path.name}", is_synthetic=False,
                                extent=extent, min_cover=min_cover)
    if gdf.attrs.get("encoding"):
        report.notes.append(f"text read as {gdf.attrs['encoding']} (no .cpg file)")
    out = _fill_admin_codes(store, out)
    store.commit({layer: out}, meta={f"import_report:{layer}": {
        "file": str(path), "n_in": report.n_in, "n_out": report.n_out, "notes": report.notes,
        "repaired": report.repaired[:1000], "rejected": report.rejected[:1000]}})
    logger.info(report.summary())
    return report


def import_raster(store: TwinStore, name: str, path: Path, *, height_m=None, scheme=None,
                  extent: CityExtent | None = None, min_cover: float | None = None):
    """Validate a GeoTIFF (:func:`layers.conform.conform_raster`) and commit it as raster ``name``."""
    arr, meta = conform_raster(path, name, extent=extent, min_cover=min_cover)
    if name == "wind_speed":
        if height_m is None or not 0 < float(height_m) <= 300:
            msg = f"{path}: a wind_speed raster needs its height above ground, e.g. --height 100 (0-300 m)"
            raise SchemaError(msg)
        valid = arr.compressed()
        bad = (valid < 0) | (valid > MAX_WIND_SPEED_M_PER_S)
        if bad.any():
            msg = (
                f"{path}: {int(bad.sum())} cells hold wind speeds outside 0-{MAX_WIND_SPEED_M_PER_S:g} m/s "
                f"(min {valid.min():.2f}, max {valid.max():.2f}); set them to the raster's nodata value"
            )
            raise SchemaError(msg)
        meta["height_m"] = float(height_m)
    if name == "landcover_raster":
        from layers.landcover import read_class_table

        table = read_class_table(scheme or "modis_igbp")
        codes, counts = np.unique(arr.compressed(), return_counts=True)
        unknown = {int(c): int(n) for c, n in zip(codes, counts, strict=True) if int(c) not in table}
        if unknown:
            msg = (
                f"{path}: class codes {sorted(unknown)} (pixel counts {unknown}) are not in the "
                f"{scheme or 'modis_igbp'} class table; add them to the table or choose --scheme"
            )
            raise SchemaError(msg)
        meta["scheme"] = scheme or "modis_igbp"
    store.commit(rasters={name: {"path": path, "meta": meta, "is_synthetic": False,
                                 "source": f"imported from {path.name}"}})
    report = ConformReport(layer=name, file=str(path), n_in=int(arr.size), n_out=int(arr.count()))
    return report


def export_layer(city_id: str, layer: str, out, *, fmt: str, home=None, district: str | None = None) -> int:
    """Export a layer of a built twin to a file (:func:`layers.io.export.export_file`, atomic).

    Parameters
    ----------
    city_id : str
        City of a built twin.
    layer : str
        The layer to export.
    out : path-like
        Target file; its suffix must match ``fmt``.
    fmt : {"gpkg", "parquet", "geojson", "cityjson"}
        The file format.
    district : str, optional
        Only this district (adcode).

    Returns
    -------
    int
        The number of features written.
    """
    store = TwinStore(load_city(city_id).id, home)
    gdf = store.read_layer(layer)
    if district is not None:
        gdf = gdf.loc[gdf["district_adcode"] == str(district)]
        if gdf.empty:
            msg = f"no {layer} in district {district!r} of {city_id}; check the adcode (`twin info`)"
            raise SchemaError(msg)
    export_file(gdf, out, fmt, layer=layer)
    return len(gdf)
