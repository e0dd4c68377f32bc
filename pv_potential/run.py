"""Run rooftop PV on a built twin and commit the results (the catalog edge of pv_potential)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pvlib

from pv_potential.rooftop import aggregate, pv_targets, rooftop_potential
from pv_potential.scenarios import Scenario, load_scenarios
from pv_potential.weather import read_epw, validate_weather
from twin.config import CityConfig, load_city
from twin.errors import ConfigError
from twin.store import TwinStore

__all__ = ["DEFAULT_SCENARIO", "RooftopInputs", "load_inputs", "rooftop_outputs", "rooftop_rows",
           "rooftop_tables", "run_rooftop"]

logger = logging.getLogger(__name__)

#: Scenario whose adopted capacity is written on each building (all are in the tables).
DEFAULT_SCENARIO = "whole_county_2021"


@dataclass
class RooftopInputs:
    """Everything rooftop PV needs from a built twin."""

    city: CityConfig
    store: TwinStore
    weather: pd.DataFrame
    weather_name: str
    location: pvlib.location.Location
    scenarios: dict[str, Scenario]
    primary: str


def load_inputs(city_id: str, *, home=None, scenario=None, weather_file=None) -> RooftopInputs:
    """Read and validate the weather, location and scenarios of a built twin."""
    city = load_city(city_id)
    store = TwinStore(city.id, home)
    store.require()
    scenarios = load_scenarios()
    primary = scenario or DEFAULT_SCENARIO
    if primary not in scenarios:
        msg = f"unknown PV scenario {primary!r}; scenarios: {', '.join(scenarios)} (data/pv/scenarios.toml)"
        raise ConfigError(msg)
    weather_path = city.weather_path_for(weather_file)
    weather, _meta = read_epw(weather_path)
    validate_weather(weather)
    location = pvlib.location.Location(city.latitude, city.longitude, tz=city.timezone,
                                       altitude=city.altitude_m, name=city.name_en)
    return RooftopInputs(city, store, weather, weather_path.name, location, scenarios, primary)


def rooftop_outputs(inp: RooftopInputs, buildings: gpd.GeoDataFrame, facets: pd.DataFrame,
                    per_building: pd.DataFrame) -> tuple[dict, dict]:
    """Result layers and tables of a rooftop run (pure).

    Per-building and per-facet rows are sorted by id first, so every sum is taken in
    the same order whatever produced them (one run, or tiles of a batch run).

    Returns
    -------
    results : dict
        ``pv_buildings`` (footprints with technical and adopted capacity, yield,
        shading loss, monthly yield) and ``pv_facets`` (facet centroids), from
        :func:`rooftop_rows`.
    tables : dict
        ``pv_districts``, ``pv_townships`` (every scenario), ``pv_city`` and
        ``pv_targets`` (city totals beside the PV capacity targets), from
        :func:`rooftop_tables`.
    """
    keys = buildings[["building_id", "district_adcode", "township_code"]]
    tables = rooftop_tables(inp, keys, per_building)
    pb, fc = rooftop_rows(buildings, facets, per_building, inp.primary, inp.scenarios)
    return {"pv_buildings": pb, "pv_facets": fc}, tables


def rooftop_tables(inp: RooftopInputs, keys: pd.DataFrame, per_building: pd.DataFrame) -> dict:
    """District, township and city totals of every scenario, and the city beside its targets (pure).

    Parameters
    ----------
    keys : pandas.DataFrame
        ``building_id``, ``district_adcode`` and ``township_code`` of every building,
        in the layer's row order (sums are taken in that order).
    per_building : pandas.DataFrame
        Second output of :func:`pv_potential.rooftop.rooftop_potential` (any row order).
    """
    per_building = per_building.sort_index()
    scenarios = inp.scenarios
    districts = aggregate(per_building, keys, ["district_adcode"], scenarios)
    townships = aggregate(per_building, keys, ["district_adcode", "township_code"], scenarios)
    city_tot = aggregate(per_building, keys, [], scenarios)
    targets = pv_targets(city_tot, inp.city.targets_frame())
    names = inp.store.read_layer("boundaries", columns=["adcode", "name_zh", "name_en"])
    names = pd.DataFrame(names.drop(columns="geometry")).rename(columns={"adcode": "district_adcode"})
    districts = districts.merge(names, how="left", on="district_adcode")
    return {"pv_districts": districts, "pv_townships": townships, "pv_city": city_tot,
            "pv_targets": targets}


def rooftop_rows(buildings: gpd.GeoDataFrame, facets: pd.DataFrame, per_building: pd.DataFrame,
                 primary: str, scenarios) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
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
    pb = gpd.GeoDataFrame(pb, geometry="geometry", crs=buildings.crs)

    synth = buildings.set_index("building_id")["is_synthetic"]
    fc = facets.drop(columns=[c for c in facets.columns if c.startswith("adopted_ratio_")
                              and c != f"adopted_ratio_{primary}"])
    fc = fc.rename(columns={f"adopted_ratio_{primary}": "adopted_ratio"})
    fc["is_synthetic"] = synth.reindex(fc["building_id"]).to_numpy()
    fc = gpd.GeoDataFrame(fc, geometry=gpd.points_from_xy(fc["x_m"], fc["y_m"]), crs=buildings.crs)
    return pb, fc


def run_rooftop(
    city_id: str,
    *,
    home=None,
    scenario: str | None = None,
    weather_file: str | None = None,
    shading: bool = True,
    progress: Callable[[str], None] | None = None,
    **model,
) -> dict[str, pd.DataFrame]:
    """Compute rooftop PV for a built twin and commit layers and tables atomically.

    Parameters
    ----------
    city_id : str
        City of a built twin.
    scenario : str, optional
        Scenario written on buildings (default :data:`DEFAULT_SCENARIO`); every
        shipped scenario is computed for the tables.
    weather_file : str, optional
        A weather file of the city (default: the config's first).
    shading : bool
        Horizon shading from neighbouring buildings.
    **model
        Options of :func:`pv_potential.yield_.simulate_facets`.

    Returns
    -------
    dict
        ``buildings``, ``facets``, ``districts``, ``townships``, ``city``, ``targets``
        as committed (see :func:`rooftop_outputs`).
    """
    step = progress or (lambda name: None)
    step("weather")
    inp = load_inputs(city_id, home=home, scenario=scenario, weather_file=weather_file)
    buildings = inp.store.read_layer("buildings")
    facets, per_building = rooftop_potential(buildings, inp.weather, inp.location, inp.scenarios,
                                             shading=shading, progress=step, model=model)
    step("aggregate and commit")
    results, tables = rooftop_outputs(inp, buildings, facets, per_building)
    inp.store.commit(
        results=results, tables=tables,
        meta={"pv": {"scenario": inp.primary, "weather_file": inp.weather_name, "shading": shading,
                     "model": model, "n_facets": len(facets), "n_buildings": len(per_building)}},
    )
    return {"facets": results["pv_facets"], "buildings": results["pv_buildings"],
            "districts": tables["pv_districts"], "townships": tables["pv_townships"],
            "city": tables["pv_city"], "targets": tables["pv_targets"]}
