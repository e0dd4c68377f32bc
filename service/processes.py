"""OGC API - Processes of the twin: ``pv-screen`` and ``coverage-what-if`` (pygeoapi processors).

``pv-screen``: a posted polygon (GeoJSON, CRS84) or list of building ids -> per building
and in total the rooftop PV capacity, yield, specific yield, CO2 avoided and LCOE, read
from the catalog's ``pv_buildings`` result (``twin pv``); each figure's unit and meaning
come from :mod:`twin.schema`.

``coverage-what-if``: posted candidate charging sites (CRS84 points) -> the change in the
5-minute (urban) and 30-minute (rural) drive-time coverage of the demand points of the
catalog's ``coverage_demand`` result (``twin coverage``), computed with the coverage
engine's own network and drive-time functions (:mod:`engines.coverage`).

Both run synchronously (pygeoapi runs a job instead when the client sends
``Prefer: respond-async``). A bad input is a 400 with a message saying what to send.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from service.provider import store_for
from twin.errors import CatalogError, TwinError
from twin.schema import FIELDS, UNITS
from twin.store import Col, Geom, Pred, TwinStore

__all__ = ["MAX_BUILDINGS", "MAX_SITES", "CoverageWhatIfProcessor", "PVScreenProcessor",
           "coverage_what_if", "pv_screen", "unit_of"]

#: Most buildings one pv-screen request may return.
MAX_BUILDINGS = 20_000
#: Most candidate sites one coverage-what-if request may add.
MAX_SITES = 200
#: Per-building figures of pv-screen (columns of ``pv_buildings``).
PV_COLUMNS = ("pv_capacity_kwp", "pv_yield_kwh_per_yr", "specific_yield_kwh_per_kwp",
              "co2_avoided_t_co2_per_yr", "lcoe_cny_per_kwh")

_TO_STORAGE = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4549", always_xy=True)


class InputError(ProcessorExecuteError):
    """A process input that is missing or wrong (400)."""

    ogc_exception_code = "InvalidParameterValue"
    http_status_code = HTTPStatus.BAD_REQUEST

    def __init__(self, msg: str) -> None:
        super().__init__(msg, user_msg=msg)


def unit_of(column: str) -> str:
    """The unit key of a column: declared in :data:`twin.schema.FIELDS`, else its name's suffix."""
    f = FIELDS.get(column)
    if f is not None:
        return f.unit
    return max((u for u in UNITS if u and column.endswith("_" + u)), key=len, default="")


def _units(columns: Sequence[str]) -> dict[str, dict[str, str]]:
    out = {}
    for c in columns:
        f, unit = FIELDS.get(c), unit_of(c)
        out[c] = {"unit": unit, "unit_name": UNITS.get(unit, ""),
                  "description": f.description if f is not None else ""}
    return out


def _city(data: dict, cities: Sequence[str]) -> str:
    city = data.get("city", cities[0] if len(cities) == 1 else None)
    if city not in cities:
        msg = f"input 'city' must be one of {', '.join(cities)} (got {city!r})"
        raise InputError(msg)
    return str(city)


def _storage_geometry(geojson: Any, what: str) -> Any:
    """A GeoJSON geometry (or Feature) in CRS84 as a shapely geometry in EPSG:4549 (x = easting)."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    try:
        geom = shapely.geometry.shape(geojson)
    except Exception as exc:
        msg = f"input {what!r} is not a GeoJSON geometry: {exc}"
        raise InputError(msg) from exc
    if geom.is_empty:
        msg = f"input {what!r} is an empty geometry"
        raise InputError(msg)
    xy = shapely.get_coordinates(geom)
    if not (np.all(np.abs(xy[:, 0]) <= 180) and np.all(np.abs(xy[:, 1]) <= 90)):
        msg = f"input {what!r} must be in CRS84 (longitude, latitude in degrees)"
        raise InputError(msg)

    def project(c: np.ndarray) -> np.ndarray:
        return np.column_stack(_TO_STORAGE.transform(c[:, 0], c[:, 1]))

    return shapely.transform(geom, project)


def pv_screen(store: TwinStore, *, polygon: Any = None, building_ids: Sequence[str] | None = None,
              max_buildings: int = MAX_BUILDINGS) -> dict[str, Any]:
    """Rooftop PV figures of the buildings in a polygon, or of the buildings listed.

    Parameters
    ----------
    store : TwinStore
        A twin with the ``pv_buildings`` result.
    polygon : GeoJSON geometry, optional
        Polygon or MultiPolygon in CRS84; buildings intersecting it are screened.
    building_ids : sequence of str, optional
        Building ids (``building_id``); give this or ``polygon``.
    max_buildings : int
        Most buildings screened (more: an error asking for a smaller area).

    Returns
    -------
    dict
        ``buildings`` (one record per building: id, :data:`PV_COLUMNS`, ``is_synthetic``),
        ``totals`` (sums; specific yield = yield / capacity; LCOE weighted by energy, which
        is the exact LCOE of the set when every building has the same costs per kW),
        ``unknown_ids``, ``units`` and ``synthetic_share`` (of the capacity).
    """
    if (polygon is None) == (building_ids is None):
        msg = "give exactly one of the inputs 'polygon' (GeoJSON, CRS84) and 'building_ids' (a list)"
        raise InputError(msg)
    if not store.has_layer("pv_buildings"):
        msg = f"the twin of {store.city_id!r} has no PV results; run `twin pv --city {store.city_id}` first"
        raise InputError(msg)
    cols = ["building_id", *PV_COLUMNS, "is_synthetic"]
    pred = None
    where: dict[str, Any] | None = None
    ids: list[str] = []
    if polygon is not None:
        geom = _storage_geometry(polygon, "polygon")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            msg = f"input 'polygon' must be a Polygon or MultiPolygon (got {geom.geom_type})"
            raise InputError(msg)
        pred = Pred("intersects", (Col("geom"), Geom(shapely.to_wkb(geom))))
    else:
        if isinstance(building_ids, str) or not isinstance(building_ids, list | tuple) or not all(
                isinstance(b, str) for b in building_ids):
            msg = "input 'building_ids' must be a list of building id strings"
            raise InputError(msg)
        ids = list(dict.fromkeys(building_ids))
        if not ids or len(ids) > max_buildings:
            msg = f"input 'building_ids' must list 1 to {max_buildings} ids (got {len(ids)})"
            raise InputError(msg)
        where = {"building_id": ids}
    n = store.count("pv_buildings", where=where, pred=pred, timeout_s=30.0)
    if n > max_buildings:
        msg = f"the polygon holds {n:,} buildings; at most {max_buildings:,} are screened at once: split it"
        raise InputError(msg)
    df = store.select_wkb("pv_buildings", cols, where=where, pred=pred, order_by=["building_id"],
                          timeout_s=30.0).drop(columns="wkb")
    cap = df["pv_capacity_kwp"].fillna(0.0).to_numpy(float)
    energy = df["pv_yield_kwh_per_yr"].fillna(0.0).to_numpy(float)
    lcoe = df["lcoe_cny_per_kwh"].to_numpy(float)
    ok = np.isfinite(lcoe) & (energy > 0)
    totals = {
        "n_buildings": len(df),
        "pv_capacity_kwp": float(cap.sum()),
        "pv_yield_kwh_per_yr": float(energy.sum()),
        "specific_yield_kwh_per_kwp": float(energy.sum() / cap.sum()) if cap.sum() > 0 else None,
        "co2_avoided_t_co2_per_yr": float(df["co2_avoided_t_co2_per_yr"].fillna(0.0).sum()),
        "lcoe_cny_per_kwh": float((lcoe[ok] * energy[ok]).sum() / energy[ok].sum()) if ok.any() else None,
    }
    syn = df["is_synthetic"].astype(bool).to_numpy()
    records = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
               for r in df.astype(object).to_dict("records")]
    return {
        "city": store.city_id,
        "buildings": records,
        "totals": totals,
        "unknown_ids": sorted(set(ids) - set(df["building_id"])),
        "synthetic_share": (float(cap[syn].sum() / cap.sum()) if cap.sum() > 0
                            else float(syn.mean() if len(syn) else 0.0)),
        "units": _units(cols),
    }


_NETS: dict[tuple[str, str, float], Any] = {}
_NETS_LOCK = threading.Lock()


def _network(store: TwinStore) -> Any:
    """The city's drive network as the coverage engine builds it (cached per catalog version)."""
    from engines.coverage.network import build_network, with_congestion
    from engines.coverage.params import CoverageParams

    key = (str(store.home), store.city_id, store.catalog_path.stat().st_mtime)
    with _NETS_LOCK:
        if key in _NETS:
            return _NETS[key]
    prm = CoverageParams()
    roads = store.read_layer("roads")
    net = with_congestion(build_network(roads, speeds_kmh=prm.speeds_kmh,
                                        node_intersections=prm.node_intersections),
                          prm.congestion_factors())
    with _NETS_LOCK:
        _NETS.clear()
        _NETS[key] = net
    return net


def _sites(sites: Any) -> gpd.GeoDataFrame:
    """Posted sites (GeoJSON point/MultiPoint/FeatureCollection or [[lon, lat], ...]) in EPSG:4549."""
    pts: list[Any] = []
    if isinstance(sites, list) and all(isinstance(s, list | tuple) and len(s) == 2 for s in sites):
        try:
            pts = [shapely.Point(float(x), float(y)) for x, y in sites]
        except (TypeError, ValueError) as exc:
            msg = "input 'sites' as a list must hold [longitude, latitude] pairs of numbers"
            raise InputError(msg) from exc
    elif isinstance(sites, dict) and sites.get("type") == "FeatureCollection":
        for f in sites.get("features") or []:
            pts += list(shapely.get_parts(shapely.geometry.shape(f.get("geometry") or {})))
    elif isinstance(sites, dict):
        pts = list(shapely.get_parts(shapely.geometry.shape(sites)))
    else:
        msg = "input 'sites' must be [[lon, lat], ...] or GeoJSON points (CRS84)"
        raise InputError(msg)
    if not pts or len(pts) > MAX_SITES or any(p.geom_type != "Point" for p in pts):
        msg = f"input 'sites' must hold 1 to {MAX_SITES} points (got {len(pts)})"
        raise InputError(msg)
    geoms = [_storage_geometry(shapely.geometry.mapping(p), "sites") for p in pts]
    return gpd.GeoDataFrame({"station_id": [f"candidate-{i + 1}" for i in range(len(geoms))]},
                            geometry=geoms, crs="EPSG:4549")


def coverage_what_if(store: TwinStore, sites: Any) -> dict[str, Any]:
    """The change in drive-time charging coverage when candidate sites are added.

    A demand point's drive time after is the shorter of its stored time (``coverage_demand``)
    and the time to the nearest candidate (:func:`engines.coverage.access.drive_time_coverage`
    on the engine's network with its default parameters); it is covered within 5 min in
    urban and 30 min in rural areas (the plans' thresholds, stored per point).

    Returns
    -------
    dict
        ``before`` and ``after`` coverage shares (``urban_5min``, ``rural_30min``, ``all``,
        weighted by residents), ``change_pct_points``, per-site ``newly_covered`` counts
        and ``synthetic_share`` of the demand.
    """
    from engines.coverage.access import drive_time_coverage
    from engines.coverage.params import CoverageParams

    if not store.has_layer("coverage_demand"):
        msg = (f"the twin of {store.city_id!r} has no coverage results; "
               f"run `twin coverage --city {store.city_id}`")
        raise InputError(msg)
    cand = _sites(sites)
    demand = store.read_layer("coverage_demand")
    need = ["is_urban", "drive_time_s", "drive_threshold_min"]
    missing = [c for c in need if c not in demand.columns]
    if missing:
        msg = f"coverage_demand lacks {missing}; rerun `twin coverage --city {store.city_id}`"
        raise InputError(msg)
    prm = CoverageParams()
    net = _network(store)
    new = drive_time_coverage(net, cand, demand, max_snap_m=prm.max_snap_m,
                              access_speed_kmh=prm.drive_access_speed_kmh)
    before_t = demand["drive_time_s"].to_numpy(float)
    after_t = np.fmin(before_t, new["drive_time_s"].to_numpy(float))
    thr = demand["drive_threshold_min"].to_numpy(float) * 60.0
    weight = (demand["residents_count"].to_numpy(float) if "residents_count" in demand
              else np.ones(len(demand)))
    urban = demand["is_urban"].to_numpy(bool)

    def shares(t: np.ndarray) -> dict[str, float | None]:
        cov = t <= thr
        out: dict[str, float | None] = {}
        for key, mask in (("urban_5min", urban), ("rural_30min", ~urban), ("all", np.ones_like(urban))):
            w = weight[mask].sum()
            out[key] = float(100.0 * weight[mask & cov].sum() / w) if w > 0 else None
        return out

    before, after = shares(before_t), shares(after_t)
    newly = (after_t <= thr) & ~(before_t <= thr)
    per_site = pd.Series(new["nearest_station_id"].to_numpy()[newly]).value_counts()
    syn = (demand["is_synthetic"].astype(bool).to_numpy() if "is_synthetic" in demand
           else np.zeros(len(demand), bool))
    return {
        "city": store.city_id,
        "n_sites": len(cand),
        "n_demand_points": len(demand),
        "before_pct": before,
        "after_pct": after,
        "change_pct_points": {k: (None if before[k] is None or after[k] is None else after[k] - before[k])
                              for k in before},
        "newly_covered_points": int(newly.sum()),
        "sites": [{"station_id": s, "newly_covered_points": int(per_site.get(s, 0))}
                  for s in cand["station_id"]],
        "synthetic_share": float(weight[syn].sum() / weight.sum()) if weight.sum() > 0 else 0.0,
        "thresholds_min": {"urban": float(np.nanmin(thr[urban]) / 60) if urban.any() else None,
                           "rural": float(np.nanmin(thr[~urban]) / 60) if (~urban).any() else None},
    }


def _metadata(pid: str, title: dict, description: dict, inputs: dict, outputs: dict, example: dict) -> dict:
    return {
        "version": "1.0.0", "id": pid, "title": title, "description": description,
        "jobControlOptions": ["sync-execute", "async-execute"],
        "keywords": ["carbon-twin", pid],
        "links": [], "inputs": inputs, "outputs": outputs, "example": example,
    }


_CITY_INPUT = {"title": "City", "description": "City id (optional when one city is served)",
               "schema": {"type": "string"}, "minOccurs": 0, "maxOccurs": 1}

PV_SCREEN_METADATA = _metadata(
    "pv-screen",
    {"en": "Rooftop PV screen", "zh": "屋顶光伏筛查"},
    {"en": "Capacity, yield, specific yield, CO2 avoided and LCOE of the buildings in a polygon "
           "or listed by id, per building and in total (from the twin's PV results).",
     "zh": "按多边形或建筑编号筛查屋顶光伏：装机、发电量、等效利用小时、减排与平准化度电成本。"},
    {"city": _CITY_INPUT,
     "polygon": {"title": "Polygon", "description": "GeoJSON Polygon/MultiPolygon in CRS84",
                 "schema": {"type": "object", "contentMediaType": "application/geo+json"},
                 "minOccurs": 0, "maxOccurs": 1},
     "building_ids": {"title": "Building ids", "description": "Ids of buildings (building_id)",
                      "schema": {"type": "array", "items": {"type": "string"}},
                      "minOccurs": 0, "maxOccurs": 1}},
    {"result": {"title": "Screen", "description": "buildings, totals, units, synthetic_share",
                "schema": {"type": "object", "contentMediaType": "application/json"}}},
    {"inputs": {"building_ids": ["hangzhou-b-0000000"]}},
)

COVERAGE_METADATA = _metadata(
    "coverage-what-if",
    {"en": "Charging coverage what-if", "zh": "充电覆盖情景分析"},
    {"en": "Change in 5-minute (urban) and 30-minute (rural) drive-time charging coverage when "
           "candidate sites are added (coverage engine, the twin's road network).",
     "zh": "新增候选充电站后城市 5 分钟、农村 30 分钟充电覆盖率的变化。"},
    {"city": _CITY_INPUT,
     "sites": {"title": "Candidate sites", "description": "[[lon, lat], ...] or GeoJSON points (CRS84)",
               "schema": {"oneOf": [{"type": "array",
                                     "items": {"type": "array", "items": {"type": "number"}}},
                                    {"type": "object"}]},
               "minOccurs": 1, "maxOccurs": 1}},
    {"result": {"title": "Coverage change", "description": "before/after shares and change [%]",
                "schema": {"type": "object", "contentMediaType": "application/json"}}},
    {"inputs": {"sites": [[120.16, 30.27]]}},
)


class _TwinProcessor(BaseProcessor):
    """A processor over the served cities (``processor.home`` and ``processor.cities``)."""

    def __init__(self, processor_def: dict, metadata: dict) -> None:
        super().__init__(processor_def, metadata)
        self.home = Path(processor_def["home"])
        self.cities = list(processor_def["cities"])

    def _run(self, data: dict, fn: Any) -> tuple[str, dict]:
        if not isinstance(data, dict):
            msg = "the inputs must be a JSON object"
            raise InputError(msg)
        try:
            return "application/json", fn(store_for(self.home, _city(data, self.cities)), data)
        except InputError:
            raise
        except (TwinError, CatalogError, ValueError) as exc:
            raise InputError(str(exc)) from exc


class PVScreenProcessor(_TwinProcessor):
    """``pv-screen`` (see :func:`pv_screen`)."""

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, PV_SCREEN_METADATA)

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, dict]:
        """Screen the posted polygon or buildings."""
        unknown = set(data or {}) - {"city", "polygon", "building_ids"} if isinstance(data, dict) else set()
        if unknown:
            raise InputError(f"unknown inputs {sorted(unknown)}; pv-screen takes city, polygon, building_ids")
        return self._run(data, lambda store, d: pv_screen(store, polygon=d.get("polygon"),
                                                          building_ids=d.get("building_ids")))


class CoverageWhatIfProcessor(_TwinProcessor):
    """``coverage-what-if`` (see :func:`coverage_what_if`)."""

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, COVERAGE_METADATA)

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, dict]:
        """Add the posted candidate sites and report the coverage change."""
        unknown = set(data or {}) - {"city", "sites"} if isinstance(data, dict) else set()
        if unknown:
            raise InputError(f"unknown inputs {sorted(unknown)}; coverage-what-if takes city, sites")
        if isinstance(data, dict) and "sites" not in data:
            msg = "input 'sites' is required: [[lon, lat], ...] or GeoJSON points (CRS84)"
            raise InputError(msg)
        return self._run(data, lambda store, d: coverage_what_if(store, d["sites"]))
