"""Centralised PV sites: water-surface PV and ground PV (the ``pv_sites`` engine).

:func:`load` reads the twin's ``water`` and ``landcover`` layers (and the slope of a
``dem`` raster when the twin has one); :func:`compute` runs
:func:`engines.pv.water.screen_water` and :func:`engines.pv.ground.screen_ground`,
adds yield from the one yield engine (:func:`engines.pv.water.site_yield`), and returns:

result layers
    ``water_pv_sites``, ``water_pv_exclusions`` (every excluded water body with its
    ``site_exclusion_reason``), ``ground_pv_sites``, ``ground_pv_exclusions``;
tables
    ``water_pv_districts``, ``ground_pv_districts`` (per district and site category,
    plus ``site_category = 'all'`` rows), ``pv_sites_city`` (city totals per kind
    ``water``/``ground``/``all``), ``pv_sites_targets`` (city totals beside the
    ``pv_capacity_mw`` targets), ``pv_sites_storage`` (the storage the S-H1 rule asks
    of the potential) and ``pv_sites_repairs`` (repaired polygons).

Capacities are DC [MWp]; the plan targets are in MW of installed capacity, which for
PV in Chinese statistics is the DC nameplate, so MWp is set beside MW directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib

from engines.pv.economics import system_economics
from engines.pv.ground import landcover_candidates, screen_ground, user_candidates
from engines.pv.params import PVSitesParams
from engines.pv.water import district_totals, screen_water, site_yield
from twin.engine import EngineResult, TwinSource
from twin.errors import SchemaError
from twin.params import to_dict

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["STEPS", "PVSitesInputs", "compute", "load", "pv_sites_targets", "read_slope"]

logger = logging.getLogger(__name__)

#: Names passed to ``progress``, in order.
STEPS = ("water screen", "ground screen", "yield", "totals")

_WATER_KEEP = ["pv_site_id", "water_id", "water_type", "name", "site_category",
               "district_adcode", "township_code", "area_m2", "pv_cluster_id",
               "cluster_area_m2", "mounting", "edge_setback_m", "usable_area_m2",
               "array_coverage_ratio", "ground_coverage_ratio", "module_area_m2",
               "capacity_mwp", "capacity_density_mwp_per_km2", "surface_tilt",
               "surface_azimuth", "albedo", "specific_yield_kwh_per_kwp",
               "pv_energy_mwh_per_yr", "storage_power_mw", "storage_energy_mwh",
               "capacity_factor", "co2_avoided_t_co2_per_yr", "capex_cny", "lcoe_cny_per_kwh",
               "simple_payback_yr",
               "is_synthetic", "source", "geometry"]
_WATER_EXCL = ["water_id", "water_type", "name", "district_adcode", "township_code", "area_m2",
               "pv_cluster_id", "cluster_area_m2", "site_exclusion_reason", "is_synthetic",
               "source", "geometry"]



@dataclass
class PVSitesInputs:
    """Everything the site screens read from a built twin (see :func:`load`)."""

    water: gpd.GeoDataFrame
    landcover: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    weather: pd.DataFrame
    weather_name: str
    location: pvlib.location.Location
    latitude_deg: float
    targets: pd.DataFrame
    slope_deg: np.ndarray | None = None
    slope_transform: Affine | None = None
    protected_areas: gpd.GeoDataFrame | None = None
    basic_farmland: gpd.GeoDataFrame | None = None
    user_sites: gpd.GeoDataFrame | None = None
    weather_check: dict = field(default_factory=dict)


def read_slope(path: os.PathLike[str] | str, crs: Any) -> tuple[np.ndarray, Affine]:
    """Slope [°] of a DEM file, reprojected to ``crs``, and its transform.

    The DEM is warped (bilinear) to ``crs`` at its own resolution; nodata stays NaN (never
    excluded for slope). Slope = ``atan(|grad z|)`` from central differences.
    """
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from layers.io.files import open_raster

    with open_raster(path, what="DEM", require_crs=False) as src:
        if src.crs is None:
            msg = f"{path}: the DEM has no CRS; re-import it with `twin import` and its CRS"
            raise SchemaError(msg)
        transform, width, height = calculate_default_transform(src.crs, crs, src.width,
                                                               src.height, *src.bounds)
        dem = np.full((height, width), np.nan, dtype="float64")
        reproject(source=rasterio.band(src, 1), destination=dem, dst_transform=transform,
                  dst_crs=crs, dst_nodata=np.nan, src_nodata=src.nodata,
                  resampling=Resampling.bilinear)
    gy, gx = np.gradient(dem, abs(transform.e), abs(transform.a))
    return np.degrees(np.arctan(np.hypot(gx, gy))), transform


def _as_layer(obj: gpd.GeoDataFrame | os.PathLike[str] | str | None, where: str, crs: Any
              ) -> gpd.GeoDataFrame | None:
    if obj is None:
        return None
    if isinstance(obj, gpd.GeoDataFrame):
        layer = obj
    else:
        from layers.io.files import read_vector

        layer = read_vector(obj)
    if layer.crs is None:
        msg = f"{where}: the layer has no CRS; give it one"
        raise SchemaError(msg)
    return layer.to_crs(crs) if layer.crs != crs else layer


def load(source: TwinSource, params: PVSitesParams, *,
         user_sites: gpd.GeoDataFrame | os.PathLike[str] | str | None = None,
         protected_areas: gpd.GeoDataFrame | os.PathLike[str] | str | None = None,
         basic_farmland: gpd.GeoDataFrame | os.PathLike[str] | str | None = None) -> PVSitesInputs:
    """Read the site screens' inputs from a built twin.

    Parameters
    ----------
    source : TwinSource
    params : PVSitesParams
    user_sites : GeoDataFrame or path, optional
        Polygons with a ``category`` column (e.g. ``abandoned_mine``,
        ``closed_landfill``); see :func:`engines.pv.ground.user_candidates`.
    protected_areas, basic_farmland : GeoDataFrame or path, optional
        Exclusion polygons (ecological red lines, permanent basic farmland).
    """
    from engines.pv.solar_time import read_checked_weather

    city = source.city
    weather_path = source.weather_path(params.weather_file)
    wlayer = source.read_layer("water")
    crs = wlayer.crs
    lc = source.read_layer("landcover")
    bounds = source.read_layer("boundaries", columns=["adcode", "level", "name_zh", "name_en"])
    slope = slope_tr = None
    dem = source.raster("dem") if params.use_dem else None
    if dem is not None:
        slope, slope_tr = read_slope(dem[0], crs)
    location = pvlib.location.Location(city.latitude, city.longitude, tz=city.timezone,
                                       altitude=city.altitude_m, name=city.name_en)
    weather, check = read_checked_weather(weather_path, location, shift_h=params.weather_shift_h)
    return PVSitesInputs(
        water=wlayer, landcover=lc, districts=bounds.loc[bounds["level"] == "district"],
        weather=weather, weather_name=weather_path.name, location=location,
        latitude_deg=city.latitude, targets=city.targets_frame(), slope_deg=slope,
        slope_transform=slope_tr,
        protected_areas=_as_layer(protected_areas, "protected_areas", crs),
        basic_farmland=_as_layer(basic_farmland, "basic_farmland", crs),
        user_sites=_as_layer(user_sites, "user_sites", crs), weather_check=check.as_dict())


def compute(inputs: PVSitesInputs, params: PVSitesParams, *,
            progress: Callable[[str], None] | None = None) -> EngineResult:
    """Screen water-surface and ground PV sites, their yield and totals against the targets (pure)."""
    step = progress or (lambda name: None)
    site = to_dict(params.site)
    model = params.model.options()
    wlayer, lc, districts = inputs.water, inputs.landcover, inputs.districts
    crs = wlayer.crs
    lat = inputs.latitude_deg
    protected, farmland, users = inputs.protected_areas, inputs.basic_farmland, inputs.user_sites
    slope, slope_tr = inputs.slope_deg, inputs.slope_transform
    step("water screen")
    wscreen, wrep = screen_water(wlayer, latitude_deg=lat, params=site, protected_areas=protected)
    step("ground screen")
    cands = [landcover_candidates(lc, site)]
    if users is not None:
        cands.append(user_candidates(users, site, districts=districts))
    cand = gpd.GeoDataFrame(pd.concat(cands, ignore_index=True), geometry="geometry", crs=crs)
    gscreen, grep_ = screen_ground(cand, latitude_deg=lat, params=site, water=wlayer,
                                   landcover=lc, protected_areas=protected,
                                   basic_farmland=farmland, slope_deg=slope,
                                   slope_transform=slope_tr)

    step("yield")
    wsites = wscreen.loc[wscreen["site_exclusion_reason"] == ""].copy()
    wsites["pv_site_id"] = "water-" + wsites["water_id"].astype(str)
    gsites = gscreen.loc[gscreen["site_exclusion_reason"] == ""].copy()
    both = pd.concat([wsites[["mounting", "surface_tilt", "surface_azimuth", "albedo",
                              "capacity_mwp"]],
                      gsites[["mounting", "surface_tilt", "surface_azimuth", "albedo",
                              "capacity_mwp"]]], ignore_index=True)
    y = site_yield(both, inputs.weather, inputs.location, site, **model)
    nw = len(wsites)
    st = site["storage"]
    for frame, part in ((wsites, y.iloc[:nw]), (gsites, y.iloc[nw:])):
        frame["specific_yield_kwh_per_kwp"] = part["specific_yield_kwh_per_kwp"].to_numpy()
        frame["pv_energy_mwh_per_yr"] = part["pv_energy_mwh_per_yr"].to_numpy()
        frame["storage_power_mw"] = frame["capacity_mwp"] * float(st["ratio"])
        frame["storage_energy_mwh"] = frame["storage_power_mw"] * float(st["duration_h"])
        frame["capacity_factor"] = frame["specific_yield_kwh_per_kwp"] / len(inputs.weather)
        econ = params.economics  # a site sells everything at the feed-in price unless its case says otherwise
        money = system_economics(frame["capacity_mwp"].to_numpy(float) * 1000.0,
                                 frame["pv_energy_mwh_per_yr"].to_numpy(float) * 1000.0, econ.site,
                                 econ.tariffs.feed_in_cny_per_kwh, econ)
        for col in money.columns:
            frame[col] = money[col].to_numpy()

    step("totals")
    names = districts[["adcode", "name_zh", "name_en"]].rename(columns={"adcode": "district_adcode"})
    wd = district_totals(wsites, storage=st).merge(pd.DataFrame(names), how="left")
    gd = district_totals(gsites, storage=st).merge(pd.DataFrame(names), how="left")
    allsites = pd.concat([wsites.assign(kind="water"), gsites.assign(kind="ground")],
                         ignore_index=True)
    city_tot = pd.concat([district_totals(allsites, by="kind", storage=st),
                          district_totals(allsites.assign(kind="all"), by="kind", storage=st)],
                         ignore_index=True)
    city_tot["synthetic_share"] = _synthetic_shares(allsites, city_tot)
    city_tot["co2_avoided_t_co2_per_yr"] = (city_tot["pv_energy_mwh_per_yr"]
                                            * params.economics.grid_emission_factor_t_co2_per_mwh)
    city_tot["median_lcoe_cny_per_kwh"] = _medians(allsites, city_tot, "lcoe_cny_per_kwh")
    city_tot["median_simple_payback_yr"] = _medians(allsites, city_tot, "simple_payback_yr")
    targets, storage_t = pv_sites_targets(city_tot, inputs.targets, st)
    share = dict(zip(city_tot.loc[city_tot["site_category"] == "all", "kind"],
                     city_tot.loc[city_tot["site_category"] == "all", "synthetic_share"], strict=True))
    targets["synthetic_share"] = targets["kind"].map(share).astype("float64")
    targets["note"] = [f"{100 * s:.0f} % of the capacity rests on synthetic water / land-cover polygons"
                       if s > 0 else "" for s in targets["synthetic_share"].fillna(0.0)]
    repairs = pd.concat([wrep, grep_], ignore_index=True)

    wsites = gpd.GeoDataFrame(wsites[[c for c in _WATER_KEEP if c in wsites.columns]],
                              geometry="geometry", crs=crs)
    wexcl = wscreen.loc[wscreen["site_exclusion_reason"] != "",
                        [c for c in _WATER_EXCL if c in wscreen.columns]]
    gcols = [c for c in gsites.columns if c not in ("site_exclusion_reason",)]
    gsites = gpd.GeoDataFrame(gsites[gcols], geometry="geometry", crs=crs)
    gexcl = gscreen.loc[gscreen["site_exclusion_reason"] != "",
                        ["pv_site_id", "site_category", "lc_class", "landcover_id",
                         "district_adcode", "township_code", "area_m2",
                         *[c for c in gscreen.columns if c.startswith("removed_")],
                         "site_exclusion_reason", "is_synthetic", "source", "geometry"]]
    # excluded ground candidates keep their original outline (the remainder may be empty)
    gexcl = gexcl.set_geometry(cand.geometry.loc[gexcl.index].to_numpy(), crs=crs)
    meta = {"pv_sites": {"weather_file": inputs.weather_name, "slope_from_dem": slope is not None,
                         "params": to_dict(params), "weather_check": inputs.weather_check,
                         "n_water_bodies": len(wscreen), "n_water_sites": len(wsites),
                         "n_ground_candidates": len(gscreen), "n_ground_sites": len(gsites)}}
    results = {"water_pv_sites": wsites, "water_pv_exclusions": wexcl,
               "ground_pv_sites": gsites, "ground_pv_exclusions": gexcl}
    tables = {"water_pv_districts": wd, "ground_pv_districts": gd, "pv_sites_city": city_tot,
              "pv_sites_targets": targets, "pv_sites_storage": storage_t,
              "pv_sites_repairs": repairs}
    return EngineResult(results, tables, meta)


def _medians(sites: pd.DataFrame, totals: pd.DataFrame, col: str) -> np.ndarray:
    """Median of ``col`` over the sites with capacity of each ``(kind, site_category)`` row of ``totals``."""
    live = sites.loc[sites["capacity_mwp"] > 0]
    kind = live["kind"].astype(str).to_numpy()
    cat = live["site_category"].astype(str).to_numpy()
    vals = live[col].to_numpy(float)
    out = []
    for k, c in zip(totals["kind"].astype(str), totals["site_category"].astype(str), strict=True):
        m = (kind == k) | (k == "all")
        if c != "all":
            m &= cat == c
        out.append(float(np.median(vals[m])) if m.any() else float("nan"))
    return np.asarray(out, dtype="float64")


def _synthetic_shares(sites: pd.DataFrame, totals: pd.DataFrame) -> np.ndarray:
    """Capacity-weighted synthetic share of each ``(kind, site_category)`` row of ``totals``."""
    cap = sites["capacity_mwp"].to_numpy(float)
    syn = sites["is_synthetic"].fillna(True).astype(bool).to_numpy() if "is_synthetic" in sites \
        else np.ones(len(sites), bool)
    kind = sites["kind"].astype(str).to_numpy()
    cat = sites["site_category"].astype(str).to_numpy()
    out = []
    for k, c in zip(totals["kind"].astype(str), totals["site_category"].astype(str), strict=True):
        m = (kind == k) | (k == "all")
        if c != "all":
            m &= cat == c
        total = cap[m].sum()
        out.append(float(cap[m & syn].sum() / total) if total > 0 else float("nan"))
    return np.asarray(out, dtype="float64")


def pv_sites_targets(city_totals: pd.DataFrame, targets: pd.DataFrame,
                     storage: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Centralised PV potential beside the PV capacity targets, and the storage it must carry.

    Parameters
    ----------
    city_totals : pandas.DataFrame
        :func:`engines.pv.water.district_totals` with ``by='kind'`` and
        ``site_category == 'all'`` rows (kinds ``water``, ``ground``, ``all``).
    targets : pandas.DataFrame
        :meth:`twin.config.CityConfig.targets_frame`.
    storage : dict
        ``ratio`` and ``duration_h`` of the run.

    Returns
    -------
    capacity : pandas.DataFrame
        Per ``pv_capacity_mw`` city target and kind: ``target_mw``, ``baseline_mw``,
        ``needed_mw`` (target - 2020 baseline), ``potential_mw`` and
        ``potential_minus_needed_mw``.
    storage : pandas.DataFrame
        Per ``storage_ratio_pct`` target (S-H1, S-H1-draft) and kind: the ratio asked,
        the ratio of the run, ``storage_power_mw`` and ``storage_energy_mwh`` for the
        potential at the larger of the two ratios, and ``duration_h``.
    """
    tot = city_totals.loc[city_totals["site_category"] == "all"]
    pv = targets.loc[(targets["metric"] == "pv_capacity_mw") & (targets["kind"] == "target")
                     & (targets["scope"] == "city")]
    rows = []
    for t in pv.itertuples():
        base = float(t.baseline_value) if pd.notna(t.baseline_value) else np.nan
        needed = float(t.value) - (0.0 if np.isnan(base) else base)
        for s in tot.itertuples():
            rows.append({"target_id": t.id, "status": t.status, "is_governing": bool(t.is_governing),
                         "year": t.year, "kind": s.kind, "target_mw": float(t.value),
                         "baseline_mw": base, "needed_mw": needed, "potential_mw": s.capacity_mwp,
                         "potential_minus_needed_mw": s.capacity_mwp - needed,
                         "source": t.source})
    st = targets.loc[targets["metric"] == "storage_ratio_pct"]
    srows = []
    for t in st.itertuples():
        ratio = max(float(t.value) / 100.0, float(storage["ratio"]))
        for s in tot.itertuples():
            power = s.capacity_mwp * ratio
            srows.append({"target_id": t.id, "status": t.status,
                          "is_governing": bool(t.is_governing), "kind": s.kind,
                          "target_value": float(t.value), "storage_ratio_pct": 100.0 * ratio,
                          "potential_mw": s.capacity_mwp, "storage_power_mw": power,
                          "duration_h": float(storage["duration_h"]),
                          "storage_energy_mwh": power * float(storage["duration_h"]),
                          "source": t.source})
    cap_cols = ["target_id", "status", "is_governing", "year", "kind", "target_mw", "baseline_mw",
                "needed_mw", "potential_mw", "potential_minus_needed_mw", "source"]
    st_cols = ["target_id", "status", "is_governing", "kind", "target_value", "storage_ratio_pct",
               "potential_mw", "storage_power_mw", "duration_h", "storage_energy_mwh", "source"]
    return pd.DataFrame(rows, columns=cap_cols), pd.DataFrame(srows, columns=st_cols)
