"""Rooftop PV potential of a city: facets -> horizons -> yield -> scenarios -> aggregates.

:func:`rooftop_potential` is pure (frames in, frames out) and reads like
ModelChain.run_model: a handful of named steps. :func:`pv_targets` sets the
city totals beside the plan's PV capacity targets. :func:`load` and
:func:`compute` are the engine's contract (:mod:`twin.engine`).

Viability follows Google Project Sunroof: a facet is viable when its specific
yield is at least 75 % of that of an unshaded reference module at the city's
default flat-roof tilt facing south (Project Sunroof data explorer methodology,
2017: "at least 75 % of the maximum annual sun in the county").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import pvlib

from engines.pv.economics import PVEconomics, default_economics, panel_count, system_economics
from engines.pv.facets import roof_facets
from engines.pv.params import RooftopParams
from engines.pv.scenarios import Scenario, apply_scenario
from engines.pv.shading import SunTable, facet_horizons, sun_table
from engines.pv.yield_ import simulate_facets
from twin.engine import EngineResult, TwinSource
from twin.errors import ConfigError, TwinError
from twin.params import to_dict

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["VARIABILITY_SAMPLE", "VIABLE_FRACTION_OF_REFERENCE", "RooftopInputs", "aggregate",
           "city_screener_figures", "compute", "load", "pv_targets", "rooftop_potential", "rooftop_rows",
           "rooftop_tables", "screener_columns", "simulate_by_roof", "totals_scope", "weather_variability"]

logger = logging.getLogger(__name__)

#: A facet is viable at >= this share of the unshaded reference's specific yield (Project Sunroof).
VIABLE_FRACTION_OF_REFERENCE = 0.75

_MONTHS = [f"ac_kwh_{m:02d}" for m in range(1, 13)]


def _reference_yield(weather: pd.DataFrame, location: pvlib.location.Location, flat_tilt_deg: float,
                     model: dict) -> float:
    ref = pd.DataFrame({"surface_tilt": [flat_tilt_deg], "surface_azimuth": [180.0], "pdc0_kw": [1.0]})
    return float(simulate_facets(ref, weather, location, **model)["specific_yield_kwh_per_kwp"].iloc[0])


def rooftop_potential(
    buildings: gpd.GeoDataFrame,
    weather: pd.DataFrame,
    location: pvlib.location.Location,
    scenarios: dict[str, Scenario],
    *,
    shading: bool = True,
    n_sectors: int = 36,
    radius_m: float = 300.0,
    facet_params: dict | None = None,
    model: dict | None = None,
    obstacles: gpd.GeoDataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    economics: PVEconomics | None = None,
    samples_per_sector: int = 10,
    row_shading: bool = True,
    temperature_by_roof: dict[str, str] | None = None,
    terrain: tuple[np.ndarray, Affine] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-facet and per-building rooftop PV potential for every scenario.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        The twin's buildings layer (projected CRS).
    weather : pandas.DataFrame
        Hourly year from :func:`engines.pv.weather.read_epw`.
    location : pvlib.location.Location
        Site of the weather.
    scenarios : dict of str to Scenario
        Installable-ratio scenarios (:func:`engines.pv.scenarios.load_scenarios`).
    shading : bool
        Compute horizon profiles from the neighbouring LOD1 blocks.
    n_sectors, radius_m : int, float
        Horizon sectors and search radius [m].
    facet_params, model : dict, optional
        Options of :func:`~engines.pv.facets.roof_facets` and
        :func:`~engines.pv.yield_.simulate_facets`.
    obstacles : geopandas.GeoDataFrame, optional
        Buildings that may shade (default: ``buildings``). A batch tile passes its
        buildings plus the halo around it, so edge facets see every neighbour within
        ``radius_m`` and results do not depend on the tiling.
    progress : callable, optional
        Called with the name of each step.
    economics : PVEconomics, optional
        Panels, tariffs, costs and the grid emission factor (default:
        ``data/pv/economics.toml``).
    samples_per_sector, row_shading : int, bool
        Horizon samples per sector matched to the site's sun (0: sector maxima) and
        row-to-row shading of racked facets (:func:`~engines.pv.shading.facet_horizons`).
    terrain : (ndarray, affine.Affine), optional
        A DEM in the buildings' CRS and its transform (:func:`read_terrain`): terrain
        horizons join the buildings' (:func:`~engines.pv.shading.horizon_from_dem`).
    temperature_by_roof : dict of str to str, optional
        SAPM temperature parameter set per modelled roof form (``flat``, ``gable``,
        ``hip``): racked rows run cooler than flush modules. Used when the model's
        temperature model is ``sapm``; default: one set for every facet.

    Returns
    -------
    facets : pandas.DataFrame
        One row per facet: geometry-free facet attributes, yield (``ac_kwh``,
        ``specific_yield_kwh_per_kwp``, ``shading_loss_fraction``, monthly
        ``ac_kwh_MM``), ``is_viable``, and ``adopted_ratio_<scenario>`` per scenario.
    per_building : pandas.DataFrame
        Indexed like ``buildings`` rows that have facets: technical capacity and
        energy of viable facets (``pv_capacity_kwp``, ``pv_yield_kwh_per_yr``),
        capacity-weighted specific yield and shading loss, ``n_facets``, and the
        adopted capacity per scenario in ``adopted_capacity_kwp_<scenario>``; and what a
        PV screener reports (:func:`screener_columns`): capacity factor, monthly POA, the
        loss cascade, sunshine hours, panels, CO2 avoided, LCOE, simple payback and the
        facets' quality flags.
    """
    step = progress or (lambda name: None)
    facet_params = dict(facet_params or {})
    model = dict(model or {})
    step("roof facets")
    facets = roof_facets(buildings, latitude_deg=location.latitude, **facet_params)
    if facets.empty:
        return facets, pd.DataFrame()
    if shading:
        step("horizon shading")
        blockers = buildings if obstacles is None else obstacles
        sun = _sun_table(location, n_sectors, samples_per_sector) if samples_per_sector else None
        dem, dem_transform = terrain if terrain is not None else (None, None)
        facets = facets.join(facet_horizons(facets, blockers, n_sectors=n_sectors, radius_m=radius_m,
                                            samples_per_sector=samples_per_sector, sun=sun,
                                            row_shading=row_shading, dem=dem, dem_transform=dem_transform,
                                            dem_radius_m=TERRAIN_RADIUS_M))
    step("yield")
    result = simulate_by_roof(facets, weather, location, model, temperature_by_roof)
    facets = facets.join(result)
    econ = economics if economics is not None else default_economics()
    facets["panel_count"] = panel_count(facets["module_area_m2"], facets["pdc0_kw"], econ.panel)
    hcols = [c for c in facets.columns if c.startswith("horizon_elev_deg_")]
    if hcols:  # kept for the inspector's polar chart; float32 (0.01 deg) halves their memory
        facets[hcols] = facets[hcols].astype("float32")
    ref_model = dict(model)
    if temperature_by_roof and model.get("temperature_model", "sapm") == "sapm":
        ref_model["temperature_model_parameters"] = temperature_by_roof.get("flat")
    ref = _reference_yield(weather, location, facet_params.get("flat_tilt_deg", 20.0), ref_model)
    facets["is_viable"] = facets["specific_yield_kwh_per_kwp"] >= VIABLE_FRACTION_OF_REFERENCE * ref
    step("scenarios")
    for name, scen in scenarios.items():
        facets[f"adopted_ratio_{name}"] = apply_scenario(facets, buildings, scen).to_numpy()
    per_building = _per_building(facets, scenarios)
    per_building = per_building.join(screener_columns(facets, per_building, buildings, econ, len(weather)))
    return facets, per_building


#: Facet columns summed over a building's viable facets.
_SUMMED = ("nominal_kwh", "loss_horizon_kwh", "loss_iam_kwh", "loss_temperature_kwh", "loss_system_kwh",
           "loss_inverter_kwh", "panel_count")
#: Facet columns averaged over a building's viable facets, weighted by capacity.
_WEIGHTED = ("sunshine_h", *[f"poa_global_kwh_per_m2_{m:02d}" for m in range(1, 13)])
#: Facet quality flags: a building is flagged when any of its facets is.
_FLAGS = ("height_defaulted", "roof_type_defaulted")


def screener_columns(facets: pd.DataFrame, per_building: pd.DataFrame, buildings: pd.DataFrame,
                     econ: PVEconomics, n_hours: int) -> pd.DataFrame:
    """Per building, what PVWatts, PVGIS or Google's Solar API report (pure).

    Over the building's viable facets (those its ``pv_capacity_kwp`` counts): the sums of
    ``nominal_kwh``, the ``loss_*_kwh`` cascade and ``panel_count`` (so ``nominal_kwh``
    minus the losses is ``pv_yield_kwh_per_yr``), the capacity-weighted mean of
    ``sunshine_h`` and the monthly POA; ``capacity_factor`` (``pv_yield_kwh_per_yr /
    (pv_capacity_kwp x n_hours)``); ``co2_avoided_t_co2_per_yr``, ``capex_cny``,
    ``lcoe_cny_per_kwh`` and ``simple_payback_yr`` (:func:`engines.pv.economics.system_economics`,
    residential or commercial case and tariff by the building's ``use_class``). Over all
    its facets: ``height_defaulted`` and ``roof_type_defaulted`` (any facet defaulted).

    Parameters
    ----------
    facets : pandas.DataFrame
        Facets with ``building_id``, ``is_viable``, ``pdc0_kw`` and the yield engine's
        ``details`` columns.
    per_building : pandas.DataFrame
        :func:`_per_building`, indexed by ``building_id``.
    buildings : pandas.DataFrame
        ``building_id`` and (optional) ``use_class``.
    econ : PVEconomics
    n_hours : int
        Hours of the weather year (8760 or 8784).
    """
    viable = facets["is_viable"].to_numpy(dtype=bool)
    kwp = facets["pdc0_kw"].to_numpy(dtype=float) * viable
    cols: dict[str, Any] = {"_kwp": kwp}
    for c in _SUMMED:
        cols[c] = facets[c].to_numpy() * viable
    for c in _WEIGHTED:
        cols[c] = facets[c].to_numpy(dtype=float) * kwp
    codes, index = _building_groups(facets)
    g = _group_sums(codes, index, cols)
    out = g[list(_SUMMED)].copy()
    out["panel_count"] = out["panel_count"].astype("int64")
    w = g["_kwp"].where(g["_kwp"] > 0, 1.0)
    for c in _WEIGHTED:
        out[c] = g[c] / w
    for f in _FLAGS:  # any facet flagged
        flag = facets[f].to_numpy(dtype=bool) if f in facets.columns else np.zeros(len(facets), dtype=bool)
        out[f] = np.bincount(codes, weights=flag, minlength=len(index)) > 0
    out = out.reindex(per_building.index)
    cap = per_building["pv_capacity_kwp"].to_numpy(dtype=float)
    energy = per_building["pv_yield_kwh_per_yr"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["capacity_factor"] = np.where(cap > 0, energy / (np.where(cap > 0, cap, 1.0) * n_hours), 0.0)
    use = (buildings.set_index("building_id")["use_class"].reindex(per_building.index).astype(object)
           .fillna("other").to_numpy() if "use_class" in buildings.columns
           else np.full(len(per_building), "other", dtype=object))
    home = np.isin(use, list(econ.residential_use_classes))
    cases = [econ.residential if h else econ.commercial for h in home]
    retail = np.where(home, econ.tariffs.residential_cny_per_kwh, econ.tariffs.commercial_cny_per_kwh)
    money = system_economics(cap, energy, cases, retail, econ)
    money.index = per_building.index
    return out.join(money)


def _sun_table(location: pvlib.location.Location, n_sectors: int, samples: int) -> SunTable:
    offset = pd.Timestamp("2021-01-15", tz=location.tz).utcoffset()
    hours = offset.total_seconds() / 3600.0 if offset is not None else 0.0
    return sun_table(n_sectors, samples, latitude_deg=location.latitude, longitude_deg=location.longitude,
                     utc_offset_h=hours)


def simulate_by_roof(facets: pd.DataFrame, weather: pd.DataFrame, location: pvlib.location.Location,
                     model: dict, temperature_by_roof: dict[str, str] | None) -> pd.DataFrame:
    """:func:`~engines.pv.yield_.simulate_facets` per mounting: one SAPM temperature set per roof form.

    Facets whose ``roof_type`` has no entry (or any facet when the temperature model is
    not ``sapm``, or without ``temperature_by_roof``) use ``model`` as given.
    """
    sapm = model.get("temperature_model", "sapm") == "sapm"
    if not temperature_by_roof or not sapm or "roof_type" not in facets.columns:
        return simulate_facets(facets, weather, location, monthly=True, details=True, **model)
    sets = facets["roof_type"].map(temperature_by_roof).fillna("")
    parts = [simulate_facets(facets.loc[(sets == name).to_numpy()], weather, location, monthly=True,
                             details=True, **{**model, "temperature_model_parameters": name or model.get(
                                 "temperature_model_parameters")})
             for name in pd.unique(sets)]
    return pd.concat(parts).reindex(facets.index)


@numba.njit(cache=True)
def _kahan_group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Per group and column, the compensated (Kahan) sum of the non-NaN values, in row order.

    The algorithm of pandas' ``groupby(...).sum()`` (``pandas._libs.groupby.group_sum``), so
    the sums are bit-equal to it: the group-by without hashing string keys per column.
    """
    n, k = values.shape
    out = np.zeros((n_groups, k))
    comp = np.zeros((n_groups, k))
    for i in range(n):
        g = codes[i]
        for j in range(k):
            v = values[i, j]
            if v != v:
                continue
            y = v - comp[g, j]
            t = out[g, j] + y
            c = t - out[g, j] - y
            comp[g, j] = 0.0 if c != c else c  # an infinite value: keep the sum infinite
            out[g, j] = t
    return out


def _building_groups(facets: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Each facet's building as a code (0, 1, ... in order of first appearance) and the ids."""
    codes, ids = pd.factorize(facets["building_id"], sort=False)
    return codes, pd.Index(ids, name="building_id")


def _group_sums(codes: np.ndarray, index: pd.Index, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Sums of float ``columns`` per building, bit-equal to ``groupby("building_id", sort=False).sum()``.

    As pandas does: ``np.add.reduceat`` when each building's facets are contiguous (as
    :func:`~engines.pv.facets.roof_facets` returns them) and no column has a NaN (pandas
    checks the block of float columns), else the compensated sum of :func:`_kahan_group_sum`
    (NaN skipped).
    """
    values = np.empty((len(columns), len(codes)))
    for j, v in enumerate(columns.values()):
        values[j] = v
    sums = np.zeros((len(columns), len(index)))
    if len(codes):
        # sorted codes (every group a contiguous segment) and no NaN in the block of columns
        if np.all(codes[1:] >= codes[:-1]) and not np.isnan(values).any():
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            sums = np.add.reduceat(values, starts, axis=1)
        else:
            sums = _kahan_group_sum(codes, len(index), np.ascontiguousarray(values.T)).T
    return pd.DataFrame({c: sums[j] for j, c in enumerate(columns)}, index=index)


def _per_building(facets: pd.DataFrame, scenarios: Iterable[str]) -> pd.DataFrame:
    viable = facets["is_viable"].to_numpy()
    kwp = facets["pdc0_kw"].to_numpy() * viable
    kwh = facets["ac_kwh"].to_numpy() * viable
    cols = {
        "pv_capacity_kwp": kwp,
        "pv_yield_kwh_per_yr": kwh,
        "_unshaded_kwh": np.where(viable, facets["ac_kwh"] / (1 - facets["shading_loss_fraction"])
                                  .clip(lower=1e-9), 0.0),
    }
    for m in _MONTHS:
        cols[m] = facets[m].to_numpy() * viable
    for name in scenarios:
        ratio = facets[f"adopted_ratio_{name}"].to_numpy()
        cols[f"adopted_capacity_kwp_{name}"] = kwp * ratio
        cols[f"adopted_yield_kwh_per_yr_{name}"] = kwh * ratio
    codes, index = _building_groups(facets)
    sums = _group_sums(codes, index, cols)
    out = pd.concat([pd.DataFrame({
        "n_facets": np.bincount(codes, minlength=len(index)).astype("int64"),
        "n_viable_facets": np.bincount(codes, weights=viable.astype("int64"),
                                       minlength=len(index)).astype("int64"),
    }, index=index), sums], axis=1)
    out["specific_yield_kwh_per_kwp"] = np.where(
        out["pv_capacity_kwp"] > 0, out["pv_yield_kwh_per_yr"] / out["pv_capacity_kwp"].where(
            out["pv_capacity_kwp"] > 0, 1.0), 0.0)
    out["shading_loss_fraction"] = np.where(
        out["_unshaded_kwh"] > 0, 1 - out["pv_yield_kwh_per_yr"] / out["_unshaded_kwh"].where(
            out["_unshaded_kwh"] > 0, 1.0), 0.0).clip(0, 1)
    return out.drop(columns="_unshaded_kwh")


def aggregate(per_building: pd.DataFrame, keys: pd.DataFrame, by: list[str],
              scenarios: Collection[str]) -> pd.DataFrame:
    """Sum per-building results by administrative unit, in MW and MWh.

    Parameters
    ----------
    per_building : pandas.DataFrame
        From :func:`rooftop_potential`, indexed by ``building_id``.
    keys : pandas.DataFrame
        ``building_id`` and the grouping columns (``district_adcode``, ...).
    by : list of str
        Grouping columns; an empty list gives the city total.
    scenarios : collection of str
        Scenario names (their ``adopted_*_<scenario>`` columns are summed too).
    """
    df = keys.set_index("building_id")[by].join(per_building, how="inner") if by else per_building.copy()
    df["is_viable_roof"] = df["n_viable_facets"] > 0
    cols = {"pv_capacity_kwp": "sum", "pv_yield_kwh_per_yr": "sum", "is_viable_roof": "sum",
            "n_facets": "sum"}
    for name in scenarios:
        cols[f"adopted_capacity_kwp_{name}"] = "sum"
        cols[f"adopted_yield_kwh_per_yr_{name}"] = "sum"
    g = df.groupby(by, sort=True).agg(cols).reset_index() if by else df.agg(cols).to_frame().T
    rows = []
    for name in ["technical", *[s for s in scenarios if s != "technical"]]:
        cap = g["pv_capacity_kwp"] if name == "technical" else g[f"adopted_capacity_kwp_{name}"]
        energy = g["pv_yield_kwh_per_yr"] if name == "technical" else g[f"adopted_yield_kwh_per_yr_{name}"]
        part = g[by].copy() if by else pd.DataFrame(index=g.index)
        part["scenario"] = name
        part["n_viable_roofs"] = g["is_viable_roof"].astype("int64").to_numpy()
        part["pv_capacity_mw"] = cap.astype(float).to_numpy() / 1000.0
        part["pv_yield_mwh_per_yr"] = energy.astype(float).to_numpy() / 1000.0
        part["specific_yield_kwh_per_kwp"] = np.where(cap > 0, energy / cap.where(cap > 0, 1.0), 0.0)
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


def pv_targets(city_totals: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Set the city's rooftop potential beside each PV capacity target.

    The plan targets are total installed capacity; the 2020 installed capacity is
    the baseline. ``needed_mw = target - baseline`` is what must be added;
    ``potential_minus_needed_mw`` > 0 means rooftops alone could close the gap.

    Parameters
    ----------
    city_totals : pandas.DataFrame
        :func:`aggregate` with ``by=[]`` (one row per scenario).
    targets : pandas.DataFrame
        :meth:`twin.config.CityConfig.targets_frame`.
    """
    pv = targets.loc[(targets["metric"] == "pv_capacity_mw") & (targets["kind"] == "target")
                     & (targets["scope"] == "city")]
    rows = []
    for t in pv.itertuples():
        baseline = float(t.baseline_value) if pd.notna(t.baseline_value) else np.nan
        for s in city_totals.itertuples():
            needed = float(t.value) - (baseline if not np.isnan(baseline) else 0.0)
            rows.append({
                "target_id": t.id, "status": t.status, "is_governing": bool(t.is_governing),
                "year": t.year, "target_mw": float(t.value), "baseline_mw": baseline,
                "needed_mw": needed, "scenario": s.scenario, "potential_mw": s.pv_capacity_mw,
                "potential_minus_needed_mw": s.pv_capacity_mw - needed,
                "share_of_needed": s.pv_capacity_mw / needed if needed > 0 else np.nan,
                "source": t.source,
            })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# the engine contract: load (edge) and compute (pure)
# ---------------------------------------------------------------------------------------

@dataclass
class RooftopInputs:
    """Everything rooftop PV reads from a built twin (see :func:`load`).

    Attributes
    ----------
    buildings : GeoDataFrame or None
        The buildings layer (``None`` when a batch run reads them per tile).
    weather : pandas.DataFrame
        Hourly weather, validated.
    weather_name : str
        Its file name.
    location : pvlib.location.Location
    scenarios : dict
        Every installable-ratio scenario (``data/pv/scenarios.toml``).
    targets : pandas.DataFrame
        The city's targets (:meth:`twin.config.CityConfig.targets_frame`).
    district_names : pandas.DataFrame
        ``district_adcode``, ``name_zh``, ``name_en``.
    weather_check : dict
        The weather's timing and consistency checks (:mod:`engines.pv.solar_time`).
    city_buildings : int
        About how many buildings the whole city has (the config's ``full_scale_buildings``),
        to say what share of the city a total covers.
    other_weather : dict
        The city's other weather files: name -> validated, time-checked weather, or the
        reason it could not be used (a string); for :func:`weather_variability`.
    """

    buildings: gpd.GeoDataFrame | None
    weather: pd.DataFrame
    weather_name: str
    location: pvlib.location.Location
    scenarios: dict[str, Scenario]
    targets: pd.DataFrame
    district_names: pd.DataFrame
    weather_check: dict = field(default_factory=dict)
    city_buildings: int = 0
    other_weather: dict[str, pd.DataFrame | str] = field(default_factory=dict)
    terrain: tuple[np.ndarray, Affine] | None = None
    terrain_note: str = ""
    dem_path: Path | None = None


def load(source: TwinSource, params: RooftopParams, *, buildings: bool = True,
         read_dem: bool = True) -> RooftopInputs:
    """Read rooftop PV's inputs: buildings, weather, location, scenarios, targets, district names.

    With shading on and a ``dem`` raster in the twin, ``dem_path`` names it and (with
    ``read_dem``) ``terrain`` holds it reprojected to the city's metric CRS
    (:func:`read_terrain`). A batch run passes ``read_dem=False`` and has each tile read
    only the window it needs (:func:`shell.batch.tiles.read_terrain_window`).

    Raises
    ------
    ConfigError
        ``params.scenario`` is not a shipped scenario.
    """
    from engines.pv.scenarios import load_scenarios
    from engines.pv.solar_time import read_checked_weather

    city = source.city
    scenarios = load_scenarios()
    if params.scenario not in scenarios:
        msg = (f"unknown PV scenario {params.scenario!r}; scenarios: {', '.join(scenarios)} "
               "(data/pv/scenarios.toml)")
        raise ConfigError(msg)
    path = source.weather_path(params.weather_file)
    location = pvlib.location.Location(city.latitude, city.longitude, tz=city.timezone,
                                       altitude=city.altitude_m, name=city.name_en)
    weather, check = read_checked_weather(path, location, shift_h=params.weather_shift_h)
    other: dict[str, pd.DataFrame | str] = {}
    for p in getattr(city, "weather_paths", []):
        if p.name != path.name:
            try:
                other[p.name] = read_checked_weather(p, location)[0]
            except TwinError as exc:  # reported in the meta, never silently dropped
                other[p.name] = str(exc)
    names = source.read_layer("boundaries", columns=["adcode", "name_zh", "name_en"])
    names = pd.DataFrame(names.drop(columns="geometry")).rename(columns={"adcode": "district_adcode"})
    terrain, note = None, NO_DEM_NOTE
    dem = source.raster("dem") if params.shading else None
    if not params.shading:
        note = "no horizon shading (--no-shading): terrain not used"
    elif dem is not None:
        if read_dem:
            terrain = read_terrain(dem[0], city.metric_crs)
        note = f"terrain horizons from the DEM {dem[0].name} (ray marching up to {TERRAIN_RADIUS_M:g} m)"
    return RooftopInputs(source.read_layer("buildings") if buildings else None, weather, path.name,
                         location, scenarios, city.targets_frame(), names, check.as_dict(),
                         city.full_scale_buildings, other, terrain, note,
                         dem[0] if dem is not None else None)


#: Note recorded in the PV metadata when the twin has no DEM.
NO_DEM_NOTE = ("no DEM in the twin: horizons from buildings only, terrain not used "
               "(import one with `twin import dem`)")
#: Length of the terrain-horizon rays [m] (:func:`engines.pv.shading.horizon_from_dem`).
TERRAIN_RADIUS_M = 5000.0


def read_terrain(path: Path, crs: Any) -> tuple[np.ndarray, Affine]:
    """A DEM file reprojected (bilinear) to ``crs`` at its own resolution: elevations [m] and transform.

    Nodata cells are NaN (skipped by the horizon rays).
    """
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from layers.io.files import open_raster

    with open_raster(path, what="DEM") as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height,
                                                               *src.bounds)
        dem = np.full((height, width), np.nan, dtype="float64")
        reproject(source=rasterio.band(src, 1), destination=dem, dst_transform=transform, dst_crs=crs,
                  dst_nodata=np.nan, src_nodata=src.nodata, resampling=Resampling.bilinear)
    return dem, transform


def compute(inputs: RooftopInputs, params: RooftopParams, *,
            progress: Callable[[str], None] | None = None) -> EngineResult:
    """Rooftop PV of every building: ``pv_buildings``, ``pv_facets`` and the tables (pure).

    Returns
    -------
    EngineResult
        Results ``pv_buildings`` and ``pv_facets`` (:func:`rooftop_rows`), tables
        ``pv_districts``, ``pv_townships``, ``pv_city`` and ``pv_targets``
        (:func:`rooftop_tables`), meta ``pv``.
    """
    step = progress or (lambda name: None)
    buildings = inputs.buildings
    assert buildings is not None, "compute needs the buildings: load(..., buildings=True)"
    layout = params.layout
    facets, per_building = rooftop_potential(buildings, inputs.weather, inputs.location, inputs.scenarios,
                                             shading=params.shading, radius_m=params.radius_m,
                                             progress=step, model=params.options(),
                                             economics=params.economics,
                                             facet_params=layout.facet_options(),
                                             samples_per_sector=layout.samples_per_sector,
                                             row_shading=layout.row_shading,
                                             temperature_by_roof=layout.temperature_by_roof(),
                                             terrain=inputs.terrain)
    step("aggregate")
    keys = buildings[[c for c in ("building_id", "district_adcode", "township_code", "is_synthetic")
                      if c in buildings.columns]]
    tables = rooftop_tables(inputs, params, keys, per_building)
    pb, fc = rooftop_rows(buildings, facets, per_building, params.scenario, inputs.scenarios)
    meta = {"pv": {"scenario": params.scenario, "weather_file": inputs.weather_name,
                   "shading": params.shading, "params": to_dict(params),
                   "terrain_horizon": inputs.terrain_note or NO_DEM_NOTE,
                   "terrain_used": inputs.terrain is not None,
                   "weather_check": inputs.weather_check,
                   "n_facets": len(facets), "n_buildings": len(per_building),
                   "weather_variability": weather_variability(facets, inputs, params, own_yields=True)}}
    return EngineResult({"pv_buildings": pb, "pv_facets": fc}, tables, meta)


def rooftop_tables(inputs: RooftopInputs, params: RooftopParams, keys: pd.DataFrame,
                   per_building: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """District, township and city totals of every scenario, and the city beside its targets (pure).

    Parameters
    ----------
    keys : pandas.DataFrame
        ``building_id``, ``district_adcode`` and ``township_code`` of every building,
        in the layer's row order (sums are taken in that order).
    per_building : pandas.DataFrame
        Second output of :func:`rooftop_potential` (any row order).
    """
    per_building = per_building.sort_index()
    scenarios = inputs.scenarios
    districts = aggregate(per_building, keys, ["district_adcode"], scenarios)
    townships = aggregate(per_building, keys, ["district_adcode", "township_code"], scenarios)
    city_tot = aggregate(per_building, keys, [], scenarios)
    targets = pv_targets(city_tot, inputs.targets)
    scope = totals_scope(keys, per_building, inputs.city_buildings)
    city_tot = city_tot.assign(**{k: v for k, v in scope.items() if k != "note"})
    city_tot = city_tot.assign(**city_screener_figures(city_tot, per_building, params.economics,
                                                       len(inputs.weather)))
    targets = targets.assign(**scope)
    districts = districts.merge(inputs.district_names, how="left", on="district_adcode")
    return {"pv_districts": districts, "pv_townships": townships, "pv_city": city_tot,
            "pv_targets": targets}


def city_screener_figures(city_tot: pd.DataFrame, per_building: pd.DataFrame, econ: PVEconomics,
                          n_hours: int) -> dict[str, Any]:
    """Columns of ``pv_city``: capacity factor and CO2 avoided per scenario, median LCOE and payback.

    ``capacity_factor`` = energy / (capacity x ``n_hours``) and ``co2_avoided_t_co2_per_yr`` =
    energy x the grid emission factor, per scenario row; ``median_lcoe_cny_per_kwh`` and
    ``median_simple_payback_yr`` over the buildings with viable capacity (the same on every
    row: a building's LCOE and payback do not depend on how much of it a scenario adopts).
    """
    cap_mw = city_tot["pv_capacity_mw"].to_numpy(dtype=float)
    mwh = city_tot["pv_yield_mwh_per_yr"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cf = np.where(cap_mw > 0, mwh / (np.where(cap_mw > 0, cap_mw, 1.0) * n_hours), 0.0)
    live = per_building.loc[per_building["pv_capacity_kwp"] > 0] if len(per_building) else per_building
    med = {c: float(live[c].median()) if c in live.columns and len(live) else float("nan")
           for c in ("lcoe_cny_per_kwh", "simple_payback_yr")}
    return {"capacity_factor": cf, "co2_avoided_t_co2_per_yr": mwh * econ.grid_emission_factor_t_co2_per_mwh,
            "median_lcoe_cny_per_kwh": med["lcoe_cny_per_kwh"],
            "median_simple_payback_yr": med["simple_payback_yr"]}


#: Viable facets sampled (evenly by ``facet_id``) to compare the city's weather files.
VARIABILITY_SAMPLE = 2000


def weather_variability(facets: pd.DataFrame, inputs: RooftopInputs, params: RooftopParams, *,
                        own_yields: bool = False) -> dict[str, Any]:
    """Specific yield of the same roofs under each of the city's weather files (pure).

    Up to :data:`VARIABILITY_SAMPLE` viable facets, taken evenly in ``facet_id`` order,
    with their horizons, are simulated with every usable weather file (with ``own_yields``,
    the facets' ``ac_kwh`` stand for the run's own file: they were simulated with these
    ``params`` and ``inputs.weather``, as :func:`compute` does); per file the
    capacity-weighted specific yield [kWh/kWp] of the sample is reported, with the spread
    (max - min) and the spread relative to the mean. The city's files are typical years
    (CSWD and SWERA for Hangzhou) built from different periods and sources, not
    consecutive measured years, so the spread is labelled ``between-file``: it bounds
    what the choice of file changes, not year-to-year weather variability.
    """
    if not inputs.other_weather:
        return {"kind": "none", "n_files": 1, "note": "one weather file: no variability to report"}
    keep = facets.loc[facets["is_viable"]] if "is_viable" in facets.columns else facets
    keep = keep.sort_values("facet_id", kind="stable") if "facet_id" in keep.columns else keep
    if keep.empty:
        return {"kind": "none", "n_files": 1 + len(inputs.other_weather), "note": "no viable facets"}
    step = max(1, int(np.ceil(len(keep) / VARIABILITY_SAMPLE)))
    cols = [c for c in keep.columns
            if c in ("surface_tilt", "surface_azimuth", "pdc0_kw", "albedo", "roof_type")
            or c.startswith("horizon_elev_deg_")]
    sample = keep.iloc[::step][cols].reset_index(drop=True)
    # the run's own weather file: the facets' yields are already there (not simulated again)
    own = keep["ac_kwh"].iloc[::step].to_numpy() if own_yields and "ac_kwh" in keep.columns else None
    model = params.options()
    files: dict[str, Any] = {}
    for name, weather in {inputs.weather_name: inputs.weather, **inputs.other_weather}.items():
        if isinstance(weather, str):
            files[name] = {"error": weather}
            continue
        if own is not None and name == inputs.weather_name and weather is inputs.weather:
            kwh = own
        else:
            kwh = simulate_by_roof(sample, weather, inputs.location, model,
                                   params.layout.temperature_by_roof())["ac_kwh"].to_numpy()
        sy = float(pd.Series(kwh).sum() / sample["pdc0_kw"].sum())
        files[name] = {"specific_yield_kwh_per_kwp": round(sy, 1)}
    vals = [f["specific_yield_kwh_per_kwp"] for f in files.values() if "specific_yield_kwh_per_kwp" in f]
    spread = max(vals) - min(vals) if vals else float("nan")
    return {"kind": "between-file", "n_files": len(files), "n_facets_sampled": len(sample),
            "files": files, "spread_kwh_per_kwp": round(spread, 1),
            "relative_spread": round(spread / float(np.mean(vals)), 4) if vals else float("nan"),
            "note": ("typical-year files of different periods and sources, not consecutive measured "
                     "years: the spread is between-file variability, not year-to-year variability")}


#: A total covers the city when the twin holds at least this share of its buildings.
CITYWIDE_SHARE = 0.95


def totals_scope(keys: pd.DataFrame, per_building: pd.DataFrame, city_buildings: int) -> dict[str, Any]:
    """What a city total rests on: buildings in the twin against the city's, and the synthetic share.

    Returns
    -------
    dict
        ``n_buildings``, ``city_buildings_estimate``, ``coverage_share`` (of the city's
        buildings), ``synthetic_share`` (of the technical capacity, on synthetic buildings),
        ``is_citywide`` (coverage >= :data:`CITYWIDE_SHARE`, nothing synthetic) and
        ``note`` (in words, for every table and line that shows the total).
    """
    n = len(keys)
    cap = per_building["pv_capacity_kwp"] if "pv_capacity_kwp" in per_building.columns else None
    if "is_synthetic" in keys.columns and cap is not None and float(cap.sum()) > 0:
        syn = keys.set_index("building_id")["is_synthetic"].reindex(cap.index).fillna(True).astype(bool)
        share = float(cap[syn.to_numpy()].sum() / cap.sum())
    else:
        share = float(keys["is_synthetic"].mean()) if "is_synthetic" in keys.columns and n else 0.0
    coverage = n / city_buildings if city_buildings > 0 else float("nan")
    citywide = bool(coverage >= CITYWIDE_SHARE and share == 0.0)
    if citywide:
        note = ""
    elif coverage < CITYWIDE_SHARE:
        note = (f"demo: {n:,} of about {city_buildings:,} buildings ({100 * coverage:.1f} %), "
                f"{100 * share:.0f} % of the capacity on synthetic buildings: a sample of the method, "
                "not comparable with the citywide target")
    else:
        note = f"{100 * share:.0f} % of the capacity on synthetic buildings"
    return {"n_buildings": n, "city_buildings_estimate": int(city_buildings), "coverage_share": coverage,
            "synthetic_share": share, "is_citywide": citywide, "note": note}


def rooftop_rows(buildings: gpd.GeoDataFrame, facets: pd.DataFrame, per_building: pd.DataFrame,
                 primary: str, scenarios: Iterable[str]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The ``pv_buildings`` and ``pv_facets`` layers: one row per building and facet (pure).

    Every row depends only on its own building, so rows of any subset of buildings
    (a batch tile) equal the same rows of the whole city. Buildings come sorted by
    their index in ``buildings``, facets by ``facet_id``.

    Parameters
    ----------
    primary : str
        Scenario whose adopted capacity and ratio are written on the rows.
    scenarios : iterable of str
        Every scenario (the others' columns are dropped).
    """
    per_building = per_building.sort_index()
    facets = facets.sort_values("facet_id", kind="stable").reset_index(drop=True)
    pb = per_building.reset_index().merge(
        buildings[["building_id", "district_adcode", "township_code", "use_class", "roof_type",
                   "height_m", "is_new_build", "is_synthetic", "geometry"]],
        on="building_id", how="left")
    pb = pb.rename(columns={f"adopted_capacity_kwp_{primary}": "adopted_capacity_kwp",
                            f"adopted_yield_kwh_per_yr_{primary}": "adopted_yield_kwh_per_yr"})
    other = [c for name in scenarios if name != primary
             for c in (f"adopted_capacity_kwp_{name}", f"adopted_yield_kwh_per_yr_{name}")]
    pb = pb.drop(columns=[c for c in other if c in pb.columns])
    pb["scenario"] = primary
    pb = gpd.GeoDataFrame(pb, geometry="geometry", crs=buildings.crs, copy=False)  # pb is ours: no copy

    synth = buildings.set_index("building_id")["is_synthetic"]
    fc = facets.drop(columns=[c for c in facets.columns if c.startswith("adopted_ratio_")
                              and c != f"adopted_ratio_{primary}"])
    fc = fc.rename(columns={f"adopted_ratio_{primary}": "adopted_ratio"})
    fc["is_synthetic"] = synth.reindex(fc["building_id"]).to_numpy()
    fc = gpd.GeoDataFrame(fc, geometry=gpd.points_from_xy(fc["x_m"], fc["y_m"]), crs=buildings.crs,
                          copy=False)  # copy-on-write frames: the caller's facets stay as they are
    return pb, fc
