"""The indicator catalogue: every metric a target can be tracked with, its unit and meaning.

It sits beside :mod:`twin.schema` (columns and units) and is read by :mod:`twin.config`
(every target names one metric here) and by the engines that compute them.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.schema import UNITS

__all__ = ["METRICS", "Metric"]


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
    """

    name: str
    unit: str
    description: str


def _metric(name: str, unit: str, description: str) -> Metric:
    if unit not in UNITS or not name.endswith("_" + unit):
        msg = f"twin.metrics: metric {name!r} must end in '_<unit>' with a unit of UNITS ({unit!r})"
        raise ValueError(msg)
    return Metric(name, unit, description)


_METRIC_LIST = [
    # --- renewables ---------------------------------------------------------------------
    _metric("pv_capacity_mw", "mw", "Installed PV capacity in the scope (1 万千瓦 = 10 MW)"),
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
    _metric("wind_capacity_mw", "mw", "Installed (decentralised) wind capacity in the scope"),
    _metric("storage_ratio_pct", "pct",
            "Storage power as a share of the capacity of newly connected centralised wind and PV"),
    _metric("storage_capacity_mw", "mw", "Installed new-type (non-pumped) storage power"),
    _metric("storage_capacity_added_mw", "mw", "New-type storage power added since the plan"),
    # --- charging, transport ------------------------------------------------------------
    _metric("charging_circle_coverage_pct", "pct",
            "Share of the area within `threshold` travel time of a public charging station"),
    _metric("highway_service_area_charging_pct", "pct",
            "Share of highway service areas with a public charger"),
    _metric("county_charging_station_coverage_pct", "pct",
            "Share of districts/counties with at least one public charging station"),
    _metric("township_charging_pile_coverage_pct", "pct",
            "Share of townships with at least one public charging pile"),
    _metric("public_piles_count", "count", "Number of public charging piles in the area"),
    _metric("bus_stop_coverage_pct", "pct",
            "Share of the urban area within `threshold` metres of a bus stop"),
    # --- green space, forests, wetlands, tea ----------------------------------------------
    _metric("green_space_coverage_pct", "pct",
            "Share of residents/buildings within `threshold` metres of public green space"),
    _metric("park_coverage_pct", "pct",
            "Share of residents/buildings within `threshold` metres of a park"),
    _metric("forest_coverage_pct", "pct", "Forest area as a share of land area (森林覆盖率)"),
    _metric("forest_stock_m3", "m3", "Forest growing-stock volume (森林蓄积量)"),
    _metric("forest_area_mu", "mu", "Forest area (森林面积)"),
    _metric("forest_carbon_stock_t_c", "t_c",
            "Carbon stored in forest vegetation (森林植被碳储量)"),
    _metric("forest_quality_programme_area_mu", "mu",
            "Forest area under the precise forest-quality improvement programme"),
    _metric("ecological_restoration_area_mu", "mu", "Area of completed ecological restoration"),
    _metric("wetland_rate_pct", "pct", "Wetland area as a share of land area (湿地率)"),
    _metric("wetland_protection_rate_pct", "pct",
            "Share of wetland area under protection (湿地保护率); not the wetland rate"),
    _metric("wetland_stock_mu", "mu", "Wetland area retained (湿地保有量)"),
    _metric("tea_garden_area_mu", "mu", "Area of ecological low-carbon tea demonstration bases"),
    # --- buildings ------------------------------------------------------------------------
    _metric("green_building_demo_projects_count", "count",
            "Number of high-star green-building label demonstration projects"),
    _metric("green_building_2star_share_pct", "pct",
            "Share of new buildings certified 2-star green or better"),
    _metric("energy_monitored_public_buildings_pct", "pct",
            "Share of public buildings with gross floor area >= `threshold` on the "
            "energy-monitoring platform"),
]

#: Registry of twin indicators that targets can name, by metric name.
METRICS: dict[str, Metric] = {m.name: m for m in _METRIC_LIST}
