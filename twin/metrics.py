"""The indicator catalogue: every metric a target can be tracked with, its unit and meaning.

It sits beside :mod:`twin.schema` (columns and units) and is read by :mod:`twin.config`
(every target names one metric here) and by the engines that compute them. Each metric
names the engines (``engines.registry.ENGINES`` keys) whose tables carry it; a metric no
engine computes is recorded for completeness, and its targets say ``tracked = false``
with the reason in the city config.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.schema import UNITS

__all__ = ["ENGINE_NAMES", "METRICS", "Metric"]

#: Engines a metric may name (the keys of ``engines.registry.ENGINES``; the kernel cannot
#: import the registry, ``tests/twin/test_metrics.py`` checks that the two agree).
ENGINE_NAMES = ("pv", "pv_sites", "wind", "sinks", "coverage")


@dataclass(frozen=True)
class Metric:
    """A twin indicator that a target can be tracked with.

    Parameters
    ----------
    name : str
        snake_case name ending in ``_<unit>``.
    unit : str
        Key of :data:`twin.schema.UNITS`; every target of this metric uses it.
    description : str
        What the twin computes, in one sentence.
    engines : tuple of str
        The engines (:data:`ENGINE_NAMES`) whose tables compare this metric with its
        targets; empty when no engine computes it.
    """

    name: str
    unit: str
    description: str
    engines: tuple[str, ...] = ()


def _metric(name: str, unit: str, description: str, *engines: str) -> Metric:
    if unit not in UNITS or not name.endswith("_" + unit):
        msg = f"twin.metrics: metric {name!r} must end in '_<unit>' with a unit of UNITS ({unit!r})"
        raise ValueError(msg)
    unknown = [e for e in engines if e not in ENGINE_NAMES]
    if unknown:
        msg = f"twin.metrics: metric {name!r} names unknown engines {unknown}; use {ENGINE_NAMES}"
        raise ValueError(msg)
    return Metric(name, unit, description, tuple(engines))


_METRIC_LIST = [
    # --- renewables ---------------------------------------------------------------------
    _metric("pv_capacity_mw", "mw", "Installed PV capacity in the scope (1 万千瓦 = 10 MW)",
            "pv", "pv_sites"),
    _metric("park_pv_capacity_mw", "mw",
            "Installed distributed PV on buildings inside industrial parks of the scope"),
    _metric("pv_per_capita_kw_per_person", "kw_per_person",
            "Installed PV capacity divided by resident population"),
    _metric("new_factory_roof_pv_share_pct", "pct",
            "Share of new industrial buildings with a suitable roof that carry PV"),
    _metric("new_public_building_roof_pv_coverage_pct", "pct",
            "PV-covered share of the installable roof area of new public buildings"),
    _metric("zero_carbon_public_institution_pv_coverage_pct", "pct",
            "PV coverage of 'zero-carbon' public institutions (denominator undefined in the seed)"),
    _metric("renewable_generation_share_pct", "pct",
            "Renewable generation as a share of all electricity generated in the scope"),
    _metric("renewable_building_application_area_m2", "m2",
            "Floor area newly served by renewable energy in buildings (solar PV, solar heat, "
            "heat pumps)"),
    _metric("new_building_renewable_substitution_pct", "pct",
            "Share of the conventional energy of new buildings replaced by renewables"),
    _metric("wind_capacity_mw", "mw", "Installed (decentralised) wind capacity in the scope",
            "wind"),
    _metric("storage_ratio_pct", "pct",
            "Storage power as a share of the capacity of newly connected centralised wind and PV",
            "pv_sites"),
    _metric("storage_capacity_mw", "mw", "Installed new-type (non-pumped) storage power"),
    _metric("storage_capacity_added_mw", "mw", "New-type storage power added since the plan"),
    _metric("gas_power_capacity_mw", "mw", "Gas-fired (peaking and emergency) power capacity"),
    _metric("demand_response_capacity_mw", "mw",
            "Load that can be shed or shifted on request (精准负荷响应能力)"),
    _metric("load_side_peak_shaving_pct", "pct",
            "Load-side peak-shaving capability as a share of the society-wide peak load"),
    _metric("substations_new_count", "count",
            "Substations of voltage `threshold` built or extended (新建/新扩建)"),
    # --- energy supply ------------------------------------------------------------------
    _metric("grid_demo_zone_area_km2", "km2",
            "Area of a high-elasticity power-grid demonstration zone"),
    _metric("new_energy_supply_parks_count", "count",
            "Industrial parks with a new-type energy supply (microgrid, multi-energy, district "
            "energy)"),
    _metric("park_non_fossil_energy_share_pct", "pct",
            "Non-fossil share of the energy consumed in those parks"),
    _metric("green_power_consumption_share_pct", "pct",
            "Green electricity (绿电) as a share of the electricity consumed"),
    _metric("coal_boilers_closed_within_chp_radius_pct", "pct",
            "Share of coal boilers and small coal CHP within `threshold` of a large CHP unit "
            "closed or merged"),
    # --- charging, transport ------------------------------------------------------------
    _metric("charging_circle_coverage_pct", "pct",
            "Share of the area within `threshold` travel time of a public charging station",
            "coverage"),
    _metric("highway_service_area_charging_pct", "pct",
            "Share of highway service areas with a public charger", "coverage"),
    _metric("county_charging_station_coverage_pct", "pct",
            "Share of districts/counties with at least one public charging station", "coverage"),
    _metric("township_charging_pile_coverage_pct", "pct",
            "Share of townships with at least one public charging pile", "coverage"),
    _metric("public_piles_count", "count", "Number of public charging piles in the area",
            "coverage"),
    _metric("bus_stop_coverage_pct", "pct",
            "Share of the urban area within `threshold` metres of a bus stop", "coverage"),
    _metric("public_transport_mode_share_pct", "pct",
            "Public transport's share of motorised trips (公共交通机动化出行分担率)"),
    _metric("green_travel_share_pct", "pct",
            "Walking, cycling and public transport as a share of residents' trips (绿色出行比例)"),
    _metric("greenway_length_km", "km", "Length of provincial-level greenways (省级绿道)"),
    _metric("low_carbon_service_area_share_pct", "pct",
            "Share of highway service areas that are low-carbon service areas"),
    # --- green space, forests, wetlands, tea, agriculture ------------------------------------
    _metric("green_space_coverage_pct", "pct",
            "Share of residents/buildings within `threshold` metres of public green space",
            "coverage"),
    _metric("park_coverage_pct", "pct",
            "Share of residents/buildings within `threshold` metres of a park", "coverage"),
    _metric("forest_coverage_pct", "pct", "Forest area as a share of land area (森林覆盖率)",
            "sinks"),
    _metric("forest_stock_m3", "m3", "Forest growing-stock volume (森林蓄积量)", "sinks"),
    _metric("forest_area_mu", "mu", "Forest area (森林面积)", "sinks"),
    _metric("forest_carbon_stock_t_c", "t_c",
            "Carbon stored in forest vegetation (森林植被碳储量)", "sinks"),
    _metric("forest_quality_programme_area_mu", "mu",
            "Forest area under the precise forest-quality improvement programme"),
    _metric("ecological_restoration_area_mu", "mu", "Area of completed ecological restoration"),
    _metric("tree_village_demos_count", "count",
            "New '10,000 trees per village' (一村万树) demonstration villages"),
    _metric("wetland_rate_pct", "pct", "Wetland area as a share of land area (湿地率)", "sinks"),
    _metric("wetland_protection_rate_pct", "pct",
            "Share of wetland area under protection (湿地保护率); not the wetland rate", "sinks"),
    _metric("wetland_stock_mu", "mu", "Wetland area retained (湿地保有量)", "sinks"),
    _metric("wetland_area_change_mu", "mu",
            "Net change of the wetland area (wetland and water classes) between two land-cover "
            "epochs; 占补平衡 (no net loss) is >= 0", "sinks"),
    _metric("tea_garden_area_mu", "mu", "Area of ecological low-carbon tea demonstration bases",
            "sinks"),
    _metric("low_carbon_agriculture_zones_count", "count",
            "Low-carbon ecological agriculture pilot zones (低碳生态农业试验区)"),
    _metric("low_carbon_eco_farms_count", "count", "Low-carbon ecological farms (低碳生态农场)"),
    _metric("farm_machines_retired_count", "count",
            "Old diesel farm machines (China II and older) retired, cumulative"),
    _metric("straw_utilisation_rate_pct", "pct",
            "Share of crop straw used (综合利用率: fertiliser, feed, fuel, material)"),
    _metric("organic_fertiliser_reduction_t", "t",
            "Cut in commercial organic fertiliser use against the plan's base year"),
    _metric("bamboo_processing_points_count", "count",
            "Primary bamboo-processing points ('bamboo instead of plastic')"),
    _metric("bamboo_industrial_parks_count", "count",
            "'Bamboo instead of plastic' industrial parks"),
    _metric("bamboo_promotion_centres_count", "count",
            "'Bamboo instead of plastic' application and promotion centres"),
    # --- industry and land ----------------------------------------------------------------
    _metric("low_efficiency_firms_rectified_count", "count",
            "High-consumption, low-efficiency firms rectified, cumulative"),
    _metric("low_efficiency_land_revitalised_mu", "mu",
            "Low-efficiency industrial land put back to use (盘活低效用地), cumulative"),
    # --- buildings ------------------------------------------------------------------------
    _metric("green_building_demo_projects_count", "count",
            "Number of high-star green-building label demonstration projects"),
    _metric("green_building_2star_share_pct", "pct",
            "Share of new buildings certified 2-star green or better"),
    _metric("energy_monitored_public_buildings_pct", "pct",
            "Share of public buildings with gross floor area >= `threshold` on the "
            "energy-monitoring platform"),
    _metric("high_star_green_building_two_100_pct", "pct",
            "The 'two 100 %s' (两个百分百) of high-star green building in the core districts "
            "(undefined in the seeds)"),
    _metric("green_building_material_share_pct", "pct",
            "Green building materials as a share of the materials of government-funded projects"),
    _metric("eco_district_pilots_per_district_count", "count",
            "Green low-carbon eco-district pilots in each district or county (the smallest count)"),
    _metric("public_building_retrofit_floor_area_m2", "m2",
            "Floor area of existing public buildings given an energy retrofit"),
    _metric("prefab_building_share_pct", "pct",
            "Prefabricated (装配式) share of new buildings' floor area"),
    _metric("new_building_energy_saving_rate_pct", "pct",
            "Energy-saving rate of new buildings (新建建筑节能率) against the 1980s baseline"),
    _metric("urban_renewal_reform_items_count", "count",
            "Urban-renewal reform items (城市更新改革事项) carried out"),
    _metric("old_compound_renovation_projects_count", "count",
            "Old residential-compound renovation projects (老旧小区改造项目), cumulative"),
    _metric("future_communities_count", "count",
            "'Future communities' (未来社区) created, cumulative"),
    _metric("future_community_coverage_pct", "pct",
            "Share of communities covered by future-community creation (创建覆盖率)"),
]

#: Registry of twin indicators that targets can name, by metric name.
METRICS: dict[str, Metric] = {m.name: m for m in _METRIC_LIST}
