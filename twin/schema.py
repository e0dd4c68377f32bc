"""Every column name, its unit and meaning, declared once; and every layer's schema.

Column names carry their unit as a suffix (``height_m``, ``roof_area_m2``,
``pv_capacity_kwp``, ``co2_uptake_t_per_yr``). The suffix vocabulary is
:data:`UNITS`; each column is a :class:`Field` in :data:`FIELDS`; each layer of
the twin is a :class:`LayerSpec` in :data:`LAYERS`. Engines that add columns
register them here, so a reader finds any name's unit and meaning in one place.

Conventions
-----------
* Vector layers are stored in the city's metric CRS (EPSG:4549 for both pilot
  cities); areas and distances are never computed in degrees.
* Every vector layer carries ``is_synthetic`` (bool) and ``source`` (text), so
  the real/synthetic share of any layer or selection can be shown.
* Identifiers are strings; administrative codes are the 6-digit national
  adcodes (district) and 9-digit township codes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CIM_LEVELS",
    "FIELDS",
    "HEIGHT_SOURCES",
    "LANDCOVER_CLASSES",
    "INSTALL_KINDS",
    "LAYERS",
    "LEDGERS",
    "ROAD_CLASSES",
    "ROOF_TYPES",
    "UNITS",
    "USE_CLASSES",
    "WATER_TYPES",
    "Field",
    "LayerSpec",
    "describe",
    "field",
]

#: Unit vocabulary: the suffix used in column names -> its meaning.
UNITS: dict[str, str] = {
    "m": "metre",
    "km": "kilometre",
    "m2": "square metre",
    "km2": "square kilometre",
    "ha": "hectare",
    "mu": "mu (亩), 666.67 m²",
    "m3": "cubic metre",
    "m3_per_ha": "cubic metres per hectare",
    "m3_per_ha_per_yr": "cubic metres per hectare per year",
    "m3_per_yr": "cubic metres per year",
    "deg": "degree",
    "s": "second",
    "min": "minute",
    "kmh": "kilometre per hour",
    "m_per_s": "metre per second",
    "kw": "kilowatt (AC unless stated)",
    "kv": "kilovolt",
    "kwp": "kilowatt-peak (DC, STC)",
    "mw": "megawatt",
    "mwp": "megawatt-peak",
    "gw": "gigawatt",
    "kwh": "kilowatt-hour",
    "mwh": "megawatt-hour",
    "kwh_per_kwp": "kilowatt-hour per kilowatt-peak",
    "kwh_per_m2": "kilowatt-hour per square metre",
    "mwp_per_km2": "megawatt-peak per square kilometre",
    "w_per_m2": "watt per square metre (capacity density)",
    "h": "hour",
    "kwh_per_yr": "kilowatt-hour per year",
    "mwh_per_yr": "megawatt-hour per year",
    "t": "tonne (of a material)",
    "t_c": "tonne of carbon",
    "t_co2": "tonne of CO2 (equivalent)",
    "t_per_yr": "tonne per year",
    "pct": "percent",
    "fraction": "dimensionless fraction in [0, 1]",
    # --- twin.config ---
    "kw_per_person": "kilowatt per resident (e.g. Lin'an's 'one kW of PV per person')",
    "count": "count",
    "year": "calendar year",
    # --- engines.pv.economics ---
    "w": "watt",
    "yr": "year (a duration)",
    "cny": "Chinese yuan (renminbi), nominal",
    "cny_per_kwh": "Chinese yuan per kilowatt-hour",
    "cny_per_kw": "Chinese yuan per kilowatt (DC nameplate)",
    "cny_per_kw_yr": "Chinese yuan per kilowatt (DC nameplate) and year",
    "t_co2_per_mwh": "tonne of CO2 per megawatt-hour",
    "t_co2_per_yr": "tonne of CO2 per year",
    "kg_per_m3": "kilogram per cubic metre (air density)",
    "": "no unit (identifier, text, flag or category)",
}

#: Building use classes (CIM practice, GB/T 50353 civil-building classes, simplified).
USE_CLASSES = (
    "residential",
    "rural_residential",
    "commercial",
    "office",
    "industrial",
    "warehouse",
    "public",
    "government",
    "education",
    "health",
    "transport",
    "religious",
    "agricultural",
    "other",
)

#: Roof forms. ``unknown`` is legal and means "treat as flat for screening".
ROOF_TYPES = ("flat", "gable", "hip", "unknown")

#: Where a building's height came from.
HEIGHT_SOURCES = ("observed", "estimated", "synthetic")

#: CIM grades of Chinese CIM practice (CJJ/T 315 style). The twin builds CIM2/CIM3.
CIM_LEVELS: dict[int, str] = {
    1: "CIM1 地表模型 (terrain)",
    2: "CIM2 框架模型 (block model: footprint + height, LOD1)",
    3: "CIM3 标准模型 (exterior with roof form, LOD2)",
    4: "CIM4 精细模型 (detailed exterior; not built by the twin)",
}

#: Water-body types.
WATER_TYPES = ("pond", "pit_pond", "reservoir", "lake", "river", "canal", "wetland_water")

#: Road classes, from the OSM ``highway=*`` hierarchy.
ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "service",
)

#: The twin's land-cover classes. Scheme tables in ``data/landcover/`` map any
#: source scheme (MODIS IGBP, FROM-GLC, a user's 10 m map) onto these.
LANDCOVER_CLASSES = (
    "evergreen_needleleaf_forest",
    "evergreen_broadleaf_forest",
    "deciduous_needleleaf_forest",
    "deciduous_broadleaf_forest",
    "mixed_forest",
    "bamboo_forest",
    "tea_garden",
    "orchard",
    "shrubland",
    "grassland",
    "wetland",
    "water",
    "cropland",
    "built_up",
    "barren",
    "snow_ice",
)

ADMIN_LEVELS = ("city", "district", "township")
GREEN_TYPES = ("park", "green_space")
PARK_TIERS = ("country", "city", "community", "pocket", "")
CHARGING_SITE_TYPES = ("urban_public", "rural_public", "highway_service_area", "private")
#: Kinds of plant in the energy bureau's installation ledger (``pv_installations``).
INSTALL_KINDS = ("rooftop", "water", "ground", "wind", "storage")


@dataclass(frozen=True)
class Field:
    """One column: its name, unit, dtype and meaning.

    Parameters
    ----------
    name : str
        Column name; quantities end in a unit suffix from :data:`UNITS`.
    unit : str
        Key of :data:`UNITS` (``""`` for identifiers, text, flags and categories).
    dtype : str
        One of ``string``, ``float64``, ``int64``, ``bool``, ``category``.
    description : str
        Meaning, in one sentence.
    allowed : tuple of str, optional
        Allowed values of a ``category`` column.
    minimum, maximum : float, optional
        Physically plausible range; values outside are rejected on import.
    """

    name: str
    unit: str
    dtype: str
    description: str
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


def _f(name: str, unit: str, dtype: str, description: str, allowed: tuple[str, ...] | None = None,
       minimum: float | None = None, maximum: float | None = None) -> Field:
    if unit not in UNITS:
        msg = f"schema: field {name!r} uses unit {unit!r}, which is not declared in UNITS"
        raise ValueError(msg)
    return Field(name, unit, dtype, description, allowed, minimum, maximum)


_FIELD_LIST = [
    # --- common to every vector layer -------------------------------------------------
    _f("is_synthetic", "", "bool", "True when the feature was generated by seeded code, not observed"),
    _f("source", "", "string", "Provenance and licence of the feature, e.g. 'OpenStreetMap (ODbL 1.0)'"),
    _f("name", "", "string", "Name as published (Chinese or English), may be empty"),
    _f("district_adcode", "", "string", "6-digit adcode of the district or county containing the feature"),
    _f("township_code", "", "string", "9-digit code of the township or street containing the feature"),
    # --- boundaries -----------------------------------------------------------------
    _f("adcode", "", "string", "Administrative code: 6 digits for city/district, 9 for township"),
    _f("level", "", "category", "Administrative level", allowed=ADMIN_LEVELS),
    _f("name_zh", "", "string", "Chinese name"),
    _f("name_en", "", "string", "English name"),
    _f("parent_adcode", "", "string", "Code of the containing unit ('' for the city)"),
    _f("area_m2", "m2", "float64", "Planar area in the metric CRS", minimum=0.0),
    _f("area_km2", "km2", "float64", "Planar area in the metric CRS", minimum=0.0),
    _f("is_urban", "", "bool", "Urban (city) area for the 5-minute circle; False means rural (30-minute)"),
    # --- buildings --------------------------------------------------------------------
    _f("building_id", "", "string", "Stable building identifier (unique within a city)"),
    _f("footprint_area_m2", "m2", "float64", "Footprint area in the metric CRS", minimum=0.0),
    _f("height_m", "m", "float64", "Height from ground to the top of the roof (eaves for LOD1)",
       minimum=0.0, maximum=700.0),
    _f("floors", "count", "int64", "Number of above-ground storeys", minimum=0, maximum=200),
    _f("use_class", "", "category", "Principal use of the building", allowed=USE_CLASSES),
    _f("roof_type", "", "category", "Roof form", allowed=ROOF_TYPES),
    _f("year_built", "year", "int64", "Year of completion (0 when unknown)", minimum=0, maximum=2100),
    _f("gross_floor_area_m2", "m2", "float64", "Gross floor area (footprint x floors when not given)",
       minimum=0.0),
    _f("height_source", "", "category", "Where height_m came from", allowed=HEIGHT_SOURCES),
    _f("cim_level", "", "int64", "CIM grade: 2 = footprint + height (LOD1), 3 = with roof form (LOD2)",
       minimum=1, maximum=4),
    _f("is_new_build", "", "bool", "Planned or recently completed building (new-build rules apply)"),
    _f("is_public_institution", "", "bool",
       "Public institution (公共机构) building, e.g. for Huzhou's zero-carbon 60% rule"),
    # --- water ------------------------------------------------------------------------
    _f("water_id", "", "string", "Stable water-body identifier"),
    _f("water_type", "", "category", "Type of water body", allowed=WATER_TYPES),
    _f("is_protected", "", "bool", "Inside a protected area or ecological red line"),
    _f("is_drinking_source", "", "bool", "Drinking-water source protection zone"),
    _f("is_aquaculture", "", "bool", "Used for aquaculture (fishery ponds)"),
    # --- land cover -------------------------------------------------------------------
    _f("landcover_id", "", "string", "Stable land-cover patch identifier"),
    _f("lc_class", "", "category", "Twin land-cover class", allowed=LANDCOVER_CLASSES),
    _f("source_scheme", "", "string", "Class scheme of the source, e.g. 'modis_igbp'"),
    _f("source_class", "", "string", "Class code in the source scheme"),
    _f("forest_age_class", "", "category", "Forest age class (Chinese inventory)",
       allowed=("young", "middle", "near_mature", "mature", "over_mature", "")),
    _f("growing_stock_m3_per_ha", "m3_per_ha", "float64", "Forest growing-stock volume per hectare",
       minimum=0.0, maximum=2000.0),
    # --- roads --------------------------------------------------------------------------
    _f("road_id", "", "string", "Stable road-segment identifier"),
    _f("road_class", "", "category", "Road class (OSM highway hierarchy)", allowed=ROAD_CLASSES),
    _f("speed_kmh", "kmh", "float64", "Free-flow speed used for drive times", minimum=0.0, maximum=150.0),
    _f("is_oneway", "", "bool", "True when traffic may only go in the direction of digitisation"),
    _f("length_m", "m", "float64", "Length in the metric CRS", minimum=0.0),
    _f("road_layer", "", "int64", "OSM layer=* (vertical order: bridges > 0, tunnels < 0; 0 at grade)",
       minimum=-5, maximum=5),
    _f("is_bridge", "", "bool", "The segment is on a bridge (OSM bridge=*)"),
    _f("is_tunnel", "", "bool", "The segment is in a tunnel (OSM tunnel=*)"),
    # --- charging, service areas, bus stops, green space ------------------------------
    _f("station_id", "", "string", "Stable charging-station identifier"),
    _f("is_public", "", "bool", "Open to the public"),
    _f("piles", "count", "int64", "Number of charging piles (connectors that can charge at once)",
       minimum=0, maximum=10000),
    _f("power_kw", "kw", "float64", "Total rated charging power of the station", minimum=0.0),
    _f("site_type", "", "category", "Kind of charging site", allowed=CHARGING_SITE_TYPES),
    _f("service_area_id", "", "string", "Stable highway service-area identifier"),
    _f("has_charger", "", "bool", "A public charger is present"),
    _f("stop_id", "", "string", "Stable bus-stop identifier"),
    _f("green_id", "", "string", "Stable green-space identifier"),
    _f("green_type", "", "category", "Park or other public green space", allowed=GREEN_TYPES),
    _f("park_tier", "", "category", "Park tier of the four-tier system ('' if not a park)",
       allowed=PARK_TIERS),
    # --- engines.pv.facets / scenarios / shading ---
    _f("facet_id", "", "string", "Roof facet identifier, f'{building_id}-f{k}'"),
    _f("surface_tilt", "deg", "float64", "Tilt of the PV surface from horizontal (pvlib)",
       minimum=0.0, maximum=90.0),
    _f("surface_azimuth", "deg", "float64",
       "Azimuth the PV surface faces, clockwise from north (pvlib: 180 = south)",
       minimum=0.0, maximum=360.0),
    _f("roof_area_m2", "m2", "float64", "True (sloped) area of the roof facet", minimum=0.0),
    _f("installable_area_m2", "m2", "float64",
       "Facet area left for PV after edge setbacks and rooftop equipment", minimum=0.0),
    _f("module_area_m2", "m2", "float64",
       "PV module area on the facet (installable area x ground coverage ratio)", minimum=0.0),
    _f("ground_coverage_ratio", "fraction", "float64",
       "Module area / installable area (flat roofs: row spacing; pitched: 1.0)",
       minimum=0.0, maximum=1.0),
    _f("pdc0_kw", "kw", "float64", "DC nameplate (STC) of the modules on the facet",
       minimum=0.0),
    _f("x_m", "m", "float64", "Easting of the facet centroid in the layer CRS (EPSG:4549)"),
    _f("y_m", "m", "float64", "Northing of the facet centroid in the layer CRS (EPSG:4549)"),
    _f("height_defaulted", "", "bool", "height_m was missing and a documented default was used"),
    _f("roof_type_defaulted", "", "bool", "roof_type was 'unknown' and the roof modelled as flat"),
    _f("exclusion_reason", "", "category", "Why a facet is excluded from PV ('' if kept)",
       allowed=("", "north_facing", "too_small")),
    _f("adopted_ratio", "fraction", "float64",
       "Share of a facet's installable area fitted with PV under a scenario",
       minimum=0.0, maximum=1.0),
    *[_f(f"horizon_elev_deg_{_az:03d}", "deg", "float64",
         f"Horizon elevation seen from the facet in the 10-degree sector centred on {_az} deg",
         minimum=0.0, maximum=90.0) for _az in range(0, 360, 10)],
    # --- engines.pv.yield_ ---
    _f("albedo", "fraction", "float64", "Ground albedo seen by a PV facet", minimum=0.0,
       maximum=1.0),
    _f("ac_kwh", "kwh", "float64", "Annual AC energy of a PV facet (PVWatts inverter)",
       minimum=0.0),
    _f("dc_kwh", "kwh", "float64", "Annual DC energy after PVWatts system losses", minimum=0.0),
    # rooftop PV per building (pv_buildings), declared for the vector tiles' vector_layers
    _f("pv_capacity_kwp", "kwp", "float64", "DC (STC) capacity of a building's viable roof facets",
       minimum=0.0),
    _f("pv_yield_kwh_per_yr", "kwh_per_yr", "float64",
       "Annual AC energy of a building's viable roof facets", minimum=0.0),
    _f("adopted_capacity_kwp", "kwp", "float64",
       "DC capacity adopted under the building's installable-ratio scenario (column scenario)",
       minimum=0.0),
    _f("adopted_yield_kwh_per_yr", "kwh_per_yr", "float64",
       "Annual AC energy of the adopted capacity (column scenario)", minimum=0.0),
    _f("specific_yield_kwh_per_kwp", "kwh_per_kwp", "float64",
       "Annual AC energy per kWp of DC nameplate", minimum=0.0),
    _f("poa_global_kwh_per_m2", "kwh_per_m2", "float64",
       "Annual plane-of-array irradiation of a facet, with its horizon", minimum=0.0),
    _f("shading_loss_fraction", "fraction", "float64",
       "1 - AC energy with horizon / AC energy without horizon", minimum=0.0, maximum=1.0),
    *[_f(f"ac_kwh_{_mo:02d}", "kwh", "float64", f"AC energy of a PV facet in month {_mo}",
         minimum=0.0) for _mo in range(1, 13)],
    # --- engines.pv.yield_ (details) and engines.pv.economics: what a PV screener reports ---
    # capacity_factor: declared once, with the wind fields (PV: AC energy / DC nameplate)
    _f("poa_global_unshaded_kwh_per_m2", "kwh_per_m2", "float64",
       "Annual plane-of-array irradiation of a facet without its horizon", minimum=0.0),
    *[_f(f"poa_global_kwh_per_m2_{_mo:02d}", "kwh_per_m2", "float64",
         f"Plane-of-array irradiation of a facet in month {_mo}, with its horizon (buildings: "
         "capacity-weighted mean of the viable facets)", minimum=0.0) for _mo in range(1, 13)],
    _f("nominal_kwh", "kwh", "float64",
       "Unshaded annual POA irradiation x DC nameplate / (1 kW/m2): the energy at STC efficiency; "
       "minus the loss_*_kwh terms it equals ac_kwh", minimum=0.0),
    _f("loss_horizon_kwh", "kwh", "float64", "Energy lost to the horizon (POA, before IAM)"),
    _f("loss_iam_kwh", "kwh", "float64", "Energy lost to the incidence-angle modifier on the beam"),
    _f("loss_temperature_kwh", "kwh", "float64",
       "Energy lost to cell temperature above 25 C (negative: gained below it)"),
    _f("loss_system_kwh", "kwh", "float64",
       "Energy lost to the PVWatts system losses (soiling, wiring, ...)"),
    _f("loss_inverter_kwh", "kwh", "float64", "Energy lost in the inverter (efficiency and clipping)"),
    _f("sunshine_h", "h", "float64",
       "Hours a year with the sun in front of the facet, above its horizon and DNI > 120 W/m2 "
       "(WMO sunshine criterion; buildings: capacity-weighted mean of the viable facets)", minimum=0.0),
    _f("panel_count", "count", "int64",
       "Whole panels of data/pv/economics.toml [panel] that fit the module area and DC nameplate",
       minimum=0.0),
    _f("co2_avoided_t_co2_per_yr", "t_co2_per_yr", "float64",
       "First-year AC energy x the grid emission factor (data/pv/economics.toml)", minimum=0.0),
    _f("capex_cny", "cny", "float64", "Investment of the PV system (capex per kW x DC nameplate)",
       minimum=0.0),
    _f("lcoe_cny_per_kwh", "cny_per_kwh", "float64",
       "Levelised cost of energy (real; engines.pv.economics), NaN without energy", minimum=0.0),
    _f("simple_payback_yr", "yr", "float64",
       "Capex / first-year net income (self-consumed share at the retail tariff, the rest at the "
       "feed-in price, less O&M); inf when never paid back", minimum=0.0),
    _f("median_lcoe_cny_per_kwh", "cny_per_kwh", "float64",
       "Median LCOE over the buildings with viable PV capacity", minimum=0.0),
    _f("median_simple_payback_yr", "yr", "float64",
       "Median simple payback over the buildings with viable PV capacity", minimum=0.0),
    # --- engines.coverage.access / network / siting ---
    _f("demand_id", "", "string", "Demand point id: the building id, or 'cell-<i>' for area cells"),
    _f("demand_kind", "", "string",
       "What a demand point or share is weighted by: building (residents), area_cell (area)"),
    _f("residents_count", "count", "float64",
       "Residents estimated from residential floor area / floor area per person", minimum=0.0),
    _f("cell_area_m2", "m2", "float64", "Area a grid cell stands for", minimum=0.0),
    _f("is_outside_city", "", "bool", "The point lies in no district of the city (reported)"),
    _f("node_id", "", "int64", "Road-graph node the point is snapped to (-1: none)"),
    _f("snap_distance_m", "m", "float64", "Straight-line distance from the point to its graph node",
       minimum=0.0),
    _f("is_far_from_road", "", "bool", "Snapping distance above the run's max_snap_m (reported)"),
    _f("drive_time_s", "s", "float64",
       "Drive time to the nearest public charging station (inf: unreachable)", minimum=0.0),
    _f("nearest_station_id", "", "string", "station_id of the nearest station by drive time"),
    _f("drive_threshold_min", "min", "float64",
       "Covering drive time of the point: urban circle (5) or urban-rural circle (30)",
       minimum=0.0),
    _f("is_charging_covered", "", "bool", "Drive time within the point's drive_threshold_min"),
    _f("charging_method", "", "string", "How drive_time_s was computed ('network')"),
    _f("bus_stop_distance_m", "m", "float64", "Walking distance to the nearest bus stop",
       minimum=0.0),
    _f("bus_stop_method", "", "string", "'network' (walking network) or 'euclidean' (straight line)"),
    _f("is_bus_stop_covered", "", "bool", "bus_stop_distance_m within the bus-stop threshold"),
    _f("green_space_distance_m", "m", "float64", "Walking distance to the nearest public green space",
       minimum=0.0),
    _f("green_space_method", "", "string", "'network' or 'euclidean'"),
    _f("is_green_space_covered", "", "bool", "green_space_distance_m within the threshold"),
    _f("park_distance_m", "m", "float64", "Walking distance to the nearest park", minimum=0.0),
    _f("park_method", "", "string", "'network' or 'euclidean'"),
    _f("is_park_covered", "", "bool", "park_distance_m within the park threshold"),
    _f("threshold_min", "min", "float64", "Drive-time threshold of an isochrone", minimum=0.0),
    _f("isochrone_method", "", "string", "How the isochrone polygon was drawn ('edge_buffer')"),
    _f("stations_count", "count", "int64", "Number of public stations used", minimum=0),
    _f("site_rank", "count", "int64", "Order in which the greedy siting added the site (1 = first)",
       minimum=1),
    _f("candidate_id", "", "string", "Candidate site id (service area, building, grid or user id)"),
    _f("candidate_kind", "", "string",
       "Kind of candidate site: service_area, transport_building, grid, user"),
    _f("gain_residents_count", "count", "float64",
       "Residents newly covered by adding the site", minimum=0.0),
    _f("coverage_after_pct", "pct", "float64", "Charging-circle coverage after adding the site",
       minimum=0.0, maximum=100.0),
    _f("within_k", "", "bool", "The site is among the K sites asked for"),
    _f("city_id", "", "string", "City id (hangzhou, huzhou)"),
    _f("code", "", "string", "Unit code: 'city', a district adcode, a township code or a site id"),
    _f("metric", "", "string", "Indicator name of twin.metrics.METRICS"),
    _f("area", "", "string", "Part of the scope: all, urban, rural (twin.config.AREAS)"),
    _f("threshold", "", "float64", "Threshold of a coverage metric, in threshold_unit"),
    _f("threshold_unit", "", "string", "Unit of threshold ('min', 'm' or '')"),
    _f("method", "", "string", "How a value was computed, in words"),
    _f("value", "", "float64", "Value of the metric, in the row's unit"),
    _f("unit", "", "string", "Unit of the row's value (key of UNITS)"),
    _f("denominator", "", "float64",
       "Total weight behind a share: residents, m2 of area cells, or count of units"),
    _f("target_id", "", "string", "Id of the governing target compared with ('' if none)"),
    _f("target_value", "", "float64", "Value of that target, in the row's unit"),
    _f("comparator", "", "string", "Comparator of the target (>=, <=, =, ~)"),
    _f("gap", "", "float64", "target_value - value (positive: short of the target)"),
    _f("meets_target", "", "bool", "value reaches target_value (NA when no target)"),
    _f("public_stations_count", "count", "int64", "Public charging stations in the unit",
       minimum=0),
    _f("public_piles_count", "count", "int64", "Public charging piles in the unit", minimum=0),
    _f("has_public_station", "", "bool", "At least one public station (service areas: a charger)"),
    _f("has_public_pile", "", "bool", "At least one public charging pile"),
    _f("layer_name", "", "string", "Layer an issue refers to"),
    _f("feature_id", "", "string", "Id of the feature an issue refers to"),
    _f("issue", "", "string", "Kind of issue: outside_city, far_from_road, disconnected_component"),
    _f("distance_m", "m", "float64", "Distance behind an issue (e.g. to the nearest road node)",
       minimum=0.0),
    _f("message", "", "string", "Explanation of an issue"),
    # --- engines.wind.resource / engines.wind.screen ---
    _f("site_id", "", "string", "Wind turbine site identifier, f'w{n:06d}' (unique within a run)"),
    _f("wind_area_id", "", "string",
       "Contiguous eligible wind area (a project) holding the site, f'a{n:06d}' (unique within a run)"),
    _f("candidate_area", "", "string",
       "Named candidate area containing the site, e.g. 'qiantang_mudflats' ('' if none)"),
    _f("turbine_type", "", "string", "Turbine as named in windpowerlib's library, e.g. 'GE120/2500'"),
    _f("hub_height_m", "m", "float64", "Hub height above ground", minimum=0.0, maximum=300.0),
    _f("rotor_diameter_m", "m", "float64", "Rotor diameter", minimum=0.0, maximum=300.0),
    _f("capacity_mw", "mw", "float64", "Rated (nameplate) wind capacity", minimum=0.0),
    _f("roughness_length_m", "m", "float64", "Surface roughness length at the site (from land cover)",
       minimum=0.0, maximum=5.0),
    _f("site_elevation_m", "m", "float64",
       "Ground elevation of the site above sea level (DEM; the weather station's without one)",
       minimum=-500.0, maximum=9000.0),
    _f("air_density_hub_kg_per_m3", "kg_per_m3", "float64",
       "Mean air density at hub height over the year (station pressure and temperature carried to "
       "the site's elevation plus the hub height)", minimum=0.5, maximum=1.6),
    _f("wind_speed_hub_m_per_s", "m_per_s", "float64",
       "Mean wind speed at hub height (raster, or station screening estimate)",
       minimum=0.0, maximum=50.0),
    _f("weibull_k", "", "float64", "Weibull shape parameter k of the hub-height wind (dimensionless)",
       minimum=0.0),
    _f("weibull_c_m_per_s", "m_per_s", "float64", "Weibull scale parameter c of the hub-height wind",
       minimum=0.0),
    _f("resource_source", "", "category", "Where the hub-height wind came from",
       allowed=("raster", "station_screening")),
    _f("is_screening_estimate", "", "bool",
       "True when the wind is the weather station's 10 m wind extrapolated (a screening estimate)"),
    _f("gross_energy_mwh_per_yr", "mwh_per_yr", "float64",
       "Annual energy from the power curve, before wake and availability losses", minimum=0.0),
    _f("energy_mwh_per_yr", "mwh_per_yr", "float64",
       "Annual net energy after wake and availability losses", minimum=0.0),
    _f("capacity_factor", "fraction", "float64", "Net annual energy / (rated power x 8760 h)",
       minimum=0.0, maximum=1.0),
    _f("n_buildings", "count", "int64", "Buildings in the twin a total rests on", minimum=0),
    _f("city_buildings_estimate", "count", "int64",
       "About how many buildings the whole city has (city config full_scale_buildings)", minimum=0),
    _f("coverage_share", "fraction", "float64",
       "Share of the city's buildings a total covers (n_buildings / city_buildings_estimate)",
       minimum=0.0),
    _f("synthetic_share", "fraction", "float64",
       "Share of a total (or of a figure) that rests on synthetic data", minimum=0.0, maximum=1.0),
    _f("is_citywide", "", "bool",
       "The total covers the whole city with real data, so it may be set beside a citywide target"),
    _f("full_load_hours", "h", "float64", "Net annual energy / rated power (capacity factor x 8760 h)",
       minimum=0.0, maximum=8784.0),
    _f("is_viable", "", "bool",
       "A site that counts for the targets: wind-map resource, enough full-load hours, outside "
       "draft-only candidate areas"),
    _f("viable_capacity_mw", "mw", "float64", "Capacity of the viable sites only", minimum=0.0),
    _f("technical_potential_mw", "mw", "float64",
       "Capacity of every screened site, viable or not (outside draft-only areas)", minimum=0.0),
    _f("n_viable_sites", "count", "int64", "Number of viable sites counted for a target", minimum=0),
    _f("wind_exclusion_reason", "", "category", "Why land is excluded from wind siting",
       allowed=("", "airport", "protected_area", "water_body", "residential_building",
                "other_building", "built_up_land", "road", "slope")),
    _f("setback_m", "m", "float64", "Setback distance applied around the excluding feature",
       minimum=0.0),
    _f("n_turbines", "count", "int64", "Number of turbine sites", minimum=0),
    _f("eligible_area_km2", "km2", "float64", "Area left for wind after every exclusion",
       minimum=0.0),
    _f("storage_power_mw", "mw", "float64",
       "Storage power required with the wind capacity (S-H1: at least 10 %)", minimum=0.0),
    _f("storage_energy_mwh", "mwh", "float64",
       "Storage energy = storage power x duration (duration a parameter, default 2 h)",
       minimum=0.0),
    _f("status", "", "category", "Status of the document a target comes from",
       allowed=("final", "14th-FYP", "draft")),
    _f("tier", "", "category", "Target level: ensure (确保) or strive (力争)",
       allowed=("", "ensure", "strive")),
    _f("year", "year", "int64", "Target year (0 when none)", minimum=0, maximum=2100),
    _f("is_governing", "", "bool", "The target record that governs its indicator"),
    _f("target_mw", "mw", "float64", "Target capacity", minimum=0.0),
    _f("potential_mw", "mw", "float64",
       "Potential capacity counted for a target (wind: viable sites only)", minimum=0.0),
    _f("turbines_needed", "count", "int64", "Turbines of the chosen type needed for a target",
       minimum=0),
    _f("best_sites_energy_mwh_per_yr", "mwh_per_yr", "float64",
       "Net annual energy of the best sites that together reach a target", minimum=0.0),
    _f("best_sites_capacity_factor", "fraction", "float64",
       "Capacity factor of the best sites that together reach a target", minimum=0.0, maximum=1.0),
    _f("storage_ratio_pct", "pct", "float64", "Storage power as a share of wind capacity",
       minimum=0.0, maximum=100.0),
    # --- sinks ---
    _f("agb_carbon_t_c", "t_c", "float64", "Above-ground biomass carbon of the patch", minimum=0.0),
    _f("bgb_carbon_t_c", "t_c", "float64", "Below-ground biomass carbon of the patch", minimum=0.0),
    _f("dom_carbon_t_c", "t_c", "float64", "Dead wood and litter carbon of the patch", minimum=0.0),
    _f("soil_carbon_t_c", "t_c", "float64", "Soil organic carbon (0-30 cm) of the patch",
       minimum=0.0),
    _f("carbon_stock_t_c", "t_c", "float64", "Carbon stock of all pools (central factors)",
       minimum=0.0),
    _f("carbon_stock_low_t_c", "t_c", "float64", "Carbon stock with every factor at its low end",
       minimum=0.0),
    _f("carbon_stock_high_t_c", "t_c", "float64", "Carbon stock with every factor at its high end",
       minimum=0.0),
    _f("carbon_stock_t_co2", "t_co2", "float64", "Carbon stock expressed as CO2 (t C x 44/12)",
       minimum=0.0),
    _f("forest_carbon_stock_t_c", "t_c", "float64",
       "Biomass (above + below-ground) carbon of forest classes (森林植被碳储量)", minimum=0.0),
    _f("forest_carbon_stock_low_t_c", "t_c", "float64", "Forest biomass carbon, low factors",
       minimum=0.0),
    _f("forest_carbon_stock_high_t_c", "t_c", "float64", "Forest biomass carbon, high factors",
       minimum=0.0),
    _f("growing_stock_m3", "m3", "float64", "Growing-stock volume of the patch (NaN if unknown)",
       minimum=0.0),
    _f("stock_method", "", "category", "How biomass carbon was obtained",
       allowed=("volume", "class_default")),
    _f("co2_uptake_t_per_yr", "t_per_yr", "float64",
       "Net CO2 removal, t CO2 per year; positive = removal, negative = emission"),
    _f("co2_uptake_low_t_per_yr", "t_per_yr", "float64", "Net CO2 removal, low factors"),
    _f("co2_uptake_high_t_per_yr", "t_per_yr", "float64", "Net CO2 removal, high factors"),
    _f("protected_area_m2", "m2", "float64",
       "Wetland-class area inside protected water bodies (NaN for other classes)", minimum=0.0),
    _f("volume_known_area_m2", "m2", "float64", "Forest area with a known growing stock",
       minimum=0.0),
    _f("zone_area_m2", "m2", "float64", "Area of the accounting zone (township, district, city)",
       minimum=0.0),
    _f("indicator", "", "string", "Indicator name (a twin.config metric where one exists)"),
    _f("input_kind", "", "category", "Land-cover input of a sink row",
       allowed=("polygons", "raster")),
    _f("value_low", "", "float64", "Indicator value with every factor at its low end (`unit`)"),
    _f("value_high", "", "float64", "Indicator value with every factor at its high end (`unit`)"),
    _f("target_status", "", "string", "Status of the target's document (final, 14th-FYP, draft)"),
    _f("target_year", "year", "int64", "Target year"),
    _f("baseline_value", "", "float64", "Reported baseline (e.g. 2020) value, in the row's unit"),
    _f("baseline_year", "year", "int64", "Year of the baseline value"),
    _f("baseline_id", "", "string", "Target record the baseline comes from"),
    _f("note", "", "string", "Definition or caveat of the row"),
    _f("value_before", "", "float64", "Indicator value before the scenario (row's unit)"),
    _f("value_after", "", "float64", "Indicator value after the scenario (row's unit)"),
    _f("change", "", "float64", "value_after - value_before (row's unit)"),
    _f("gap_after", "", "float64", "target_value - value_after (positive: still short)"),
    _f("scenario", "", "string", "Scenario name (file stem)"),
    _f("source_code", "", "int64", "Class code of the source raster"),
    _f("n_pixels", "count", "int64", "Number of raster pixels", minimum=0),
    _f("action", "", "category", "Scenario action",
       allowed=("afforestation", "tending", "wetland_restoration", "conversion")),
    _f("to_class", "", "string", "Land-cover class a scenario polygon converts to"),
    _f("age_shift", "count", "int64", "Age classes a tending polygon moves forest up",
       minimum=-4, maximum=4),
    _f("is_tended", "", "bool", "Forest under tending: increment x the class's tending_gain_factor"),
    _f("net_increment_m3_per_yr", "m3_per_yr", "float64",
       "Stand volume increment minus harvest and mortality (gain-loss, central factors)"),
    _f("synthetic_area_m2", "m2", "float64", "Area from synthetic input (ledger sums)", minimum=0.0),
    _f("baseline_ratio", "", "float64", "value / baseline_value (NaN without a baseline)"),
    _f("baseline_tolerance_pct", "pct", "float64",
       "Tolerance of the value against the reported baseline (data/sinks/calibration.toml)"),
    _f("is_off_baseline", "", "bool",
       "The value is off its reported baseline by more than the tolerance (NA without one)"),
    _f("unverified_factors", "", "string",
       "Unverified factor rows (table:class/key) the value rests on; '' when all are sourced"),
    _f("is_unverified", "", "bool", "The factor row's note marks it unverified"),
    _f("share", "fraction", "float64", "Share of a raster class code's area given to a twin class",
       minimum=0.0, maximum=1.0),
    # --- engines.pv.water / ground / sites ---
    _f("pv_site_id", "", "string",
       "Centralised PV site id: 'water-<water_id>', 'lc-<landcover_id>' or 'user-<site_id>'"),
    _f("site_category", "", "string",
       "PV site category: pond, pit_pond, reservoir, abandoned_mine, closed_landfill, "
       "forest_land, tea_garden, farmland (data/pv/sites.toml); 'all' in totals"),
    _f("mounting", "", "category", "PV mounting of a site",
       allowed=("", "pile_fixed", "floating", "ground_fixed")),
    _f("usable_area_m2", "m2", "float64",
       "Site area left for PV after setback and exclusions (before array coverage)",
       minimum=0.0),
    _f("edge_setback_m", "m", "float64", "Setback from the site edge (shoreline or boundary)",
       minimum=0.0),
    _f("array_coverage_ratio", "fraction", "float64",
       "Share of the usable area inside the PV array footprint (rest: open water or land)",
       minimum=0.0, maximum=1.0),
    _f("capacity_mwp", "mwp", "float64", "DC (STC) capacity of a PV site or total",
       minimum=0.0),
    _f("capacity_density_mwp_per_km2", "mwp_per_km2", "float64",
       "PV capacity per usable area [MWp/km2] = array coverage x GCR x module power density",
       minimum=0.0),
    _f("pv_energy_mwh_per_yr", "mwh_per_yr", "float64", "Annual AC energy of a PV site or total",
       minimum=0.0),
    _f("pv_cluster_id", "", "string",
       "Pond field: water_id of the first pond of a group of ponds separated only by dykes"),
    _f("cluster_area_m2", "m2", "float64", "Total water area of the pond field (pv_cluster_id)",
       minimum=0.0),
    _f("site_exclusion_reason", "", "category", "Why a water body or land is not a PV site",
       allowed=("", "protected_area", "drinking_water_source", "large_lake", "river_or_channel",
                "wetland", "large_reservoir", "basic_farmland", "water", "built_up", "slope",
                "type_not_screened", "too_small", "no_usable_area")),
    _f("sites_count", "count", "int64", "Number of PV sites", minimum=0),
    _f("kind", "", "string", "Kind of record: water / ground / all (PV sites), target / actual"),
    _f("duration_h", "h", "float64", "Storage duration (no seed gives one; default 2 h)",
       minimum=0.0),
    _f("baseline_mw", "mw", "float64", "Installed capacity in the target's baseline year",
       minimum=0.0),
    _f("needed_mw", "mw", "float64", "Capacity still to add: target - baseline"),
    _f("potential_minus_needed_mw", "mw", "float64",
       "Potential - needed capacity (> 0: the potential alone could close the gap)"),
    _f("area_before_m2", "m2", "float64", "Polygon area before a geometry repair", minimum=0.0),
    *[_f(f"removed_{_r}_m2", "m2", "float64", f"Candidate area removed as {_r}", minimum=0.0)
      for _r in ("protected_area", "basic_farmland", "water", "built_up", "slope")],
    # --- installation ledgers (twin import pv_installations / charging_installations) ------
    _f("project_id", "", "string", "Project number of the energy bureau's ledger (unique per ledger)"),
    _f("install_kind", "", "category", "Kind of plant: rooftop / water / ground PV, wind, storage",
       allowed=INSTALL_KINDS),
    _f("in_service_date", "", "string", "Grid-connection (PV, wind, storage) or commissioning (charging) "
       "date, ISO 8601 YYYY-MM-DD"),
    _f("in_service_year", "year", "int64", "Calendar year of in_service_date", minimum=2000,
       maximum=2100),
    _f("lon_deg", "deg", "float64", "Longitude, WGS84 (blank when the ledger gives none)",
       minimum=-180.0, maximum=180.0),
    _f("lat_deg", "deg", "float64", "Latitude, WGS84 (blank when the ledger gives none)",
       minimum=-90.0, maximum=90.0),
]

#: Every column of every layer, by name.
FIELDS: dict[str, Field] = {f.name: f for f in _FIELD_LIST}
if len(FIELDS) != len(_FIELD_LIST):  # pragma: no cover - a programming error
    _msg = "schema: a field is declared twice"
    raise RuntimeError(_msg)


def field(name: str) -> Field:
    """Return the declared :class:`Field` for ``name``.

    Raises
    ------
    KeyError
        If the name is not declared; the message says where to declare it.
    """
    try:
        return FIELDS[name]
    except KeyError:
        msg = f"column {name!r} is not declared; add it to twin.schema.FIELDS with its unit"
        raise KeyError(msg) from None


@dataclass(frozen=True)
class LayerSpec:
    """Schema of one vector layer of the twin.

    Parameters
    ----------
    name : str
        Layer (and catalog table) name.
    geometry : str
        Geometry family: ``polygon``, ``line`` or ``point``.
    id_field : str
        Column holding the stable, unique identifier.
    required : tuple of str
        Columns an importer must find (or be able to derive); see ``defaults``.
    optional : tuple of str
        Columns kept when present and filled with ``defaults`` otherwise.
    defaults : dict
        Fill values for optional columns.
    description : str
        What the layer holds.
    """

    name: str
    geometry: str
    id_field: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    defaults: dict
    description: str

    @property
    def columns(self) -> tuple[str, ...]:
        """All schema columns in canonical order (without ``geometry``)."""
        common = ("is_synthetic", "source")
        cols = (self.id_field, *self.required, *self.optional, *common)
        return tuple(dict.fromkeys(cols))


_COMMON_DEFAULTS = {"name": "", "district_adcode": "", "township_code": ""}

#: Every vector layer of a twin, by name.
LAYERS: dict[str, LayerSpec] = {
    s.name: s
    for s in [
        LayerSpec(
            "boundaries", "polygon", "adcode",
            required=("level", "name_zh"),
            optional=("name_en", "parent_adcode", "area_km2", "is_urban"),
            defaults={"name_en": "", "parent_adcode": "", "is_urban": False},
            description="Administrative units: the city, its districts/counties and townships",
        ),
        LayerSpec(
            "buildings", "polygon", "building_id",
            required=("height_m",),
            optional=("name", "floors", "use_class", "roof_type", "year_built",
                      "gross_floor_area_m2", "footprint_area_m2", "district_adcode",
                      "township_code", "height_source", "cim_level", "is_new_build",
                      "height_defaulted",
                      "is_public_institution"),
            defaults={**_COMMON_DEFAULTS, "use_class": "other", "roof_type": "unknown",
                      "year_built": 0, "height_source": "observed", "is_new_build": False,
                      "height_defaulted": False,
                      "is_public_institution": False},
            description="CIM-style building blocks (LOD1 footprint + height, roof form for LOD2)",
        ),
        LayerSpec(
            "water", "polygon", "water_id",
            required=("water_type",),
            optional=("name", "area_m2", "is_protected", "is_drinking_source", "is_aquaculture",
                      "district_adcode", "township_code"),
            defaults={**_COMMON_DEFAULTS, "is_protected": False, "is_drinking_source": False,
                      "is_aquaculture": False},
            description="Water bodies: ponds, pit-ponds, reservoirs, lakes, rivers, canals",
        ),
        LayerSpec(
            "landcover", "polygon", "landcover_id",
            required=("lc_class",),
            optional=("source_scheme", "source_class", "area_m2", "forest_age_class",
                      "growing_stock_m3_per_ha", "district_adcode", "township_code"),
            defaults={**_COMMON_DEFAULTS, "source_scheme": "", "source_class": "",
                      "forest_age_class": "", "growing_stock_m3_per_ha": float("nan")},
            description="Land-cover patches in the twin's classes (forest types, bamboo, tea, ...)",
        ),
        LayerSpec(
            "roads", "line", "road_id",
            required=("road_class",),
            optional=("name", "speed_kmh", "is_oneway", "length_m", "district_adcode",
                      "road_layer", "is_bridge", "is_tunnel"),
            defaults={**_COMMON_DEFAULTS, "is_oneway": False,
                      "road_layer": 0, "is_bridge": False, "is_tunnel": False},
            description="Road centrelines with class, free-flow speed and direction",
        ),
        LayerSpec(
            "charging_stations", "point", "station_id",
            required=("is_public", "piles"),
            optional=("name", "power_kw", "site_type", "district_adcode", "township_code"),
            defaults={**_COMMON_DEFAULTS, "site_type": "urban_public"},
            description="EV charging stations with their piles and power",
        ),
        LayerSpec(
            "service_areas", "point", "service_area_id",
            required=(),
            optional=("name", "has_charger", "district_adcode"),
            defaults={**_COMMON_DEFAULTS, "has_charger": False},
            description="Highway service areas",
        ),
        LayerSpec(
            "bus_stops", "point", "stop_id",
            required=(),
            optional=("name", "district_adcode", "township_code"),
            defaults=dict(_COMMON_DEFAULTS),
            description="Bus stops",
        ),
        LayerSpec(
            "green_space", "polygon", "green_id",
            required=("green_type",),
            optional=("name", "park_tier", "area_m2", "district_adcode", "township_code"),
            defaults={**_COMMON_DEFAULTS, "park_tier": ""},
            description="Parks and other public green space",
        ),
    ]
}


#: Installation ledgers (plain catalog tables, no geometry): name -> (id column, columns).
#: Written by ``twin import NAME FILE`` (:mod:`layers.ledger`) and the demo's synthetic ledger.
LEDGERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pv_installations": ("project_id", (
        "project_id", "name", "district_adcode", "install_kind", "capacity_mw", "in_service_date",
        "in_service_year", "lon_deg", "lat_deg", "building_id", "is_synthetic", "source")),
    "charging_installations": ("station_id", (
        "station_id", "name", "district_adcode", "piles", "power_kw", "is_public",
        "in_service_date", "in_service_year", "lon_deg", "lat_deg", "is_synthetic", "source")),
}


def describe(name: str) -> str:
    """Return ``"name [unit]: description"`` for a declared column (for legends and docs)."""
    f = field(name)
    unit = f" [{UNITS[f.unit]}]" if f.unit else ""
    return f"{f.name}{unit}: {f.description}"
