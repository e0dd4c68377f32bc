"""Import into and export from a built twin (the IO edge used by the ``twin`` CLI).

An import reads a file, validates it against the layer's schema
(:func:`layers.conform.conform_layer`), fills administrative codes from the
twin's boundaries, and commits it in one atomic catalog step: on any error the
previous layer stays whole.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from layers.conform import CityExtent, ConformReport, conform_layer, conform_raster
from layers.io.export import export_file
from layers.io.files import read_raster_window, read_vector
from layers.io.open_buildings import detect_layout, licence_of, read_open_buildings
from twin.config import load_city
from twin.errors import SchemaError
from twin.schema import LAYERS, LEDGERS
from twin.store import RASTER_KINDS, TwinStore

__all__ = ["export_layer", "format_osm_report", "import_building_height", "import_layer",
           "import_ledger", "import_osm", "import_raster"]

logger = logging.getLogger(__name__)

#: Largest plausible mean wind speed [m/s]; above it a raster is refused.
MAX_WIND_SPEED_M_PER_S = 50.0
#: Largest plausible Weibull shape k [-] (observed k lie between about 1 and 4).
MAX_WEIBULL_K = 10.0


def _is_cityjson(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".city.json", ".cityjson"))


def _read(layer: str, path: Path, crs, gpkg_layer, gcj02: bool,
          mapped: dict | None = None, encoding: str | None = None,
          min_confidence: float | None = None) -> gpd.GeoDataFrame:
    """Read ``path``; open building datasets are recognised and mapped (their name lands in ``mapped``)."""
    layout = None
    if layer == "buildings" and _is_cityjson(path):
        from layers.io.cityjson import read_cityjson

        gdf = read_cityjson(path, crs=crs)
    elif layer == "buildings" and (layout := detect_layout(path)) is not None:
        gdf, dropped = read_open_buildings(path, layout, min_confidence=min_confidence)
    else:
        gdf = read_vector(path, crs=crs, layer=gpkg_layer, encoding=encoding)
        if layer == "buildings" and (layout := detect_layout(path, list(gdf.columns))) is not None:
            gdf, dropped = read_open_buildings(path, layout, frame=gdf, min_confidence=min_confidence)
    if min_confidence is not None and layout is None:
        msg = (f"{path}: --min-confidence applies to Google Open Buildings files (CSV with a "
               "confidence column); this file is not one")
        raise SchemaError(msg)
    if layout is not None and mapped is not None:
        mapped.update(layout=layout, licence=licence_of(layout), dropped=dropped)
        logger.info("%s recognised as %s", path, licence_of(layout))
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


def _fill_admin_codes(store: TwinStore, gdf: gpd.GeoDataFrame,
                      tships: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Blank district/township codes from the township a row's representative point lies in.

    ``tships``: the twin's township polygons when the caller already read them.
    """
    if "district_adcode" not in gdf.columns:
        return gdf
    blank = gdf["district_adcode"].astype(str) == ""
    if not blank.any():
        return gdf
    if tships is None:
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
    min_confidence: float | None = None,
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
        Class scheme (a table in ``data/landcover``: ``modis_igbp``, ``worldcover``,
        ``cn_landsurvey``) of a ``landcover_raster``, or of a ``landcover`` polygon file
        whose codes are in ``DLBM`` (land survey) or ``source_class``.
    encoding : str, optional
        Text encoding of the file (detected for a Shapefile without ``.cpg``).
    min_cover : float, optional
        Least share of the city the file must cover (default: ``data/import/gate.toml``).
    min_confidence : float, optional
        Google Open Buildings: least ``confidence`` kept (default ``[google] min_confidence``
        in ``data/buildings/open_datasets.toml``); the rows below are dropped and counted.

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
    if layer in LEDGERS:
        return import_ledger(store, layer, path)
    if layer == "building_height":
        return import_building_height(store, path)
    if layer not in LAYERS:
        msg = (f"unknown layer {layer!r}; vector layers: {', '.join(LAYERS)}; "
               f"rasters: {', '.join(RASTER_KINDS)}; ledgers: {', '.join(LEDGERS)}; "
               "building_height (a height raster for buildings)")
        raise SchemaError(msg)
    if scheme is not None and layer not in ("landcover",):
        msg = f"--scheme applies to landcover and landcover_raster, not to {layer}"
        raise SchemaError(msg)
    mapped: dict = {}
    if min_confidence is not None and layer != "buildings":
        msg = f"--min-confidence applies to Google Open Buildings imported as buildings, not to {layer}"
        raise SchemaError(msg)
    gdf = _read(layer, path, crs, gpkg_layer, gcj02, mapped, encoding, min_confidence)
    dropped = list(mapped.get("dropped", []))
    low_conf = sum(1 for _i, why in dropped if why.startswith("Google confidence"))
    if (layer == "landcover" and scheme is None and "lc_class" not in gdf.columns
            and not (rename and "lc_class" in rename.values())
            and any(str(c).upper() == "DLBM" for c in gdf.columns)):
        msg = (f"{path}: land-survey codes (DLBM) but no lc_class column; import with "
               "--scheme cn_landsurvey to map the codes to the twin's classes")
        raise SchemaError(msg)
    if layer == "landcover" and scheme is not None:
        from layers.landcover import classify

        gdf = gdf.rename(columns=rename or {})
        rename = None
        code_col = next((c for c in gdf.columns if str(c).upper() == "DLBM"), "source_class")
        gdf, nodata = classify(gdf, scheme, code_col, file=str(path))
        dropped += nodata
        if gdf.empty:
            msg = f"{path}: every row's class code is nodata in the {scheme} table; nothing to import"
            raise SchemaError(msg)
    out, report = conform_layer(gdf, layer, file=str(path), crs=city.metric_crs, rename=rename,
                                source=f"imported from {path.name}", is_synthetic=False,
                                extent=extent, min_cover=min_cover)
    if gdf.attrs.get("encoding"):
        report.notes.append(f"text read as {gdf.attrs['encoding']} (no .cpg file)")
    if mapped.get("layout") == "google":
        from layers.io.open_buildings import mapping

        thr = mapping()["google"]["min_confidence"] if min_confidence is None else min_confidence
        report.notes.append(f"{low_conf} Google building(s) below confidence {thr:g} (or without one) "
                            "dropped")
    report.n_in += len(dropped)
    report.rejected[:0] = dropped
    out = _fill_admin_codes(store, out)
    entry = {"file": str(path), "n_in": report.n_in, "n_out": report.n_out, "notes": report.notes,
             "repaired": report.repaired[:1000], "rejected": report.rejected[:1000]}
    if "layout" in mapped:
        entry.update(dataset=mapped["layout"], licence=mapped["licence"])
    if scheme is not None:
        entry["scheme"] = scheme
    store.commit({layer: out}, meta={f"import_report:{layer}": entry})
    logger.info(report.summary())
    return report


def import_osm(city_id: str, path, *, layers=None, home=None) -> dict:
    """Import an OpenStreetMap extract as the twin's real layers, clipped to the city, all or nothing.

    Each OSM layer (:data:`layers.io.osm.OSM_LAYERS`) is read with pyosmium
    (:func:`layers.io.osm.read_osm`), clipped to the city boundary, passed through
    the schema gate (:func:`layers.conform.conform_layer`) and committed together
    in one catalog step: on any error no layer changes. Rows are real
    (``is_synthetic = false``) with ``source`` naming the file, its replication
    timestamp and the ODbL attribution, which is also kept in ``_meta``
    (``provenance:<layer>``).

    Parameters
    ----------
    city_id : str
        City of a built twin.
    path : path-like
        An OSM extract (``.osm.pbf``), e.g. Geofabrik's China extract.
    layers : sequence of str, optional
        Layers to replace (default: every OSM layer that has features in the city;
        named layers must all have some).

    Returns
    -------
    dict
        The report: ``file``, ``timestamp``, ``source``, ``attribution`` and per layer
        ``read``, ``mapped``, ``defaulted``, ``dropped`` (``replaced`` says whether the
        layer was replaced).

    Raises
    ------
    SchemaError
        Not an OSM file, no OSM objects, nothing inside the city, or a named layer
        with no features in the city.
    """
    from layers.io.osm import ATTRIBUTION, OSM_LAYERS, clip_to_boundary, read_osm

    path = Path(path)
    city = load_city(city_id)
    store = TwinStore(city.id, home)
    clock = _StageClock()
    with store.hold():  # one read-only connection (spatial loaded once), closed before the long read
        store.require()
        bounds = store.read_layer("boundaries", columns=["adcode", "level", "parent_adcode"])
    bounds = bounds.to_crs(city.metric_crs)
    boundary = bounds.loc[bounds["level"] == "city"].union_all()
    named = layers is not None
    wanted = tuple(dict.fromkeys(layers)) if named else OSM_LAYERS
    clock.lap("read_twin_boundaries")
    extract = read_osm(path, wanted)
    clock.lap("read_pbf_and_map_tags")
    ts = extract.header["timestamp"] or "no replication timestamp in header"
    source = f"OpenStreetMap {path.name} ({ts}); {ATTRIBUTION}"
    out: dict[str, gpd.GeoDataFrame] = {}
    for name in wanted:
        st = extract.stats[name]
        gdf = extract.frames[name]
        if not gdf.empty:
            gdf = clip_to_boundary(gdf.to_crs(city.metric_crs), boundary, name, st)
        clock.lap("project_and_clip")
        if gdf.empty:
            continue
        conformed, rep = conform_layer(gdf, name, file=path.name, crs=city.metric_crs,
                                       source=source, is_synthetic=False)
        for _ident, reason in rep.rejected:
            st.drop(reason)
        if rep.repaired:
            st.default("geometry (invalid, made valid)", len(rep.repaired))
        clock.lap("schema_gate")
        out[name] = _fill_admin_codes(store, conformed, bounds)
        st.mapped = len(conformed)
        clock.lap("admin_codes")
    if not out:
        read = sum(s.read for s in extract.stats.values())
        box = extract.header["bbox"] or "not given in the header"
        msg = (f"{path}: none of the {read} OSM features read lies inside {city.id}'s boundary "
               f"(extract bbox {box}); use an extract that covers the city, e.g. Geofabrik's "
               "China or Zhejiang extract")
        raise SchemaError(msg)
    empty = [n for n in wanted if n not in out]
    if named and empty:
        msg = (f"{path}: no {', '.join(empty)} inside {city.id}'s boundary; nothing was imported "
               "(drop them from --layers or use an extract that has them)")
        raise SchemaError(msg)
    report = {"file": str(path), "timestamp": extract.header["timestamp"], "source": source,
              "attribution": ATTRIBUTION, "city": city.id,
              "layers": {n: {**extract.stats[n].to_dict(), "replaced": n in out} for n in wanted}}
    meta: dict = {"import_report:osm": report}
    for name in out:
        meta[f"provenance:{name}"] = {"source": source, "licence": "ODbL-1.0",
                                      "attribution": ATTRIBUTION, "file": path.name,
                                      "timestamp": extract.header["timestamp"]}
    store.commit(out, meta=meta)
    clock.lap("write_catalog")
    report["timings"] = clock.as_dict()
    logger.info("imported %s from %s (%s)", ", ".join(out), path, report["timings"])
    return report


class _StageClock:
    """Wall and CPU seconds per import stage (CPU time is what a loaded machine does not inflate)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._t, self._c = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.wall[stage] = self.wall.get(stage, 0.0) + t - self._t
        self.cpu[stage] = self.cpu.get(stage, 0.0) + c - self._c
        self._t, self._c = t, c

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {"wall_s": {k: round(v, 2) for k, v in self.wall.items()},
                "cpu_s": {k: round(v, 2) for k, v in self.cpu.items()}}


def format_osm_report(report: dict) -> str:
    """The OSM import report as text lines (one per layer, then defaults and drops)."""
    lines = [f"OpenStreetMap import into {report['city']} from {report['file']} "
             f"(timestamp {report['timestamp'] or 'unknown'}); {report['attribution']}"]
    for name, rep in report["layers"].items():
        state = "replaced" if rep["replaced"] else "unchanged (none in the city)"
        lines.append(f"  {name}: read {rep['read']}, mapped {rep['mapped']}, {state}")
        lines += [f"    defaulted {what}: {n}" for what, n in rep["defaulted"].items()]
        lines += [f"    dropped {why}: {n}" for why, n in list(rep["dropped"].items())[:10]]
    return "\n".join(lines)


def import_ledger(store: TwinStore, name: str, path: Path) -> ConformReport:
    """Validate an installation ledger (CSV or .xlsx) and commit it as catalog table ``name``.

    All or nothing: any bad row refuses the whole file (:func:`layers.ledger.conform_ledger`)
    and the previous ledger stays. Districts are resolved against the twin's boundaries.
    """
    from layers.io.sheets import read_sheet
    from layers.ledger import conform_ledger

    raw = read_sheet(path)
    bounds = store.select("boundaries", ["adcode", "name_zh", "name_en", "level"])
    districts = bounds.loc[bounds["level"] == "district"]
    table = conform_ledger(raw, name, districts, file=str(path), source=f"imported from {path.name}")
    store.commit(tables={name: table}, meta={f"import_report:{name}": {
        "file": str(path), "n_in": len(raw), "n_out": len(table), "repaired": [], "rejected": []}})
    report = ConformReport(layer=name, file=str(path), n_in=len(raw), n_out=len(table))
    logger.info(report.summary())
    return report


def import_raster(store: TwinStore, name: str, path: Path, *, height_m=None, scheme=None,
                  extent: CityExtent | None = None, min_cover: float | None = None):
    """Validate a GeoTIFF (:func:`layers.conform.conform_raster`) and commit it as raster ``name``."""
    arr, meta = conform_raster(path, name, extent=extent, min_cover=min_cover)
    if name in ("wind_speed", "wind_weibull_a", "wind_weibull_k"):
        if height_m is None or not 0 < float(height_m) <= 300:
            msg = f"{path}: a {name} raster needs its height above ground, e.g. --height 100 (0-300 m)"
            raise SchemaError(msg)
        valid = np.ma.masked_invalid(arr).compressed()
        lo, hi, unit = ((0.5, MAX_WEIBULL_K, "") if name == "wind_weibull_k"
                        else (0.0, MAX_WIND_SPEED_M_PER_S, " m/s"))
        bad = (valid < lo) | (valid > hi)
        what = "Weibull shapes k" if name == "wind_weibull_k" else "wind speeds"
        if bad.any():
            msg = (
                f"{path}: {int(bad.sum())} cells hold {what} outside {lo:g}-{hi:g}{unit} "
                f"(min {valid.min():.2f}, max {valid.max():.2f}); set them to the raster's nodata value"
                + ("; is this the k file (combined-Weibull-k) and not A?" if name == "wind_weibull_k" else "")
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


def import_building_height(store: TwinStore, path: Path) -> ConformReport:
    """Attach heights from a building-height raster to buildings whose height is estimated.

    Each building with ``height_source = 'estimated'`` takes the zonal median of
    the raster under its footprint (:func:`layers.buildings.zonal_median`);
    ``floors`` and gross floor area follow from the new height, ``source`` names
    the raster. Buildings without a valid cell keep their estimate and are
    reported. The layer is validated again and committed all or nothing.

    Parameters
    ----------
    store : TwinStore
        A built twin.
    path : path
        A GeoTIFF of building heights [m] (e.g. CNBH-10m); 0 and nodata mean no building.
    """
    import rasterio.errors
    import shapely

    from layers.buildings import STOREY_HEIGHT_M, zonal_median

    blds = store.read_layer("buildings")
    todo = np.flatnonzero((blds["height_source"].astype(str) == "estimated").to_numpy())
    report = ConformReport(layer="buildings", file=str(path), n_in=len(blds))
    if len(todo) == 0:
        have = blds["height_source"].astype(str).value_counts().to_dict()
        msg = (f"{path}: no building of the twin has an estimated height (height sources: {have}); a "
               "height raster only fills estimated heights: import real footprints first")
        raise SchemaError(msg)
    from layers.io.files import open_raster

    with open_raster(path, what="building-height raster") as src:
        raster_crs = src.crs
    target = blds.iloc[todo].to_crs(raster_crs)
    try:
        arr, transform, _crs = read_raster_window(path, tuple(target.total_bounds))
    except rasterio.errors.WindowError:
        msg = (f"{path}: the raster does not overlap the twin's buildings; check that it covers "
               f"{store.city_id} and that its CRS ({raster_crs.to_string()}) is right")
        raise SchemaError(msg) from None
    arr = np.ma.masked_invalid(arr)
    if arr.count() == 0:
        msg = f"{path}: no valid cells over the twin's buildings (all nodata); check the file"
        raise SchemaError(msg)
    heights = zonal_median(shapely.make_valid(target.geometry.values), arr, transform)
    got = np.isfinite(heights)
    if not got.any():
        msg = (f"{path}: none of the {len(todo)} buildings with estimated heights lies on a cell with a "
               "height; check that the raster is a building-height map of this city")
        raise SchemaError(msg)
    out = blds.copy()
    rows = todo[got]
    out.loc[rows, "height_m"] = heights[got]
    out.loc[rows, "height_source"] = "observed"
    out.loc[rows, "floors"] = np.maximum(1, np.round(heights[got] / STOREY_HEIGHT_M)).astype("int64")
    out.loc[rows, "gross_floor_area_m2"] = np.nan
    out.loc[rows, "source"] = out.loc[rows, "source"].astype(str) + f"; height: {path.name} (zonal median)"
    checked, _ = conform_layer(out, "buildings", file=str(path), crs=out.crs, is_synthetic=False)
    ids = blds["building_id"].to_numpy()
    report.repaired = [(str(i), f"height {h:.1f} m from {path.name}") for i, h in zip(ids[rows], heights[got],
                                                                                      strict=True)]
    report.rejected = [(str(i), "no building-height cell under the footprint: estimate kept")
                       for i in ids[todo[~got]]]
    report.n_out = len(checked)
    store.commit({"buildings": checked}, meta={"import_report:building_height": {
        "file": str(path), "n_buildings": len(blds), "n_estimated": len(todo), "n_filled": int(got.sum()),
        "filled": report.repaired[:1000], "not_filled": report.rejected[:1000]}})
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
