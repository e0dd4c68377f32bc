"""Distributed-wind siting: exclusions with setbacks, turbine placement, energy, district totals.

The screen, step by step (pure functions). Under the engine contract of
:mod:`twin.engine`, :func:`load` is the only one that reads the twin (layers, station
wind, the paths of the DEM and of a wind map, targets) and :func:`compute` runs the steps:

1. :func:`exclusion_sources` gathers the geometries behind each exclusion reason
   (:data:`REASONS`) from the twin's layers.
2. :func:`eligibility_grid` rasterises them on a grid of ``cell_m`` cells (default
   100 m) over the city, turns setbacks into distance tests (Euclidean distance
   transform) and adds slope from a DEM when the twin has one.
3. :func:`place_turbines_greedy` takes the eligible cells best first (wind-map
   resource, then depth inside eligible land) and keeps each unless it lies inside the
   elliptical spacing of a kept turbine (``5 D`` along the prevailing wind, ``3 D``
   across it), as layout tools do; :func:`place_turbines` (``placement="lattice"``)
   lays a rotated lattice instead. :func:`screen_points` then re-checks every point
   against the exact vector geometries (the grid is only a fast pre-screen), and
   :func:`drop_small_projects` keeps only contiguous eligible areas that hold at least
   ``min_project_turbines`` (3) turbines, so no isolated cell between villages counts.
4. :func:`site_energy` gives each site its hub-height wind (wind atlas raster, or the
   station screening estimate of :mod:`engines.wind.resource`), gross and net energy and
   capacity factor; :func:`district_totals` and :func:`target_table` sum them by
   district and set the city total against the plan targets (W-H1/W-H2 final
   50 / 100 MW; drafts 100 / 200 MW) with storage of at least 10 % (S-H1).

Defaults (:class:`WindParams`)
------------------------------
All siting defaults, with their sources, are data: ``data/wind/siting.toml``
(:data:`SITING_PATH`). Setbacks [m], by reason (:data:`SETBACKS_M`):

* ``residential_building`` 500: the planners' default for noise and shadow flicker
  around dwellings (typical 400-500 m for 2-3 MW turbines to keep night noise under
  45 dB(A), GB 3096-2008 class 1) [1].
* ``other_building``: 1.5 x (hub height + rotor diameter), the ice-throw / blade-failure
  distance Seifert et al. recommend [2] (345 m for the default 110 m hub and 120 m
  rotor); derived from the turbine unless ``setbacks_m`` sets it.
* ``built_up_land`` 500: land-cover patches of class ``built_up`` (towns and villages,
  also where the building layer is sparse, as in a demo twin) keep the residential
  distance, since settlements are where people live.
* ``road``: one tip height, hub height + rotor radius (fall-over distance [2]; 170 m by
  default); derived from the turbine unless ``setbacks_m`` sets it.
* ``water_body`` 0: the water itself (grid cells touched by a water body or by a
  land-cover patch of class ``water``).
* ``protected_area`` 200: drinking-water source and protected water bodies of the
  twin plus 200 m of shore, as the class-I protection zone of lakes and
  reservoirs [3]; a real protected-area layer can be passed to :func:`load` (``protected``).
* ``airport`` 6000: ICAO Annex 14 inner horizontal (4 km) plus conical surface
  (2 km at 5 %) of a code-4 aerodrome, which a 170 m tip would pierce [4].
* ``slope`` > 20 % grade: as NREL's wind technical potential [5]; only with a DEM.

Spacing 5 D along x 3 D across the prevailing wind (about 4.6 turbines/km² for a
120 m rotor) is the common screening rule for small arrays [6].

References
----------
.. [1] GB 3096-2008, Environmental quality standard for noise (class 1 areas: 45 dB(A)
   at night); issue brief default of 500 m to residential buildings.
.. [2] Seifert, H., Westerhellweg, A., Kröning, J. (2003). Risk analysis of ice throw
   from wind turbines. BOREAS VI, Pyhätunturi (recommends 1.5 x (hub height + rotor
   diameter)); fall-over distance = tip height.
.. [3] HJ 338-2018, Technical guideline for delineating source water protection areas
   (class-I zone of lakes / reservoirs: land within 200 m of the shore).
.. [4] ICAO (2018). Annex 14, Aerodromes, Vol. I, 8th ed., Table 4-1 (obstacle
   limitation surfaces).
.. [5] Lopez, A. et al. (2012). U.S. Renewable Energy Technical Potentials: A GIS-Based
   Analysis. NREL/TP-6A20-51946 (wind: exclude slope > 20 %).
.. [6] Ryberg, D. S. et al. (2019). The future of European onshore wind energy
   potential: detailed distribution and simulation of advanced turbine designs.
   Energy 182, 1222-1238. doi:10.1016/j.energy.2019.06.052 (GLAES placement with
   rotor-diameter spacing).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from engines.wind import resource as wind
from twin.config import DATA_DIR
from twin.engine import EngineResult, TwinSource
from twin.errors import ConfigError, SchemaError
from twin.params import Params, load_toml, param, to_dict, validate

if TYPE_CHECKING:
    from affine import Affine

__all__ = [
    "AIRPORTS",
    "CANDIDATE_AREAS",
    "REASONS",
    "SETBACKS_M",
    "EligibilityGrid",
    "WindInputs",
    "WindParams",
    "SITING",
    "SITING_PATH",
    "area_polygons",
    "candidate_areas",
    "compute",
    "drop_small_projects",
    "eligible_areas",
    "district_totals",
    "eligibility_grid",
    "exclusion_polygons",
    "exclusion_sources",
    "grid_dem_m",
    "grid_slope_pct",
    "load",
    "place_turbines",
    "place_turbines_greedy",
    "screen_points",
    "site_elevation_m",
    "site_energy",
    "slope_pct",
    "target_table",
    "viable_sites",
]

logger = logging.getLogger(__name__)

#: Exclusion reasons, in the order a site's reason is reported (first that applies).
REASONS = ("airport", "protected_area", "water_body", "residential_building", "other_building",
           "built_up_land", "road", "slope")

#: Siting defaults with their sources (setbacks, spacing, minimum project, slope, viability).
SITING_PATH = DATA_DIR / "wind" / "siting.toml"
SITING: dict[str, Any] = load_toml(SITING_PATH)

#: Default setback [m] around each source (``[setbacks_m]`` of :data:`SITING_PATH`).
SETBACKS_M: dict[str, float] = {str(k): float(v) for k, v in SITING["setbacks_m"].items()}


def _linear_rule(hub_factor: float, rotor_factor: float) -> Callable[[float, float], float]:
    """``hub_factor x hub height + rotor_factor x rotor diameter`` [m]."""
    return lambda hub, rotor: hub_factor * hub + rotor_factor * rotor


#: Setbacks derived from the turbine [m] (``[setback_rules]`` of :data:`SITING_PATH`):
#: reason -> f(hub height, rotor diameter); other_building 1.5 x (hub + D), road one tip height.
SETBACK_RULES: dict[str, Callable[[float, float], float]] = {
    str(k): _linear_rule(float(v.get("hub", 0.0)), float(v.get("rotor", 0.0)))
    for k, v in SITING["setback_rules"].items()}

#: Full-load hours under which a site is not viable: the low end of Zhejiang's low-wind
#: projects (Dongtou 13.5 MW -> 17.05 GWh/yr, about 1,260-1,300 h; data/validation/checks.toml).
MIN_FULL_LOAD_HOURS = float(SITING["viability"]["min_full_load_hours"])

#: What the twin says when it has no wind map (CLI, tables, app).
NO_WIND_MAP = ("no wind map imported: station wind at 10 m extrapolated to hub height is a screening "
               "estimate and counts for no target; import one, e.g. a Global Wind Atlas GeoTIFF at "
               "100 m: `twin import wind_speed gwa_100m.tif --city {city} --height 100`")

#: Airports by city: (name, longitude [°], latitude [°]) of the aerodrome reference point.
AIRPORTS: dict[str, list[tuple[str, float, float]]] = {
    "hangzhou": [("Hangzhou Xiaoshan International Airport (HGH/ZSHC)", 120.4344, 30.2295)],
    "huzhou": [],
}

#: Named candidate areas: city -> list of (id, name, WGS84 centre line, half-width [m], note).
CANDIDATE_AREAS: dict[str, list[tuple[str, str, list[tuple[float, float]], float, str]]] = {
    "hangzhou": [(
        "qiantang_mudflats",
        "钱塘江滩涂 Qiantang River mudflats (draft-plan zone, approximate)",
        [(120.36, 30.265), (120.45, 30.295), (120.52, 30.305), (120.60, 30.318),
         (120.66, 30.335), (120.72, 30.355)],
        1500.0,
        "Synthetic, approximate band along the south bank of the Qiantang River between "
        "Xiaoshan and Qiantang districts, drawn from the draft plan's siting hint (seed 000, "
        "W-H1-draft); the final plan drops it. Not surveyed.",
    )],
    "huzhou": [],
}

_RESIDENTIAL = ("residential", "rural_residential")


@dataclass(frozen=True)
class WindParams(Params):
    """Parameters of the distributed-wind screen (defaults and sources in the module notes).

    Attributes
    ----------
    turbine_type : str
        windpowerlib library turbine (default :data:`engines.wind.resource.DEFAULT_TURBINE`).
    hub_height_m : float
        Hub height [m].
    cell_m : float
        Eligibility grid cell [m].
    spacing_along_d, spacing_across_d : float
        Turbine spacing along / across the prevailing wind [rotor diameters].
    placement : {"greedy", "lattice"}
        Greedy best-first placement with elliptical spacing (:func:`place_turbines_greedy`)
        or a rotated lattice (:func:`place_turbines`).
    min_project_turbines : int
        Fewest turbines a contiguous eligible area must hold to keep any (:func:`drop_small_projects`).
    setbacks_m : dict
        Reason -> setback [m].
    max_slope_pct : float
        Steepest buildable slope [% grade] (applied only with a DEM).
    wake_loss, availability : float
        Energy fractions [-].
    storage_ratio : float
        Storage power / wind capacity [-] (S-H1: at least 0.10).
    storage_duration_h : float
        Storage duration [h]; the seeds give none, 2 h is a common Zhejiang allocation rule.
    profile : {"log", "power"}
        Vertical profile of the station screening estimate.
    station_roughness_m, blending_height_m : float
        See :func:`engines.wind.resource.extrapolate_wind` [m].
    """

    turbine_type: str = param(wind.DEFAULT_TURBINE, cli="--turbine",
                              help="Wind turbine type of windpowerlib's library.")
    hub_height_m: float = param(wind.DEFAULT_HUB_HEIGHT_M, unit="m", minimum=0.0, exclusive_minimum=True,
                                cli="--hub-height", help="Wind hub height.")
    cell_m: float = param(100.0, unit="m", minimum=0.0, exclusive_minimum=True, cli="--cell",
                          help="Eligibility grid cell of the wind screen.")
    spacing_along_d: float = param(float(SITING["spacing"]["along_d"]), minimum=0.0,
                                   exclusive_minimum=True,
                                   help="Spacing along the prevailing wind [rotor diameters].")
    spacing_across_d: float = param(float(SITING["spacing"]["across_d"]), minimum=0.0,
                                    exclusive_minimum=True,
                                    help="Spacing across the prevailing wind [rotor diameters].")
    placement: str = param("greedy", choices=("greedy", "lattice"), cli="--wind-placement",
                           help="Turbine placement: greedy on the best eligible cells with elliptical "
                                "spacing, or a lattice rotated to the prevailing wind.")
    min_project_turbines: int = param(int(SITING["project"]["min_turbines"]), minimum=1,
                                      cli="--min-project-turbines",
                                      help="Fewest turbines a contiguous eligible area must hold "
                                           "to keep any.")
    setbacks_m: dict[str, float] = param(default_factory=lambda: dict(SETBACKS_M), unit="m",
                                         minimum=0.0, help="Setback by exclusion reason (other_building "
                                                           "and road are derived from the turbine "
                                                           "unless set here).")
    min_full_load_hours: float = param(MIN_FULL_LOAD_HOURS, unit="h", minimum=0.0, maximum=8760.0,
                                       cli="--min-full-load-hours",
                                       help="Sites under this are not viable and count for no target.")
    max_slope_pct: float = param(float(SITING["slope"]["max_pct"]), unit="pct", minimum=0.0,
                                 help="Steepest buildable slope (% grade).")
    wake_loss: float = param(wind.WAKE_LOSS, minimum=0.0, maximum=1.0, help="Wake loss fraction.")
    availability: float = param(wind.AVAILABILITY, minimum=0.0, maximum=1.0, help="Availability fraction.")
    storage_ratio: float = param(0.10, minimum=0.0, maximum=1.0, help="Storage power over wind capacity.")
    storage_duration_h: float = param(2.0, unit="h", minimum=0.0, exclusive_minimum=True,
                                      cli="--storage-hours",
                                      help="Storage duration for the >= 10 % storage rule.")
    profile: str = param("log", choices=("log", "power"),
                         help="Vertical profile of the station screening estimate.")
    station_roughness_m: float = param(wind.STATION_ROUGHNESS_M, unit="m", minimum=0.0,
                                       exclusive_minimum=True, help="Roughness length at the station.")
    blending_height_m: float = param(wind.BLENDING_HEIGHT_M, unit="m", minimum=0.0,
                                     exclusive_minimum=True, help="Blending height of the log profile.")

    def problems(self) -> list[str]:
        """Setback reasons are known and the hub height suits the turbine."""
        known = [*SETBACKS_M, *SETBACK_RULES]
        out = [f"setbacks_m: unknown reason {reason!r} (reasons: {known})"
               for reason in self.setbacks_m if reason not in known]
        try:
            wind.check_hub_height(self.turbine_type, self.hub_height_m)
        except ConfigError as exc:
            out.append(str(exc))
        return out

    def check(self) -> None:
        """Raise :class:`~twin.errors.ConfigError` naming every bad parameter."""
        validate(self, "wind parameters")

    def effective_setbacks(self) -> dict[str, float]:
        """Every setback [m]: the turbine-derived ones (:data:`SETBACK_RULES`), then ``setbacks_m``."""
        spec = wind.turbine_spec(self.turbine_type)
        rotor = float(spec["rotor_diameter_m"])
        derived = {r: float(f(self.hub_height_m, rotor)) for r, f in SETBACK_RULES.items()}
        return {**derived, **self.setbacks_m}


# ---------------------------------------------------------------------------------------
# 1. exclusion sources
# ---------------------------------------------------------------------------------------
def exclusion_sources(buildings: gpd.GeoDataFrame | None = None, roads: gpd.GeoDataFrame | None = None,
                      water: gpd.GeoDataFrame | None = None, protected: gpd.GeoDataFrame | None = None,
                      airports: gpd.GeoDataFrame | None = None, landcover: gpd.GeoDataFrame | None = None
                      ) -> dict[str, gpd.GeoSeries]:
    """Geometries behind each exclusion reason.

    Parameters
    ----------
    buildings : GeoDataFrame, optional
        With ``use_class``; residential and rural-residential buildings are
        ``residential_building``, the rest ``other_building``.
    roads, water : GeoDataFrame, optional
        Road centrelines; water bodies (with ``is_protected`` / ``is_drinking_source``,
        which also make them ``protected_area``).
    protected : GeoDataFrame, optional
        Further protected areas (nature reserves, ecological red lines).
    airports : GeoDataFrame, optional
        Aerodrome reference points.
    landcover : GeoDataFrame, optional
        With ``lc_class``: ``water`` patches join ``water_body``, ``built_up`` patches
        are ``built_up_land``.

    Returns
    -------
    dict of str to GeoSeries
        Reason -> geometries (all in one CRS); reasons without features are left out.
    """
    out: dict[str, gpd.GeoSeries] = {}

    def put(reason: str, gs: gpd.GeoSeries | None) -> None:
        if gs is not None and len(gs):
            gs = gs[~gs.is_empty & gs.notna()]
            if len(gs):
                out[reason] = gs.reset_index(drop=True)

    if airports is not None:
        put("airport", airports.geometry)
    prot = []
    if water is not None and len(water):
        flag = np.zeros(len(water), bool)
        for col in ("is_protected", "is_drinking_source"):
            if col in water.columns:
                flag |= water[col].fillna(False).to_numpy(bool)
        prot.append(water.geometry[flag])
    lc = landcover["lc_class"].astype(str) if landcover is not None else None
    wet = [g for g in (water.geometry if water is not None else None,
                       landcover.geometry[(lc == "water").to_numpy()]
                       if lc is not None and landcover is not None else None)
           if g is not None and len(g)]
    if wet:
        put("water_body", pd.concat(wet))
    if lc is not None and landcover is not None:
        put("built_up_land", landcover.geometry[(lc == "built_up").to_numpy()])
    if protected is not None and len(protected):
        prot.append(protected.geometry.to_crs(water.crs) if water is not None else protected.geometry)
    if prot:
        put("protected_area", pd.concat(prot))
    if buildings is not None and len(buildings):
        use = buildings["use_class"].astype(str) if "use_class" in buildings.columns else \
            pd.Series("other", index=buildings.index)
        res = use.isin(_RESIDENTIAL).to_numpy()
        put("residential_building", buildings.geometry[res])
        put("other_building", buildings.geometry[~res])
    if roads is not None:
        put("road", roads.geometry)
    return out


# ---------------------------------------------------------------------------------------
# 2. eligibility grid
# ---------------------------------------------------------------------------------------
@dataclass
class EligibilityGrid:
    """The city on a regular grid: district of each cell and exclusion masks by reason.

    Attributes
    ----------
    transform : affine.Affine
        Cell -> CRS coordinates (north-up).
    shape : tuple of int
        ``(rows, cols)``.
    crs : str
        Projected CRS of the grid.
    cell_m : float
        Cell size [m].
    district : ndarray of int
        Index into ``adcodes`` + 1 (0 = outside the city).
    adcodes : list of str
        District adcodes.
    masks : dict of str to ndarray of bool
        Reason -> excluded cells.
    """

    transform: Affine
    shape: tuple[int, int]
    crs: str
    cell_m: float
    district: np.ndarray
    adcodes: list[str]
    masks: dict[str, np.ndarray]

    @property
    def excluded(self) -> np.ndarray:
        """Cells excluded for any reason."""
        out = np.zeros(self.shape, bool)
        for m in self.masks.values():
            out |= m
        return out

    @property
    def eligible(self) -> np.ndarray:
        """Cells inside a district and excluded for no reason."""
        return (self.district > 0) & ~self.excluded

    def cell_of(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and an inside-the-grid flag of points."""
        inv = ~self.transform
        col, row = inv * (np.asarray(x, float), np.asarray(y, float))
        row = np.floor(row).astype(np.int64)
        col = np.floor(col).astype(np.int64)
        inside = (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])
        return np.where(inside, row, 0), np.where(inside, col, 0), inside


def eligibility_grid(districts: gpd.GeoDataFrame, sources: dict[str, gpd.GeoSeries],
                     setbacks_m: dict[str, float], *, cell_m: float = 100.0,
                     slope_pct: np.ndarray | None = None, max_slope_pct: float = 20.0,
                     slope_transform: Affine | None = None) -> EligibilityGrid:
    """Rasterise districts and exclusions (with setbacks) on a ``cell_m`` grid.

    A cell is excluded for a reason when the distance between its centre and the
    centre of a cell touched by a source is at most the setback (Euclidean distance
    transform), so the grid is exact to about one cell; :func:`screen_points`
    re-checks placed turbines against the vector geometries.

    Parameters
    ----------
    districts : GeoDataFrame
        ``adcode`` and polygons in a projected CRS [m].
    sources : dict
        From :func:`exclusion_sources`, in the same CRS.
    setbacks_m : dict
        Reason -> setback [m] (missing reasons: 0 m).
    cell_m : float
        Cell size [m].
    slope_pct : ndarray, optional
        Slope [% grade] on this very grid (see ``slope_transform``); NaN = unknown (kept).
    max_slope_pct : float
        Steepest buildable slope [%].
    slope_transform : affine.Affine, optional
        Checked equal to the grid's transform when ``slope_pct`` is given.
    """
    from rasterio.features import rasterize
    from rasterio.transform import from_origin
    from scipy.ndimage import distance_transform_edt

    if districts.crs is None or not districts.crs.is_projected:
        msg = "districts must be in a projected CRS in metres (the twin uses EPSG:4549)"
        raise SchemaError(msg)
    minx, miny, maxx, maxy = districts.total_bounds
    x0 = math.floor(minx / cell_m) * cell_m
    y1 = math.ceil(maxy / cell_m) * cell_m
    cols = int(math.ceil((maxx - x0) / cell_m))
    rows = int(math.ceil((y1 - miny) / cell_m))
    transform = from_origin(x0, y1, cell_m, cell_m)
    shape = (rows, cols)
    adcodes = districts["adcode"].astype(str).tolist()
    district = rasterize(
        ((g, i + 1) for i, g in enumerate(districts.geometry) if g is not None and not g.is_empty),
        out_shape=shape, transform=transform, fill=0, dtype="int32")
    masks: dict[str, np.ndarray] = {}
    for reason in REASONS:
        if reason == "slope" or reason not in sources:
            continue
        gs = sources[reason]
        hit = rasterize(((g, 1) for g in gs.geometry.values), out_shape=shape, transform=transform,
                        fill=0, all_touched=True, dtype="uint8").astype(bool)
        d = float(setbacks_m.get(reason, 0.0))
        if d > 0 and hit.any():
            dist = distance_transform_edt(~hit, sampling=cell_m)
            hit = dist <= d
        masks[reason] = hit
    if slope_pct is not None:
        if slope_pct.shape != shape or (slope_transform is not None and slope_transform != transform):
            msg = (f"slope grid {slope_pct.shape} does not match the eligibility grid {shape}; "
                   "resample it with eligibility_grid's transform")
            raise SchemaError(msg)
        with np.errstate(invalid="ignore"):
            masks["slope"] = np.nan_to_num(slope_pct, nan=0.0) > max_slope_pct
    return EligibilityGrid(transform, shape, districts.crs.to_string(), float(cell_m), district,
                           adcodes, masks)


def grid_dem_m(dem_path: os.PathLike[str] | str, grid: EligibilityGrid) -> np.ndarray:
    """Ground elevation [m] of a DEM resampled (bilinear) onto the grid; NaN where no data.

    A DEM in another CRS is reprojected to the grid's (metric) CRS.
    """
    import rasterio
    from rasterio.warp import Resampling, reproject

    from layers.io.files import open_raster

    with open_raster(dem_path, what="DEM", require_crs=False) as src:
        if src.crs is None:
            msg = f"{dem_path}: the DEM has no CRS; re-import it with its CRS"
            raise SchemaError(msg)
        dem = np.full(grid.shape, np.nan, dtype="float64")
        reproject(source=rasterio.band(src, 1), destination=dem, dst_transform=grid.transform,
                  dst_crs=grid.crs, dst_nodata=np.nan, src_nodata=src.nodata,
                  resampling=Resampling.bilinear)
    return dem


def slope_pct(dem_m: np.ndarray, cell_m: float) -> np.ndarray:
    """Slope [% grade] of an elevation grid with square cells of ``cell_m`` metres (central differences)."""
    gy, gx = np.gradient(dem_m, cell_m)
    return np.asarray(np.hypot(gx, gy) * 100.0)


def grid_slope_pct(dem_path: os.PathLike[str] | str, grid: EligibilityGrid) -> np.ndarray:
    """Slope [% grade] of a DEM resampled (bilinear) onto the grid; NaN where no data.

    A DEM in another CRS is reprojected to the grid's CRS; its nodata cells stay NaN
    (those cells are not excluded for slope).
    """
    return slope_pct(grid_dem_m(dem_path, grid), grid.cell_m)


def site_elevation_m(x: npt.ArrayLike, y: npt.ArrayLike, grid: EligibilityGrid, dem_m: np.ndarray | None,
                     station_elevation_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Ground elevation [m] of sites from the grid's DEM, the station's where it has none.

    Returns
    -------
    elevation_m : ndarray
        Elevation above sea level [m].
    from_dem : ndarray of bool
        True where the DEM gave it.
    """
    n = np.asarray(x).size
    out = np.full(n, float(station_elevation_m))
    got = np.zeros(n, dtype=bool)
    if dem_m is not None and n:
        row, col, inside = grid.cell_of(x, y)
        val = np.where(inside, dem_m[row, col], np.nan)
        got = np.isfinite(val)
        out[got] = val[got]
    return out, got


def air_density_terrain_note(station_elevation_m: float, has_dem: bool, n_from_dem: int, n_sites: int) -> str:
    """What the air density at the hubs rests on, for the screen's notes and metadata."""
    base = ("air density: the weather station's hourly pressure and temperature carried to each hub "
            f"(barometric formula, -6.5 K/km) from the station's {station_elevation_m:g} m")
    if not has_dem:
        return base + "; no DEM: every site taken at the station's elevation (terrain not used)"
    if n_from_dem < n_sites:
        return (base + f"; site ground from the DEM for {n_from_dem:,} of {n_sites:,} sites, the "
                "station's elevation for the rest (DEM nodata)")
    return base + f"; site ground elevation from the DEM for all {n_sites:,} sites"


def exclusion_polygons(grid: EligibilityGrid, setbacks_m: dict[str, float]) -> gpd.GeoDataFrame:
    """Excluded cells as polygons: one (multi)polygon per reason and district.

    Returns
    -------
    GeoDataFrame
        ``wind_exclusion_reason``, ``setback_m`` [m], ``district_adcode``, ``area_km2``
        [km²] (cells of that reason; reasons overlap), geometry.
    """
    from rasterio.features import shapes

    rows = []
    cell_km2 = grid.cell_m**2 / 1e6
    for reason, mask in grid.masks.items():
        lab = np.where(mask, grid.district, 0).astype("int32")
        if not lab.any():
            continue
        parts: dict[int, list] = {}
        for geom, val in shapes(lab, mask=lab > 0, transform=grid.transform, connectivity=4):
            parts.setdefault(int(val), []).append(shapely.geometry.shape(geom))
        counts = np.bincount(lab.ravel(), minlength=len(grid.adcodes) + 1)
        for val, polys in parts.items():
            rows.append({
                "wind_exclusion_reason": reason,
                "setback_m": float(setbacks_m.get(reason, 0.0)) if reason != "slope" else 0.0,
                "district_adcode": grid.adcodes[val - 1],
                "area_km2": float(counts[val] * cell_km2),
                "geometry": shapely.union_all(polys) if len(polys) < 50
                else shapely.MultiPolygon(polys),
            })
    cols = ["wind_exclusion_reason", "setback_m", "district_adcode", "area_km2", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=grid.crs)


# ---------------------------------------------------------------------------------------
# 3. placement
# ---------------------------------------------------------------------------------------
def place_turbines(grid: EligibilityGrid, rotor_diameter_m: float, axis_deg: float = 0.0, *,
                   spacing_along_d: float = 5.0, spacing_across_d: float = 3.0) -> gpd.GeoDataFrame:
    """Turbine positions on a lattice rotated to the prevailing wind, in eligible cells.

    Rows run across the wind: neighbours are ``spacing_along_d * D`` apart along the
    wind axis and ``spacing_across_d * D`` apart across it.

    Parameters
    ----------
    grid : EligibilityGrid
    rotor_diameter_m : float
        Rotor diameter D [m].
    axis_deg : float
        Prevailing wind axis [°, clockwise from north].

    Returns
    -------
    GeoDataFrame
        Points with ``district_adcode``.
    """
    a = math.radians(axis_deg)
    along = np.array([math.sin(a), math.cos(a)])
    across = np.array([math.cos(a), -math.sin(a)])
    s_al, s_ac = spacing_along_d * rotor_diameter_m, spacing_across_d * rotor_diameter_m
    t = grid.transform
    x0, y1 = t.c, t.f
    x1, y0 = x0 + grid.shape[1] * grid.cell_m, y1 - grid.shape[0] * grid.cell_m
    corners = np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]]) - [x0, y0]
    pa, pc = corners @ along, corners @ across
    i = np.arange(math.floor(pa.min() / s_al), math.ceil(pa.max() / s_al) + 1)
    j = np.arange(math.floor(pc.min() / s_ac), math.ceil(pc.max() / s_ac) + 1)
    ii: np.ndarray
    jj: np.ndarray
    ii, jj = np.meshgrid(i, j, indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    x = x0 + ii * s_al * along[0] + jj * s_ac * across[0]
    y = y0 + ii * s_al * along[1] + jj * s_ac * across[1]
    r, c, inside = grid.cell_of(x, y)
    keep = inside & grid.eligible[r, c]
    x, y, r, c = x[keep], y[keep], r[keep], c[keep]
    adc = np.asarray(grid.adcodes, dtype=object)[grid.district[r, c] - 1]
    return gpd.GeoDataFrame({"district_adcode": adc.astype(str)},
                            geometry=gpd.points_from_xy(x, y), crs=grid.crs)


def _rotated(x: np.ndarray, y: np.ndarray, axis_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates along and across the prevailing wind axis [m]."""
    a = math.radians(axis_deg)
    return x * math.sin(a) + y * math.cos(a), x * math.cos(a) - y * math.sin(a)


@numba.njit(cache=True)
def _greedy_ellipse(u: np.ndarray, v: np.ndarray, order: np.ndarray, a: float,
                    b: float) -> np.ndarray:  # pragma: no cover - compiled
    """Accept candidates in ``order`` unless inside the ellipse of an accepted one.

    ``u``, ``v`` are coordinates along / across the wind [m]; the ellipse has semi-axes
    ``a`` (along) and ``b`` (across). Accepted points sit in buckets of ``a x b``, so
    only the 3 x 3 neighbouring buckets need checking.
    """
    n = u.size
    keep = np.zeros(n, np.bool_)
    if n == 0:
        return keep
    u0, v0 = u.min(), v.min()
    nu = int((u.max() - u0) / a) + 1
    nv = int((v.max() - v0) / b) + 1
    cap = 8  # an a x b bucket holds at most 4 points 1 ellipse apart
    slots = np.full((nu, nv, cap), -1, np.int64)
    count = np.zeros((nu, nv), np.int64)
    for k in range(n):
        i = order[k]
        bu = int((u[i] - u0) / a)
        bv = int((v[i] - v0) / b)
        ok = True
        for du in range(-1, 2):
            if not ok:
                break
            iu = bu + du
            if iu < 0 or iu >= nu:
                continue
            for dv in range(-1, 2):
                jv = bv + dv
                if jv < 0 or jv >= nv:
                    continue
                for m in range(count[iu, jv]):
                    j = slots[iu, jv, m]
                    x = (u[i] - u[j]) / a
                    y = (v[i] - v[j]) / b
                    if x * x + y * y < 1.0 - 1e-9:
                        ok = False
                        break
                if not ok:
                    break
        if ok and count[bu, bv] < cap:
            keep[i] = True
            slots[bu, bv, count[bu, bv]] = i
            count[bu, bv] += 1
    return keep


def place_turbines_greedy(grid: EligibilityGrid, rotor_diameter_m: float, axis_deg: float = 0.0, *,
                          spacing_along_d: float = 5.0, spacing_across_d: float = 3.0,
                          score: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Turbines on the best eligible cells, no two closer than an ellipse of rotor diameters.

    What layout tools do (GLAES [6]_): candidates are the centres of eligible cells,
    taken best first, and a candidate is kept unless it lies inside the exclusion
    ellipse of a kept turbine, ``spacing_along_d * D`` along the prevailing wind and
    ``spacing_across_d * D`` across it (semi-axes). Best first means the highest
    ``score`` (e.g. the mean wind speed of a wind map at the cell), ties broken by
    the distance to the nearest non-eligible cell (deep inside eligible land first,
    which packs compact areas), then by cell order (deterministic).

    Parameters
    ----------
    grid : EligibilityGrid
    rotor_diameter_m : float
        Rotor diameter D [m].
    axis_deg : float
        Prevailing wind axis [°, clockwise from north].
    score : ndarray, optional
        Per-cell resource on the grid (higher first; NaN as the lowest).

    Returns
    -------
    GeoDataFrame
        Points with ``district_adcode``.
    """
    from scipy.ndimage import distance_transform_edt

    eligible = grid.eligible
    r, c = np.nonzero(eligible)
    t = grid.transform
    x = t.c + (c + 0.5) * grid.cell_m
    y = t.f - (r + 0.5) * grid.cell_m
    depth = distance_transform_edt(eligible)[r, c]
    s = np.zeros(r.size) if score is None else np.nan_to_num(np.asarray(score, float)[r, c],
                                                             nan=-np.inf)
    order = np.lexsort((np.arange(r.size), -depth, -s)).astype(np.int64)
    u, v = _rotated(x, y, axis_deg)
    keep = _greedy_ellipse(u, v, order, spacing_along_d * rotor_diameter_m,
                           spacing_across_d * rotor_diameter_m)
    r, c = r[keep], c[keep]
    adc = np.asarray(grid.adcodes, dtype=object)[grid.district[r, c] - 1]
    return gpd.GeoDataFrame({"district_adcode": adc.astype(str)},
                            geometry=gpd.points_from_xy(x[keep], y[keep]), crs=grid.crs)


def eligible_areas(grid: EligibilityGrid) -> np.ndarray:
    """Contiguous eligible areas: a label per cell (8-connected; 0 = not eligible)."""
    from scipy.ndimage import label

    lab, _ = label(grid.eligible, structure=np.ones((3, 3), bool))
    return np.asarray(lab, dtype=np.int64)


def drop_small_projects(sites: gpd.GeoDataFrame, grid: EligibilityGrid, labels: np.ndarray,
                        min_turbines: int) -> gpd.GeoDataFrame:
    """Keep the sites of contiguous eligible areas that hold at least ``min_turbines``.

    An isolated patch between villages with room for one or two turbines is no
    project (``[project]`` of ``data/wind/siting.toml``). Adds ``wind_area_id``
    (``f"a{label:06d}"``) to the kept sites.
    """
    r, c, inside = grid.cell_of(sites.geometry.x, sites.geometry.y)
    lab = np.where(inside, labels[r, c], 0)
    counts = np.bincount(lab, minlength=int(labels.max()) + 1)
    ok = (lab > 0) & (counts[lab] >= int(min_turbines))
    out = sites.loc[ok].reset_index(drop=True)
    out["wind_area_id"] = [f"a{v:06d}" for v in lab[ok]]
    return out


def area_polygons(grid: EligibilityGrid, labels: np.ndarray, sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """The contiguous eligible areas that keep turbines, as polygons.

    Returns
    -------
    GeoDataFrame
        ``wind_area_id``, ``n_turbines``, ``capacity_mw``, ``area_km2`` [km²], geometry.
    """
    from rasterio.features import shapes

    cols = ["wind_area_id", "n_turbines", "capacity_mw", "area_km2", "geometry"]
    ids = sites["wind_area_id"].astype(str) if len(sites) else pd.Series([], dtype=str)
    kept = np.unique(np.array([int(i[1:]) for i in ids.unique()], dtype=np.int64))
    if not kept.size:
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry="geometry", crs=grid.crs)
    lab = np.where(np.isin(labels, kept), labels, 0).astype("int32")
    parts: dict[int, list] = {}
    for geom, val in shapes(lab, mask=lab > 0, transform=grid.transform, connectivity=4):
        parts.setdefault(int(val), []).append(shapely.geometry.shape(geom))
    cells = np.bincount(lab.ravel(), minlength=int(kept.max()) + 1)
    g = sites.groupby("wind_area_id")
    n = g.size()
    cap = g["capacity_mw"].sum() if "capacity_mw" in sites.columns else n * 0.0
    rows = [{"wind_area_id": f"a{v:06d}", "n_turbines": int(n[f"a{v:06d}"]),
             "capacity_mw": float(cap[f"a{v:06d}"]),
             "area_km2": float(cells[v] * grid.cell_m**2 / 1e6),
             "geometry": polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)}
            for v, polys in sorted(parts.items())]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=grid.crs)


def screen_points(points: gpd.GeoDataFrame, sources: dict[str, gpd.GeoSeries],
                  setbacks_m: dict[str, float]) -> pd.Series:
    """Exact vector screen: the first reason (in :data:`REASONS` order) excluding each point.

    A point is excluded when it lies within the setback of a source geometry
    (``distance <= setback``; inside the geometry for a setback of 0).

    Returns
    -------
    Series of str
        ``wind_exclusion_reason`` per point, ``""`` when the point is eligible.
    """
    reason = np.full(len(points), "", dtype=object)
    geoms = points.geometry.values
    for name in REASONS:
        if name not in sources or not len(points):
            continue
        todo = np.flatnonzero(reason == "")
        if not todo.size:
            break
        tree = shapely.STRtree(sources[name].geometry.values)
        d = float(setbacks_m.get(name, 0.0))
        if d > 0:
            hit, _ = tree.query(geoms[todo], predicate="dwithin", distance=d)
        else:
            hit, _ = tree.query(geoms[todo], predicate="intersects")
        reason[todo[np.unique(hit)]] = name
    return pd.Series(reason, index=points.index, name="wind_exclusion_reason", dtype="str")


def candidate_areas(city_id: str, crs: str) -> gpd.GeoDataFrame:
    """The city's named candidate areas (:data:`CANDIDATE_AREAS`) as polygons in ``crs``."""
    rows = []
    for ident, name, line, half_width, note in CANDIDATE_AREAS.get(city_id, []):
        geom = gpd.GeoSeries([shapely.LineString(line)], crs="EPSG:4326").to_crs(crs)
        rows.append({"candidate_area": ident, "name": name, "source": note, "is_synthetic": True,
                     "geometry": geom.buffer(half_width, cap_style="flat").iloc[0]})
    cols = ["candidate_area", "name", "source", "is_synthetic", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=crs)


# ---------------------------------------------------------------------------------------
# 4. energy and totals
# ---------------------------------------------------------------------------------------
def site_energy(sites: gpd.GeoDataFrame, station: pd.DataFrame, params: WindParams, *,
                raster_mean_m_per_s: np.ndarray | None = None,
                raster_height_m: float | None = None,
                raster_weibull: tuple[np.ndarray, np.ndarray, float] | None = None,
                elevation_m: npt.ArrayLike | None = None) -> gpd.GeoDataFrame:
    """Hub-height wind, Weibull fit, gross and net energy and capacity factor per site.

    The power curve is corrected for the air density at each site's hub
    (:func:`engines.wind.resource.air_density_hub`): the station's hourly pressure and
    temperature carried from the station's elevation (EPW header) to the site's ground
    ``elevation_m`` plus the hub height. Without ``elevation_m`` every site is at the
    station's elevation.

    Parameters
    ----------
    sites : GeoDataFrame
        Turbine points with ``lc_class`` (for roughness).
    station : DataFrame
        From :func:`engines.wind.resource.read_station_wind` (10 m wind, pressure, temperature).
    params : WindParams
    raster_mean_m_per_s : ndarray, optional
        Mean wind speed of an atlas raster at each site [m/s] (NaN = no data: the
        station screening estimate is used there).
    raster_height_m : float, optional
        Height of the raster [m]; carried to hub height with the site's roughness
        (log law) when it differs.
    raster_weibull : (A, k, height_m), optional
        Weibull scale A [m/s] and shape k of a wind atlas (Global Wind Atlas
        ``combined-Weibull-A``/``-k``) at each site and their height [m]. Where both
        are valid they override the mean-speed raster: A is carried to hub height
        by the log law like the mean, k is kept, and the energy integrates the power
        curve over Weibull(A, k) (:func:`engines.wind.resource.energy_for_weibull`).
    elevation_m : array, optional
        Ground elevation of each site above sea level [m] (a DEM); default: the station's.

    Returns
    -------
    GeoDataFrame
        ``sites`` plus the columns of the ``wind_sites`` result (see twin.schema).
    """
    spec = wind.turbine_spec(params.turbine_type)
    hub = params.hub_height_m
    out = sites.copy()
    n = len(out)
    z0 = wind.roughness_length_m(out["lc_class"] if "lc_class" in out.columns else [""] * n)
    # a station frame without an EPW header (built in code) has no elevation: without site
    # elevations only the difference counts (zero), so the density is the same; none is reported
    known = elevation_m is not None or station.attrs.get("altitude") is not None
    z_station = wind.station_elevation_m(station) if known else 0.0
    elev = (np.full(n, z_station) if elevation_m is None
            else np.asarray(elevation_m, dtype=float).reshape(n))
    # density series at a few elevation nodes; each site's energy is interpolated between the
    # two nodes around its elevation (exact where the sites have few distinct elevations)
    nodes, lo, w = _elevation_nodes(elev)
    rho_z = wind.air_density_hub(station["atmospheric_pressure"], station["temp_air"], hub,
                                 site_elevation_m=nodes, station_elevation_m=z_station)

    def by_elevation(mask: np.ndarray, energy: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        """``gross[mask]``: ``energy(sites, rho)`` at the nodes around each site, blended linearly."""
        acc = np.zeros(n)
        for j in np.unique(np.concatenate([lo[mask], lo[mask & (w > 0)] + 1])):
            for at, wt in ((mask & (lo == j), 1.0 - w), (mask & (lo + 1 == j) & (w > 0), w)):
                if at.any():
                    acc[at] += wt[at] * np.asarray(energy(at, rho_z[j]), dtype=float)
        gross[mask] = acc[mask]
    v10 = station["wind_speed"].to_numpy(float)
    mean_v = np.empty(n)
    gross = np.empty(n)
    k = np.empty(n)
    c = np.empty(n)
    for z in np.unique(z0):
        sel = z0 == z
        v_hub = wind.extrapolate_wind(v10, hub, z, station_roughness_m=params.station_roughness_m,
                                      blending_height_m=params.blending_height_m,
                                      profile=params.profile)
        kk, cc = wind.fit_weibull(v_hub)
        mean_v[sel] = v_hub.mean()

        def station_energy(at: np.ndarray, rho: np.ndarray, v_hub: np.ndarray = v_hub) -> np.ndarray:
            return np.full(int(at.sum()), wind.turbine_energy_kwh(params.turbine_type, v_hub, rho))

        by_elevation(sel, station_energy)
        k[sel], c[sel] = kk, cc
    source = np.full(n, "station_screening", dtype=object)
    if raster_mean_m_per_s is not None:
        r = np.asarray(raster_mean_m_per_s, float)
        ok = np.isfinite(r)
        if (~ok).any():
            logger.warning("%d of %d site(s) fall on wind-raster nodata: station screening estimate "
                           "used there", int((~ok).sum()), n)
        if ok.any():
            if raster_height_m is not None and abs(raster_height_m - hub) > 0.5:
                r = r * np.log(hub / z0) / np.log(raster_height_m / z0)
            ref = wind.extrapolate_wind(v10, hub, params.station_roughness_m,
                                        station_roughness_m=params.station_roughness_m,
                                        blending_height_m=params.blending_height_m,
                                        profile=params.profile)
            k_ref, c_ref = wind.fit_weibull(ref)
            by_elevation(ok, lambda at, rho: wind.energy_for_mean_speeds(params.turbine_type, ref,
                                                                         r[at], rho))
            mean_v[ok] = r[ok]
            k[ok] = k_ref
            c[ok] = c_ref * r[ok] / ref.mean()
            source[ok] = "raster"
    hours = len(v10) * wind._hours_per_step(station["wind_speed"])
    if raster_weibull is not None:
        a_r, k_r, h_r = (np.asarray(raster_weibull[0], float), np.asarray(raster_weibull[1], float),
                         float(raster_weibull[2]))
        okw = np.isfinite(a_r) & np.isfinite(k_r) & (a_r > 0) & (k_r > 0)
        if okw.any():
            from scipy.special import gammaln

            a_hub = a_r * np.log(hub / z0) / np.log(h_r / z0) if abs(h_r - hub) > 0.5 else a_r
            by_elevation(okw, lambda at, rho: wind.energy_for_weibull(params.turbine_type, a_hub[at],
                                                                      k_r[at], hours, float(np.mean(rho))))
            k[okw], c[okw] = k_r[okw], a_hub[okw]
            mean_v[okw] = a_hub[okw] * np.exp(gammaln(1.0 + 1.0 / k_r[okw]))
            source[okw] = "raster"
    year_factor = 8760.0 / hours
    net = gross * (1 - params.wake_loss) * params.availability
    cap_kw = spec["nominal_power_kw"]
    out["turbine_type"] = params.turbine_type
    out["hub_height_m"] = float(hub)
    out["rotor_diameter_m"] = spec["rotor_diameter_m"]
    out["capacity_mw"] = cap_kw / 1000.0
    out["roughness_length_m"] = z0
    out["site_elevation_m"] = elev if known else np.nan
    rho_mean = rho_z.mean(axis=1)
    out["air_density_hub_kg_per_m3"] = (1.0 - w) * rho_mean[lo] + w * rho_mean[np.minimum(lo + 1,
                                                                                    len(nodes) - 1)]
    out["wind_speed_hub_m_per_s"] = mean_v
    out["weibull_k"] = k
    out["weibull_c_m_per_s"] = c
    out["resource_source"] = pd.Series(source, index=out.index, dtype="str")
    out["is_screening_estimate"] = source == "station_screening"
    out["gross_energy_mwh_per_yr"] = gross / 1000.0 * year_factor
    out["energy_mwh_per_yr"] = net / 1000.0 * year_factor
    out["capacity_factor"] = net / (cap_kw * hours)
    out["full_load_hours"] = out["capacity_factor"] * 8760.0
    out["is_viable"] = viable_sites(out, params)
    return out


def _resource_label(weibull: bool, speed_map: bool, n_map: int, n_sites: int) -> str:
    """The wind resource in words, naming the share of sites the map covers when it is partial."""
    station = "station screening estimate (EPW 10 m wind extrapolated)"
    if not (weibull or speed_map):
        return station
    maps = ("Weibull A/k rasters" + (" and wind_speed raster" if speed_map else "")) if weibull \
        else "wind_speed raster"
    if n_sites and n_map == 0:
        return f"{station}: the {maps} cover none of the {n_sites:,} sites"
    if n_map < n_sites:
        return (f"{maps} at {n_map:,} of {n_sites:,} sites ({n_map / n_sites:.0%}); "
                f"{station} at the other {n_sites - n_map:,}")
    return maps


#: Site elevations [m] handled exactly when there are at most this many distinct ones.
ELEVATION_NODES_EXACT = 64
#: Spacing of the elevation nodes otherwise [m]: air density changes about 0.01 % per metre,
#: so energy interpolated linearly between nodes 10 m apart is within 1e-6 of the exact one.
ELEVATION_NODE_STEP_M = 10.0


def _elevation_nodes(elev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elevation nodes, and for each site the node below it and its weight on the node above."""
    u = np.unique(elev)
    if len(u) <= ELEVATION_NODES_EXACT:
        nodes = u if len(u) else np.zeros(1)
    else:
        k = int(np.ceil((u[-1] - u[0]) / ELEVATION_NODE_STEP_M)) + 1
        nodes = np.linspace(u[0], u[-1], max(k, 2))
    if len(nodes) == 1:
        return nodes, np.zeros(len(elev), dtype=np.int64), np.zeros(len(elev))
    lo = np.clip(np.searchsorted(nodes, elev, side="right") - 1, 0, len(nodes) - 2)
    w = (elev - nodes[lo]) / (nodes[lo + 1] - nodes[lo])
    exact = w >= 1.0  # a site on the top node
    lo[exact] += 1
    w[exact] = 0.0
    lo = np.minimum(lo, len(nodes) - 1)
    return nodes, lo, w


def _in_draft_zone(sites: pd.DataFrame) -> pd.Series:
    """Sites inside a draft-only candidate area (``candidate_area`` set)."""
    if "candidate_area" not in sites.columns:
        return pd.Series(False, index=sites.index)
    return sites["candidate_area"].fillna("").astype(str) != ""


def viable_sites(sites: pd.DataFrame, params: WindParams, *, draft_zones: bool = False) -> pd.Series:
    """Sites that count for a target: a wind-map resource and ``params.min_full_load_hours``.

    Sites in the draft-only candidate areas count only with ``draft_zones`` (for the
    draft-plan targets).
    """
    enough = sites["full_load_hours"] >= params.min_full_load_hours
    ok = ~sites["is_screening_estimate"].astype(bool) & enough
    return ok if draft_zones else ok & ~_in_draft_zone(sites)


def district_totals(sites: pd.DataFrame, grid: EligibilityGrid, districts: pd.DataFrame,
                    params: WindParams) -> pd.DataFrame:
    """Per-district eligible area, turbines, MW, energy, capacity factor and storage.

    Returns
    -------
    DataFrame
        One row per district: ``district_adcode``, ``name_zh``, ``name_en``,
        ``eligible_area_km2``, ``n_turbines``, ``capacity_mw`` (technical),
        ``viable_capacity_mw`` (sites that count for the targets), ``energy_mwh_per_yr``,
        ``capacity_factor``, ``wind_speed_hub_m_per_s`` (mean over sites, NaN if none),
        ``storage_power_mw`` and ``storage_energy_mwh``.
    """
    cell_km2 = grid.cell_m**2 / 1e6
    elig = np.bincount(grid.district[grid.eligible], minlength=len(grid.adcodes) + 1)[1:]
    base = pd.DataFrame({"district_adcode": grid.adcodes, "eligible_area_km2": elig * cell_km2})
    names = districts.set_index(districts["adcode"].astype(str))
    for col in ("name_zh", "name_en"):
        base[col] = base["district_adcode"].map(names[col]) if col in names.columns else ""
    g = sites.groupby("district_adcode")
    viable = sites["capacity_mw"].where(sites["is_viable"], 0.0) if "is_viable" in sites.columns \
        else sites["capacity_mw"] * 0.0
    agg = pd.DataFrame({
        "n_turbines": g.size(),
        "capacity_mw": g["capacity_mw"].sum(),
        "viable_capacity_mw": viable.groupby(sites["district_adcode"]).sum(),
        "energy_mwh_per_yr": g["energy_mwh_per_yr"].sum(),
        "wind_speed_hub_m_per_s": g["wind_speed_hub_m_per_s"].mean(),
    })
    out = base.merge(agg, left_on="district_adcode", right_index=True, how="left")
    out["n_turbines"] = out["n_turbines"].fillna(0).astype("int64")
    for col in ("capacity_mw", "viable_capacity_mw", "energy_mwh_per_yr"):
        out[col] = out[col].fillna(0.0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["capacity_factor"] = np.where(out["capacity_mw"] > 0,
                                          out["energy_mwh_per_yr"] / (out["capacity_mw"] * 8760.0),
                                          np.nan)
    out["storage_power_mw"] = out["capacity_mw"] * params.storage_ratio
    out["storage_energy_mwh"] = out["storage_power_mw"] * params.storage_duration_h
    cols = ["district_adcode", "name_zh", "name_en", "eligible_area_km2", "n_turbines",
            "capacity_mw", "viable_capacity_mw", "energy_mwh_per_yr", "capacity_factor",
            "wind_speed_hub_m_per_s", "storage_power_mw", "storage_energy_mwh"]
    return out[cols].reset_index(drop=True)


def target_table(sites: pd.DataFrame, targets: pd.DataFrame, params: WindParams, *,
                 city_id: str = "") -> pd.DataFrame:
    """The city's viable wind potential against each ``wind_capacity_mw`` target.

    Only viable sites count (``is_viable``: a wind-map resource, at least
    ``params.min_full_load_hours``, outside the draft-only candidate areas). Draft-plan
    targets (status ``draft``) also count the viable sites of the draft-only candidate
    areas; final and 14th-FYP targets never do. Without a wind map nothing counts and
    the ``note`` says how to import one.

    For each target: the technical and the viable potential [MW], whether the viable
    potential meets it, the turbines needed, and the net energy of the best viable
    sites (highest energy first) that reach it, with storage at ``storage_ratio``.

    Parameters
    ----------
    sites : DataFrame
        Output of :func:`site_energy`.
    targets : DataFrame
        The twin's ``targets`` table (``id``, ``metric``, ``value``, ``status``, ``tier``,
        ``year``, ``is_governing``).
    city_id : str
        For the wind-map hint.
    """
    rated = float(wind.turbine_spec(params.turbine_type)["nominal_power_kw"]) / 1000.0
    t = targets.loc[targets["metric"] == "wind_capacity_mw"]
    zone = _in_draft_zone(sites)
    technical = float(len(sites.loc[~zone]) * rated)
    no_map = bool(sites["is_screening_estimate"].astype(bool).all())
    rows = []
    for _, r in t.iterrows():
        status = str(r["status"])
        counted = viable_sites(sites, params, draft_zones=status == "draft")
        best = np.sort(sites.loc[counted, "energy_mwh_per_yr"].to_numpy(float))[::-1]
        cum = np.concatenate([[0.0], np.cumsum(best)])
        potential = float(len(best) * rated)
        target_mw = float(r["value"])
        need = int(math.ceil(target_mw / rated - 1e-9))
        have = min(need, len(best))
        energy = float(cum[have])
        if no_map:
            note = NO_WIND_MAP.format(city=city_id or "<city>")
        elif not len(best):
            note = (f"no site reaches {params.min_full_load_hours:,.0f} full-load hours "
                    "(the low end of Zhejiang's low-wind projects)")
        else:
            note = ""
        if status != "draft" and bool(zone.any()):
            note = (note + "; " if note else "") + "draft-only candidate areas excluded (final plan)"
        rows.append({
            "target_id": str(r["id"]), "status": status, "tier": str(r["tier"]),
            "year": int(r["year"]) if pd.notna(r["year"]) else 0,
            "is_governing": bool(r.get("is_governing", False)),
            "target_mw": target_mw, "technical_potential_mw": technical, "potential_mw": potential,
            "n_viable_sites": len(best), "meets_target": potential >= target_mw, "turbines_needed": need,
            "best_sites_energy_mwh_per_yr": energy,
            "best_sites_capacity_factor": energy / (have * rated * 8760.0) if have else np.nan,
            "storage_ratio_pct": params.storage_ratio * 100.0,
            "storage_power_mw": target_mw * params.storage_ratio,
            "storage_energy_mwh": target_mw * params.storage_ratio * params.storage_duration_h,
            "synthetic_share": (float(sites.loc[counted, "is_synthetic"].astype(bool).mean())
                                if "is_synthetic" in sites.columns and len(best) else float("nan")),
            "note": note,
        })
    cols = ["target_id", "status", "tier", "year", "is_governing", "target_mw", "technical_potential_mw",
            "potential_mw", "n_viable_sites", "meets_target", "turbines_needed",
            "best_sites_energy_mwh_per_yr", "best_sites_capacity_factor", "storage_ratio_pct",
            "storage_power_mw", "storage_energy_mwh", "synthetic_share", "note"]
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------
# the engine contract: load (edge) and compute
# ---------------------------------------------------------------------------------------
def _airports_frame(city_id: str, crs: str) -> gpd.GeoDataFrame:
    items = AIRPORTS.get(city_id, [])
    return gpd.GeoDataFrame({"name": [a[0] for a in items]},
                            geometry=gpd.points_from_xy([a[1] for a in items],
                                                        [a[2] for a in items]),
                            crs="EPSG:4326").to_crs(crs)


@dataclass
class WindInputs:
    """Everything the wind screen reads from a built twin (see :func:`load`)."""

    city_id: str
    crs: str
    weather_name: str
    districts: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    landcover: gpd.GeoDataFrame
    station: pd.DataFrame
    targets: pd.DataFrame
    dem_path: Path | None = None
    wind_raster: tuple[Path, dict] | None = None
    protected: gpd.GeoDataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    city_buildings_estimate: int = 0
    weibull_rasters: tuple[tuple[Path, dict], tuple[Path, dict]] | None = None


def load(source: TwinSource, params: WindParams, *, protected: gpd.GeoDataFrame | None = None) -> WindInputs:
    """Read the wind screen's inputs: layers, station wind, the DEM and wind-map paths, targets.

    Parameters
    ----------
    protected : GeoDataFrame, optional
        Extra protected areas (any CRS; reprojected).
    """
    import time

    t0 = time.perf_counter()
    city = source.city
    crs = city.metric_crs
    bounds = source.read_layer("boundaries")
    districts = bounds.loc[bounds["level"] == "district"].reset_index(drop=True)
    buildings = source.read_layer("buildings", columns=["use_class", "is_synthetic"])
    roads = source.read_layer("roads", columns=["is_synthetic"])
    water = source.read_layer("water", columns=["is_protected", "is_drinking_source", "is_synthetic"])
    landcover = source.read_layer("landcover", columns=["lc_class", "is_synthetic"])
    if protected is not None:
        if protected.crs is None:
            msg = "protected areas have no CRS; set one (e.g. EPSG:4326) before passing them"
            raise SchemaError(msg)
        protected = protected.to_crs(crs)
    weather_path = source.weather_path(None)
    station = wind.read_station_wind(weather_path)
    dem = source.raster("dem")
    ws = source.raster("wind_speed")
    wa, wk = source.raster("wind_weibull_a"), source.raster("wind_weibull_k")
    return WindInputs(city.id, crs, weather_path.name, districts, buildings, roads, water, landcover,
                      station, source.table("targets"), dem[0] if dem else None, ws, protected,
                      {"read": round(time.perf_counter() - t0, 3)},
                      int(getattr(city, "full_scale_buildings", 0) or 0),
                      (wa, wk) if wa is not None and wk is not None else None)


def compute(inputs: WindInputs, params: WindParams, *,
            progress: Callable[[str], None] | None = None) -> EngineResult:
    """Exclusions, placement, energy and totals of the distributed-wind screen.

    Results: ``wind_sites`` (points), ``wind_exclusions`` (polygons by reason and
    district), ``wind_candidate_areas`` (named zones such as the Qiantang mudflats);
    tables ``wind_districts`` and ``wind_targets``; metadata ``wind_screen``.
    The DEM (slope) and the wind map are sampled from their files where given.
    """
    import time

    step = progress or (lambda name: None)
    timings: dict[str, float] = dict(inputs.timings)
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - t0 - sum(v for k, v in timings.items()
                                                             if k != "read"), 3)

    crs = inputs.crs
    districts, buildings, roads = inputs.districts, inputs.buildings, inputs.roads
    water, landcover, station = inputs.water, inputs.landcover, inputs.station
    step("wind: exclusions")
    sources = exclusion_sources(buildings, roads, water, inputs.protected,
                                _airports_frame(inputs.city_id, crs), landcover)
    slope = None
    notes = []
    setbacks = params.effective_setbacks()
    grid = eligibility_grid(districts, sources, setbacks, cell_m=params.cell_m)
    dem_m = None
    if inputs.dem_path is not None:
        dem_m = grid_dem_m(inputs.dem_path, grid)
        slope = slope_pct(dem_m, grid.cell_m)
        grid.masks["slope"] = np.nan_to_num(slope, nan=0.0) > params.max_slope_pct
    else:
        notes.append("no DEM in the twin: slope not screened (import one with `twin import dem`)")
    share = (len(buildings) / inputs.city_buildings_estimate if inputs.city_buildings_estimate
             else float("nan"))
    if share < 0.5:
        notes.append(f"the building layer holds {len(buildings):,} of about "
                     f"{inputs.city_buildings_estimate:,} buildings ({share:.1%}): setbacks from the "
                     "dwellings it lacks are missing, so sites between villages are too many; import "
                     f"the city's buildings (`twin import buildings FILE --city {inputs.city_id}`)")
    if inputs.protected is None:
        notes.append("no protected-area layer (ecological red line, nature reserves): only protected "
                     "and drinking-water bodies excluded; pass one as `protected` to the wind screen")
    exclusions = exclusion_polygons(grid, setbacks)
    lap("exclusions")

    step("wind: placement")
    spec = wind.turbine_spec(params.turbine_type)
    axis = wind.prevailing_direction_deg(station["wind_speed"], station["wind_direction"])
    if params.placement == "lattice":
        sites = place_turbines(grid, spec["rotor_diameter_m"], axis,
                               spacing_along_d=params.spacing_along_d,
                               spacing_across_d=params.spacing_across_d)
    else:
        score = None
        if inputs.wind_raster is not None:  # best resource first
            r_el, c_el = np.nonzero(grid.eligible)
            t = grid.transform
            score = np.full(grid.shape, np.nan)
            score[r_el, c_el] = wind.sample_wind_raster(
                inputs.wind_raster[0], t.c + (c_el + 0.5) * grid.cell_m,
                t.f - (r_el + 0.5) * grid.cell_m, crs)
        sites = place_turbines_greedy(grid, spec["rotor_diameter_m"], axis,
                                      spacing_along_d=params.spacing_along_d,
                                      spacing_across_d=params.spacing_across_d, score=score)
    reason = screen_points(sites, sources, setbacks)
    n_grid = len(sites)
    sites = sites.loc[reason == ""].reset_index(drop=True)
    labels = eligible_areas(grid)
    n_screened = len(sites)
    sites = drop_small_projects(sites, grid, labels, params.min_project_turbines)
    n_small = n_screened - len(sites)
    notes.append(f"{n_small:,} site(s) dropped in eligible areas with room for fewer than "
                 f"{params.min_project_turbines} turbines")
    joined = gpd.sjoin(sites, landcover[["lc_class", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    sites["lc_class"] = joined["lc_class"].astype("str").fillna("").to_numpy()
    zones = candidate_areas(inputs.city_id, crs)
    sites["candidate_area"] = ""
    for _, z in zones.iterrows():
        inside = sites.within(z.geometry).to_numpy()
        sites.loc[inside, "candidate_area"] = z["candidate_area"]
    lap("placement")

    step("wind: energy")
    raster_mean = raster_height = None
    if inputs.wind_raster is not None:
        path, meta = inputs.wind_raster
        raster_height = meta.get("height_m")
        raster_mean = wind.sample_wind_raster(path, sites.geometry.x, sites.geometry.y, crs)
    weibull = None
    if inputs.weibull_rasters is not None:
        (pa, ma), (pk, mk) = inputs.weibull_rasters
        if ma.get("height_m") != mk.get("height_m"):
            notes.append(f"Weibull A ({ma.get('height_m')} m) and k ({mk.get('height_m')} m) rasters are at "
                         "different heights: not used; import both at one height")
        else:
            weibull = (wind.sample_wind_raster(pa, sites.geometry.x, sites.geometry.y, crs),
                       wind.sample_wind_raster(pk, sites.geometry.x, sites.geometry.y, crs),
                       float(ma["height_m"]))
            notes.append(f"wind energy from the Weibull A/k rasters ({ma['height_m']:g} m) where they "
                         "have data")
    elif inputs.wind_raster is not None:
        notes.append("no Weibull A/k rasters: the station's Weibull shape k is scaled to the wind map's mean "
                     "(import `wind_weibull_a` and `wind_weibull_k` with --height for the atlas's own k)")
    z_station = wind.station_elevation_m(station)
    elevation, from_dem = site_elevation_m(sites.geometry.x, sites.geometry.y, grid, dem_m, z_station)
    sites = site_energy(sites, station, params, raster_mean_m_per_s=raster_mean,
                        raster_height_m=raster_height, raster_weibull=weibull, elevation_m=elevation)
    terrain = air_density_terrain_note(z_station, dem_m is not None, int(from_dem.sum()), len(sites))
    notes.append(terrain)
    if weibull is not None and raster_mean is None:
        raster_mean = weibull[0]
    sites.insert(0, "site_id", [f"w{i:06d}" for i in range(len(sites))])
    any_synth = any(bool(df["is_synthetic"].any()) for df in (buildings, roads, water, landcover))
    sites["is_synthetic"] = any_synth | (sites["candidate_area"] != "")
    from_map = sites["resource_source"].to_numpy(dtype=object) == "raster"
    n_map, n_sites = int(from_map.sum()), len(sites)
    map_share = n_map / n_sites if n_sites else 0.0
    # Each site says where its wind came from: a map accepted with partial cover (--min-cover)
    # leaves the sites outside it on the station screening estimate.
    est = np.where(from_map, "wind atlas raster",
                   "station screening estimate" if raster_mean is None
                   else "station screening estimate (outside the wind map)")
    sites["source"] = (f"carbon-twin wind screen: {params.turbine_type} power curve (windpowerlib "
                       f"OEDB), " + pd.Series(est, index=sites.index, dtype=object)
                       + f", weather {inputs.weather_name}")
    if raster_mean is None:
        notes.append(NO_WIND_MAP.format(city=inputs.city_id))
    elif n_map < n_sites:
        notes.append(f"the wind map covers {n_map:,} of {n_sites:,} sites ({map_share:.0%}); the other "
                     f"{n_sites - n_map:,} use the station screening estimate (resource_source = "
                     "station_screening); import a map that covers the whole city")
    n_viable = int(sites["is_viable"].sum())
    notes.append(f"{n_viable:,} of {len(sites):,} sites viable (wind-map resource, >= "
                 f"{params.min_full_load_hours:,.0f} full-load hours, outside draft-only areas)")
    lap("energy")

    step("wind: totals")
    totals = district_totals(sites, grid, districts, params)
    targets = target_table(sites, inputs.targets, params, city_id=inputs.city_id)
    exclusions["is_synthetic"] = any_synth
    exclusions["source"] = f"carbon-twin wind screen on a {params.cell_m:g} m grid"
    zones_out = zones.copy()
    for col, fn in (("n_turbines", "size"), ("capacity_mw", "sum")):
        s = (sites.groupby("candidate_area").size() if fn == "size"
             else sites.groupby("candidate_area")["capacity_mw"].sum())
        zones_out[col] = zones_out["candidate_area"].map(s).fillna(0)
    zones_out["n_turbines"] = zones_out["n_turbines"].astype("int64")
    cell_km2 = params.cell_m**2 / 1e6
    elig_area = []
    for g in zones_out.geometry:
        from rasterio.features import rasterize

        m = rasterize([(g, 1)], out_shape=grid.shape, transform=grid.transform, fill=0,
                      dtype="uint8").astype(bool)
        elig_area.append(float((m & grid.eligible).sum() * cell_km2))
    zones_out["eligible_area_km2"] = elig_area
    zones_out["area_km2"] = zones_out.area / 1e6
    areas = area_polygons(grid, labels, sites)
    areas["is_synthetic"] = any_synth
    areas["source"] = (f"carbon-twin wind screen on a {params.cell_m:g} m grid: contiguous eligible "
                       f"areas holding >= {params.min_project_turbines} turbines")
    lap("totals")

    hub_rho = (sites["air_density_hub_kg_per_m3"].to_numpy(float) if len(sites) else
               wind.air_density_hub(station["atmospheric_pressure"], station["temp_air"],
                                    params.hub_height_m))
    meta = {
        "turbine_type": params.turbine_type, "hub_height_m": params.hub_height_m,
        "rotor_diameter_m": spec["rotor_diameter_m"], "rated_power_kw": spec["nominal_power_kw"],
        "cell_m": params.cell_m, "spacing_d": [params.spacing_along_d, params.spacing_across_d],
        "prevailing_axis_deg": round(axis, 1), "setbacks_m": setbacks,
        "wake_loss": params.wake_loss, "availability": params.availability,
        "storage_ratio": params.storage_ratio, "storage_duration_h": params.storage_duration_h,
        "profile": params.profile, "station_roughness_m": params.station_roughness_m,
        "blending_height_m": params.blending_height_m, "params": to_dict(params),
        "station_mean_wind_10m_m_per_s": round(float(station["wind_speed"].mean()), 3),
        "mean_air_density_hub_kg_per_m3": round(float(np.mean(hub_rho)), 4),
        "resource": _resource_label(weibull is not None, inputs.wind_raster is not None, n_map, n_sites),
        "resource_raster_share": round(map_share, 4),
        "n_sites_raster_resource": n_map,
        "placement": params.placement, "min_project_turbines": params.min_project_turbines,
        "n_lattice_points_eligible_on_grid": n_grid,
        "n_placed_on_grid": n_grid,
        "n_removed_by_vector_check": int(n_grid - n_screened),
        "n_removed_small_areas": int(n_small),
        "n_project_areas": len(areas),
        "slope_screened": slope is not None,
        "air_density_terrain": terrain,
        "station_elevation_m": z_station,
        "n_sites_elevation_from_dem": int(from_dem.sum()),
        "building_coverage_share": round(share, 4) if math.isfinite(share) else None,
        "notes": notes, "timings_s": timings,
    }
    results = {"wind_sites": sites, "wind_exclusions": exclusions,
               "wind_candidate_areas": zones_out, "wind_areas": areas}
    tables = {"wind_districts": totals, "wind_targets": targets}
    logger.info("wind screen of %s: %d sites, %.0f MW, %s", inputs.city_id, len(sites),
                sites["capacity_mw"].sum(), timings)
    return EngineResult(results, tables, {"wind_screen": meta})
