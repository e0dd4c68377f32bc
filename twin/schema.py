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
    "LAYERS",
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
    "m2": "square metre",
    "km2": "square kilometre",
    "ha": "hectare",
    "mu": "mu (亩), 666.67 m²",
    "m3": "cubic metre",
    "m3_per_ha": "cubic metres per hectare",
    "deg": "degree",
    "s": "second",
    "min": "minute",
    "kmh": "kilometre per hour",
    "m_per_s": "metre per second",
    "kw": "kilowatt (AC unless stated)",
    "kwp": "kilowatt-peak (DC, STC)",
    "mw": "megawatt",
    "mwp": "megawatt-peak",
    "gw": "gigawatt",
    "kwh": "kilowatt-hour",
    "mwh": "megawatt-hour",
    "kwh_per_kwp": "kilowatt-hour per kilowatt-peak",
    "kwh_per_yr": "kilowatt-hour per year",
    "mwh_per_yr": "megawatt-hour per year",
    "t_c": "tonne of carbon",
    "t_co2": "tonne of CO2 (equivalent)",
    "t_per_yr": "tonne per year",
    "pct": "percent",
    "fraction": "dimensionless fraction in [0, 1]",
    # --- twin.config ---
    "kw_per_person": "kilowatt per resident (e.g. Lin'an's 'one kW of PV per person')",
    "count": "count",
    "year": "calendar year",
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


def _f(name, unit, dtype, description, allowed=None, minimum=None, maximum=None) -> Field:
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
    # --- pv_potential.facets / scenarios / shading ---
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
    # --- pv_potential.yield_ ---
    _f("albedo", "fraction", "float64", "Ground albedo seen by a PV facet", minimum=0.0,
       maximum=1.0),
    _f("ac_kwh", "kwh", "float64", "Annual AC energy of a PV facet (PVWatts inverter)",
       minimum=0.0),
    _f("dc_kwh", "kwh", "float64", "Annual DC energy after PVWatts system losses", minimum=0.0),
    _f("specific_yield_kwh_per_kwp", "kwh_per_kwp", "float64",
       "Annual AC energy per kWp of DC nameplate", minimum=0.0),
    _f("shading_loss_fraction", "fraction", "float64",
       "1 - AC energy with horizon / AC energy without horizon", minimum=0.0, maximum=1.0),
    *[_f(f"ac_kwh_{_mo:02d}", "kwh", "float64", f"AC energy of a PV facet in month {_mo}",
         minimum=0.0) for _mo in range(1, 13)],
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
                      "is_public_institution"),
            defaults={**_COMMON_DEFAULTS, "use_class": "other", "roof_type": "unknown",
                      "year_built": 0, "height_source": "observed", "is_new_build": False,
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
            optional=("name", "speed_kmh", "is_oneway", "length_m", "district_adcode"),
            defaults={**_COMMON_DEFAULTS, "is_oneway": False},
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


def describe(name: str) -> str:
    """Return ``"name [unit]: description"`` for a declared column (for legends and docs)."""
    f = field(name)
    unit = f" [{UNITS[f.unit]}]" if f.unit else ""
    return f"{f.name}{unit}: {f.description}"
