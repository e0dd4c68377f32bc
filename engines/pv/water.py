r"""Water-surface PV sites: fishery-pond PV (渔光互补), pit-pond and small-reservoir floating PV.

:func:`screen_water` takes the twin's ``water`` layer and returns every water body
with the reason it is excluded (``site_exclusion_reason``, ``''`` for a site), its
usable area, mounting and DC capacity. :func:`site_yield` adds annual energy from the
rooftop yield engine (:func:`engines.pv.yield_.simulate_facets`), and
:func:`district_totals` sums sites with the storage the S-H1 rule asks for.

Method
------
1. **Candidates by type**: ``pond``, ``pit_pond`` and ``reservoir`` (small ones,
   ``area <= max_reservoir_area_m2``). Excluded with a reason, in this precedence:
   ``protected_area`` (``is_protected``, or touching a protected-area / ecological
   red-line polygon), ``drinking_water_source``, ``large_lake`` (every lake; West Lake,
   Qiandao Lake, Taihu by name), ``river_or_channel`` (rivers and canals, navigation),
   ``wetland``, ``large_reservoir``, ``too_small`` (under ``min_area_m2``; for ponds
   and pit-ponds the area of the *pond field*: ponds closer than
   ``cluster_distance_m`` to each other, i.e. separated only by dykes), and
   ``no_usable_area`` (nothing left after the shoreline setback).
2. **Usable area**: the polygon shrunk by the shoreline setback of its type.
3. **Capacity**: ``kWp = usable_area_m2 x array_coverage_ratio x GCR x
   module_power_density_kw_per_m2``. The array coverage keeps open water for
   aquaculture; the ground coverage ratio GCR comes from the winter-solstice noon
   row-spacing rule at the mounting's tilt (:func:`engines.pv.facets.row_spacing`),
   which is how shading between rows is handled. ``capacity_density_mwp_per_km2`` is
   the product of the three factors (MWp per km² of usable water).
4. **Yield** (:func:`site_yield`): sites that share mounting, tilt, azimuth and albedo
   have the same specific yield, because the engine's energy is linear in
   ``pdc0_kw`` (the inverter is sized with the array). One representative facet per
   class with ``pdc0_kw = 1`` is simulated and every site's energy is its kWp times the
   class's specific yield: exact, and independent of the number of sites.
5. **Cell temperature**: Faiman's model [2]_ per mounting, with parameters given in
   PVsyst form (``u_c``, ``u_v``) in ``data/pv/sites.toml`` and translated with
   :class:`pvlib.temperature.GenericLinearModel` [3]_: floating 36 W/m²K (closed
   structure, large water footprint, Dörenkämper et al. 2021 [4]_), pile-mounted
   open rack 29 W/m²K (PVsyst free-standing). Both run cooler than the rooftop
   engine's default (SAPM close-mount glass/glass).
6. **Water albedo** 0.07 (Dvoracek & Hannabas 1990 [5]_).
7. **Storage**: ``storage_power_mw = ratio x MWp`` (S-H1: ratio >= 10 %),
   ``storage_energy_mwh = storage_power_mw x duration_h`` (the seeds give no duration;
   default 2 h).

All defaults, with their sources, are in ``data/pv/sites.toml``
(:func:`load_site_params`).

References
----------
.. [1] G. M. Masters, Renewable and Efficient Electric Power Systems, 2nd ed., Wiley,
   2013, §7.5 (winter-solstice row spacing).
.. [2] D. Faiman, "Assessing the outdoor operating temperature of photovoltaic
   modules", Prog. Photovolt. 16(4), 307-315, 2008, :doi:`10.1002/pip.813`.
.. [3] A. Driesse, M. Theristis and J. S. Stein, "PV module operating temperature
   model equivalence and parameter translation", IEEE 49th PVSC, 2022,
   :doi:`10.1109/PVSC48317.2022.9938895`.
.. [4] M. Dörenkämper et al., "The cooling effect of floating PV in two different
   climate zones", Solar Energy 214, 239-247, 2021,
   :doi:`10.1016/j.solener.2020.11.029`; H. Liu et al., "Field experience and
   performance analysis of floating PV technologies in the tropics", Prog. Photovolt.
   26, 957-967, 2018, :doi:`10.1002/pip.3039`.
.. [5] M. J. Dvoracek and B. Hannabas, "Prediction of albedo for use in evapotranspiration
   and irrigation scheduling", J. Irrig. Drain. Eng. 116(6), 1990 (pvlib
   ``inland_water_dvoracek``).
.. [6] Y. Jin et al., "Energy production and water savings from floating solar
   photovoltaics on global reservoirs", Nat. Sustain. 6, 865-874, 2023,
   :doi:`10.1038/s41893-023-01089-6` (30 % reservoir coverage).
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, overload

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from engines.pv.facets import ROW_WINDOW_H, row_spacing
from engines.pv.params import DEFAULT_SITES_PATH, MOUNTINGS, WATER_CANDIDATE_TYPES, SiteScreen
from engines.pv.yield_ import simulate_facets
from twin.errors import ConfigError, DataWarning, SchemaError, listing, require_columns
from twin.params import from_mapping, load_toml, to_dict
from twin.schema import WATER_TYPES

__all__ = [
    "DEFAULT_SITES_PATH",
    "EXCLUSION_REASONS",
    "MOUNTINGS",
    "check_polygons",
    "district_totals",
    "faiman_parameters",
    "load_site_params",
    "mounting_gcr",
    "row_window",
    "screen_water",
    "site_yield",
    "storage_for",
]

logger = logging.getLogger(__name__)

#: Every value of ``site_exclusion_reason`` (water and ground screens).
EXCLUSION_REASONS = ("", "protected_area", "drinking_water_source", "large_lake",
                     "river_or_channel", "wetland", "large_reservoir", "basic_farmland",
                     "water", "built_up", "slope", "type_not_screened", "too_small",
                     "no_usable_area")

_CANDIDATE_TYPES = WATER_CANDIDATE_TYPES
_CLUSTERED_TYPES = ("pond", "pit_pond")
_TYPE_REASON = {"lake": "large_lake", "river": "river_or_channel", "canal": "river_or_channel",
                "wetland_water": "wetland"}




# ----------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------

def load_site_params(path: os.PathLike[str] | str | None = None, **overrides: dict[str, Any]
                     ) -> dict[str, Any]:
    """Read and check the site-screen parameters (:class:`engines.pv.params.SiteScreen`).

    Parameters
    ----------
    path : str or os.PathLike, optional
        TOML file; default :data:`DEFAULT_SITES_PATH` (``data/pv/sites.toml``).
    **overrides
        Nested dicts merged over the file, e.g. ``water={"min_area_m2": 5000}``,
        ``storage={"duration_h": 4}``, ``mountings={"floating": {"u_c": 40}}``.

    Returns
    -------
    dict
        Sections ``common``, ``storage``, ``mountings``, ``water``, ``ground``
        (:func:`twin.params.to_dict` of the validated parameters).

    Raises
    ------
    SourceError
        The file is missing or not TOML.
    ConfigError
        A key is unknown or a value out of range (the message names every one).
    """
    unknown = sorted(set(overrides) - {"common", "storage", "mountings", "water", "ground"})
    if unknown:
        msg = f"unknown site parameter section(s) {unknown}; use common, storage, mountings, water, ground"
        raise ConfigError(msg)
    path = Path(path) if path is not None else DEFAULT_SITES_PATH
    raw = load_toml(path)
    screen = from_mapping(SiteScreen, _merge(raw, overrides), where=str(path))
    return to_dict(screen)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def faiman_parameters(mounting: dict, common: dict) -> dict:
    """Faiman ``u0``, ``u1`` of a mounting from its PVsyst ``u_c``, ``u_v``.

    Parameters
    ----------
    mounting : dict
        ``u_c`` [W/(m² K)] and ``u_v`` [W s/(m³ K)] (PVsyst heat-loss factors).
    common : dict
        ``module_efficiency`` [-] and ``absorptance`` [-].

    Returns
    -------
    dict
        ``{"u0": ..., "u1": ...}`` for ``temperature_model='faiman'`` of
        :func:`~engines.pv.yield_.simulate_facets` (pvlib's GenericLinearModel, [3]_).
    """
    glm = pvlib.temperature.GenericLinearModel(module_efficiency=float(common["module_efficiency"]),
                                               absorptance=float(common["absorptance"]))
    f = glm.use_pvsyst(u_c=float(mounting["u_c"]), u_v=float(mounting["u_v"])).to_faiman()
    return {"u0": float(f["u0"]), "u1": float(f["u1"])}


def mounting_gcr(tilt_deg: float, latitude_deg: float, gcr_max: float = 1.0, *,
                 solar_window_h: tuple[float, float] = ROW_WINDOW_H) -> float:
    """Ground coverage ratio of fixed rows: winter-solstice row rule, capped at ``gcr_max``.

    Parameters
    ----------
    tilt_deg : float
        Module tilt [°].
    latitude_deg : float
        Site latitude [°].
    gcr_max : float
        Upper bound [fraction] (e.g. agrivoltaic spacing).
    solar_window_h : (float, float)
        True solar times [h] between which no row shades the next on the winter solstice
        (default 9-15 h, GB 50797-2012 §6.6; ``data/pv/sites.toml`` ``[common]``).

    Returns
    -------
    float
        Module area / array footprint [fraction] (:func:`engines.pv.facets.row_spacing`).
    """
    _, gcr = row_spacing(float(tilt_deg), latitude_deg, solar_window_h=solar_window_h)
    return float(min(gcr, gcr_max))


def row_window(common: Mapping[str, Any]) -> tuple[float, float]:
    """The row-spacing window [h of true solar time] of ``[common]`` (default :data:`ROW_WINDOW_H`)."""
    return (float(common.get("row_window_start_h", ROW_WINDOW_H[0])),
            float(common.get("row_window_end_h", ROW_WINDOW_H[1])))


def storage_for(capacity_mwp: npt.ArrayLike, ratio: float = 0.10, duration_h: float = 2.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Storage that a centralised PV capacity must carry (S-H1).

    Parameters
    ----------
    capacity_mwp : float or array-like
        DC capacity [MWp].
    ratio : float
        Storage power as a share of capacity [fraction] (S-H1: >= 0.10).
    duration_h : float
        Storage duration [h] (no seed gives one; default 2 h, an assumption).

    Returns
    -------
    power_mw, energy_mwh
        Storage power [MW] and energy [MWh].
    """
    power = np.asarray(capacity_mwp, dtype=float) * float(ratio)
    return power, power * float(duration_h)


# ----------------------------------------------------------------------------------------
# geometry checks
# ----------------------------------------------------------------------------------------

def check_polygons(gdf: gpd.GeoDataFrame, id_col: str, where: str, *, repair: bool = True
                   ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Check polygon geometries; repair invalid ones (reported) or raise.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygons in a projected CRS [m].
    id_col : str
        Identifier column used in messages and in the repair report.
    where : str
        Name of the layer, for messages.
    repair : bool
        Repair invalid (e.g. self-intersecting) polygons with ``shapely.make_valid``
        and report them; with ``False`` they raise.

    Returns
    -------
    gdf : geopandas.GeoDataFrame
        ``gdf`` itself, or a copy with repaired geometries.
    repairs : pandas.DataFrame
        One row per repaired feature: ``layer_name``, ``feature_id``, ``issue``
        (shapely's reason), ``area_before_m2``, ``area_m2`` (after).

    Raises
    ------
    SchemaError
        Not a GeoDataFrame, no or a geographic CRS, missing ``id_col``, null or empty
        geometries, non-polygon geometries, invalid ones with ``repair=False``, or ones
        that are empty after repair; the message names the features and the fix.
    """
    empty = pd.DataFrame({"layer_name": pd.Series(dtype="str"),
                          "feature_id": pd.Series(dtype="str"),
                          "issue": pd.Series(dtype="str"),
                          "area_before_m2": pd.Series(dtype="float64"),
                          "area_m2": pd.Series(dtype="float64")})
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{where}: expected a GeoDataFrame of polygons, got {type(gdf).__name__}"
        raise SchemaError(msg)
    if gdf.crs is None or not gdf.crs.is_projected:
        msg = (f"{where}: CRS is {gdf.crs!r}; areas need a projected CRS in metres, e.g. "
               "gdf.to_crs('EPSG:4549')")
        raise SchemaError(msg)
    require_columns(gdf, (id_col,), where, "give each feature an identifier")
    if gdf.empty:
        return gdf, empty
    geom = gdf.geometry.to_numpy()
    ids = gdf[id_col].astype(str).to_numpy()
    bad = shapely.is_missing(geom) | shapely.is_empty(geom)
    if bad.any():
        msg = (f"{where}: {bad.sum()} feature(s) have no geometry ({id_col} {listing(ids[bad], 5)}); "
               "drop them or supply their polygons")
        raise SchemaError(msg)
    types = shapely.get_type_id(geom)
    bad = ~np.isin(types, (3, 6))
    if bad.any():
        msg = (f"{where}: {bad.sum()} feature(s) are not polygons ({id_col} {listing(ids[bad], 5)}, "
               f"types {listing(sorted(set(shapely.get_type_id(geom[bad]).tolist())), 5)}; "
               "3 = Polygon, 6 = MultiPolygon); give polygon outlines")
        raise SchemaError(msg)
    invalid = ~shapely.is_valid(geom)
    if not invalid.any():
        return gdf, empty
    reasons = [shapely.is_valid_reason(g) for g in geom[invalid]]
    if not repair:
        msg = (f"{where}: {invalid.sum()} invalid polygon(s): "
               f"{listing([f'{i} ({r})' for i, r in zip(ids[invalid], reasons, strict=True)], 5)}; "
               "fix them (e.g. shapely.make_valid) or run with repair=True")
        raise SchemaError(msg)
    fixed = shapely.make_valid(geom[invalid], method="structure", keep_collapsed=False)
    fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
    lost = np.array([g is None or g.is_empty or g.area <= 0 for g in fixed])
    if lost.any():
        msg = (f"{where}: {lost.sum()} invalid polygon(s) have no area after repair "
               f"({id_col} {listing(ids[invalid][lost], 5)}); fix or drop them")
        raise SchemaError(msg)
    out = gdf.copy()
    newgeom = geom.copy()
    newgeom[invalid] = fixed
    out = out.set_geometry(gpd.GeoSeries(newgeom, index=gdf.index, crs=gdf.crs))
    repairs = pd.DataFrame({
        "layer_name": where, "feature_id": ids[invalid], "issue": reasons,
        "area_before_m2": shapely.area(geom[invalid]), "area_m2": shapely.area(fixed)})
    text = (f"{where}: repaired {invalid.sum()} invalid polygon(s) with shapely.make_valid: "
            f"{listing([f'{i} ({r})' for i, r in zip(ids[invalid], reasons, strict=True)], 5)}")
    logger.warning(text)
    warnings.warn(text, DataWarning, stacklevel=2)
    return out, repairs


def _polygonal(g: shapely.Geometry | None) -> shapely.Geometry | None:
    """The polygonal part of a geometry (None if it has none)."""
    if g is None or g.is_empty:
        return None
    tid = shapely.get_type_id(g)
    if tid in (3, 6):
        return g
    if tid == 7:
        parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
        return shapely.union_all(parts) if parts else None
    return None


# ----------------------------------------------------------------------------------------
# water screen
# ----------------------------------------------------------------------------------------

def _clusters(geoms: np.ndarray, distance: float) -> np.ndarray:
    """Connected components of polygons closer than ``distance`` [m] (label per polygon)."""
    n = len(geoms)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=distance)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _touching(geoms: np.ndarray, others: gpd.GeoDataFrame | None) -> np.ndarray:
    """True where a geometry intersects any geometry of ``others`` (a GeoDataFrame or None)."""
    hit = np.zeros(len(geoms), dtype=bool)
    if others is None or len(others) == 0 or len(geoms) == 0:
        return hit
    tree = shapely.STRtree(np.asarray(others.geometry.to_numpy(), dtype=object))
    idx, _ = tree.query(geoms, predicate="intersects")
    hit[idx] = True
    return hit


@overload
def align_crs(other: None, crs: Any, where: str) -> None: ...
@overload
def align_crs(other: gpd.GeoDataFrame, crs: Any, where: str) -> gpd.GeoDataFrame: ...


def align_crs(other: gpd.GeoDataFrame | None, crs: Any, where: str) -> gpd.GeoDataFrame | None:
    """``other`` (a GeoDataFrame or ``None``) in ``crs``; a layer without a CRS is a :class:`SchemaError`."""
    if other is None:
        return None
    if not isinstance(other, gpd.GeoDataFrame) or other.crs is None:
        msg = f"{where}: expected a GeoDataFrame with a CRS"
        raise SchemaError(msg)
    return other if other.crs == crs else other.to_crs(crs)


def screen_water(water: gpd.GeoDataFrame, *, latitude_deg: float, params: dict | None = None,
                 protected_areas: gpd.GeoDataFrame | None = None,
                 repair: bool = True) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Screen every water body for water-surface PV.

    Parameters
    ----------
    water : geopandas.GeoDataFrame
        The twin's ``water`` layer (projected CRS [m]) with ``water_id``,
        ``water_type``; optional ``is_protected``, ``is_drinking_source``, ``name``,
        ``district_adcode``, ``township_code``, ``is_synthetic``, ``source``.
    latitude_deg : float
        Latitude of the city [°] (row spacing).
    params : dict, optional
        From :func:`load_site_params` (default: the shipped file).
    protected_areas : geopandas.GeoDataFrame, optional
        Protected areas / ecological red lines; water bodies touching them are excluded.
    repair : bool
        Repair invalid polygons (reported) instead of raising.

    Returns
    -------
    screened : geopandas.GeoDataFrame
        One row per water body, on ``water.index``: its attributes plus ``area_m2``,
        ``pv_cluster_id``, ``cluster_area_m2``, ``site_exclusion_reason`` (``''`` for a
        site), ``site_category``, ``mounting``, ``edge_setback_m``, ``usable_area_m2``,
        ``array_coverage_ratio``, ``ground_coverage_ratio``, ``module_area_m2``,
        ``capacity_mwp``, ``capacity_density_mwp_per_km2``, ``surface_tilt``,
        ``surface_azimuth``, ``albedo`` (capacity fields 0 for excluded rows).
    repairs : pandas.DataFrame
        Repaired polygons (:func:`check_polygons`).

    Raises
    ------
    SchemaError
        Missing columns, bad CRS or geometries, unknown ``water_type`` values.
    """
    p = params if params is not None else load_site_params()
    wp, common = p["water"], p["common"]
    if isinstance(water, gpd.GeoDataFrame) and "water_type" not in water.columns:
        msg = "water layer: column 'water_type' is missing (twin.schema layer 'water')"
        raise SchemaError(msg)
    water, repairs = check_polygons(water, "water_id", "water", repair=repair)

    wtype = water["water_type"].astype(str).to_numpy()
    bad = ~np.isin(wtype, WATER_TYPES)
    if bad.any():
        msg = (f"water layer: water_type {listing(sorted(set(wtype[bad])), 5)} in {bad.sum()} row(s) "
               f"(water_id {listing(water['water_id'].astype(str).to_numpy()[bad], 5)}) is not one of "
               f"{list(WATER_TYPES)}; map it with layers.conform")
        raise SchemaError(msg)
    n = len(water)
    geom = np.asarray(water.geometry.to_numpy(), dtype=object)
    area = shapely.area(geom) if n else np.zeros(0)

    def flag(col: str) -> np.ndarray:
        if col not in water.columns:
            return np.zeros(n, dtype=bool)
        return water[col].fillna(False).astype(bool).to_numpy()

    protected = flag("is_protected") | _touching(geom, align_crs(protected_areas, water.crs,
                                                                   "protected_areas"))
    reason = np.full(n, "", dtype=object)

    def put(mask: np.ndarray, why: str) -> None:
        reason[(reason == "") & mask] = why

    put(protected, "protected_area")
    put(flag("is_drinking_source"), "drinking_water_source")
    for t, why in _TYPE_REASON.items():
        put(wtype == t, why)
    types = wp.get("types", {})
    put(~np.isin(wtype, list(types)), "type_not_screened")  # a candidate type switched off
    put((wtype == "reservoir") & (area > float(wp["max_reservoir_area_m2"])), "large_reservoir")
    # pond fields: clusters of candidate ponds / pit-ponds separated only by dykes
    cluster = np.arange(n)
    clustered = (reason == "") & np.isin(wtype, _CLUSTERED_TYPES)
    idx = np.flatnonzero(clustered)
    if len(idx):
        lab = _clusters(geom[idx], float(wp["cluster_distance_m"]))
        first = pd.Series(idx).groupby(lab).transform("min").to_numpy()
        cluster[idx] = first
    cl_area = pd.Series(area).groupby(cluster).transform("sum").to_numpy() if n else area
    ids = water["water_id"].astype(str).to_numpy()
    put(cl_area < float(wp["min_area_m2"]), "too_small")

    # usable area: shoreline setback per type
    setback = np.zeros(n)
    cover = np.zeros(n)
    mounting = np.full(n, "", dtype=object)
    for t, tp in types.items():
        m = wtype == t
        setback[m] = float(tp["shoreline_setback_m"])
        cover[m] = float(tp["array_coverage_ratio"])
        mounting[m] = tp["mounting"]
    keep = reason == ""
    usable = np.zeros(n)
    if keep.any():
        shrunk = shapely.buffer(geom[keep], -setback[keep], join_style="mitre")
        usable[keep] = shapely.area(shrunk)
    put(keep & (usable <= 0.0), "no_usable_area")
    keep = reason == ""
    usable[~keep] = 0.0

    tilt = np.zeros(n)
    gcr = np.zeros(n)
    alb = np.zeros(n)
    for mname in set(mounting[keep]):
        m = mounting == mname
        mp = p["mountings"][mname]
        tilt[m] = float(mp["tilt_deg"])
        gcr[m] = mounting_gcr(mp["tilt_deg"], latitude_deg, solar_window_h=row_window(common))
        alb[m] = float(wp["water_albedo"])
    dens = float(common["module_power_density_kw_per_m2"])
    density = np.where(keep, cover * gcr * dens * 1000.0, 0.0)  # kW/m² -> MW/km²
    out = water.copy()
    out["area_m2"] = area
    out["pv_cluster_id"] = ids[cluster]
    out["cluster_area_m2"] = cl_area
    out["site_exclusion_reason"] = reason.astype(str)
    out["site_category"] = np.where(keep, wtype, "")
    out["mounting"] = np.where(keep, mounting, "").astype(str)
    out["edge_setback_m"] = np.where(keep, setback, 0.0)
    out["usable_area_m2"] = usable
    out["array_coverage_ratio"] = np.where(keep, cover, 0.0)
    out["ground_coverage_ratio"] = np.where(keep, gcr, 0.0)
    out["module_area_m2"] = usable * out["array_coverage_ratio"].to_numpy() * gcr
    out["capacity_mwp"] = usable * density / 1e6
    out["capacity_density_mwp_per_km2"] = density
    out["surface_tilt"] = tilt
    out["surface_azimuth"] = np.where(keep, float(common["azimuth_deg"]), 0.0)
    out["albedo"] = alb
    if "is_synthetic" not in out:
        out["is_synthetic"] = False
    logger.info("water PV: %d of %d water bodies are sites, %.1f MWp", keep.sum(), n,
                out["capacity_mwp"].sum())
    return out, repairs


# ----------------------------------------------------------------------------------------
# yield and totals (shared with engines.pv.ground)
# ----------------------------------------------------------------------------------------

def site_yield(sites: pd.DataFrame, weather: pd.DataFrame, location: pvlib.location.Location,
               params: dict | None = None, **model: Any) -> pd.DataFrame:
    """Annual energy of PV sites from the rooftop yield engine, one facet per class.

    Sites sharing ``mounting``, ``surface_tilt``, ``surface_azimuth`` and ``albedo``
    have the same specific yield (the engine is linear in ``pdc0_kw``), so one facet of
    1 kWp per class is simulated with the mounting's Faiman parameters and scaled by
    each site's capacity: exact, and the cost does not grow with the number of sites.

    Parameters
    ----------
    sites : pandas.DataFrame
        ``mounting``, ``surface_tilt`` [°], ``surface_azimuth`` [°], ``albedo`` [-],
        ``capacity_mwp`` [MWp] (rows with capacity 0 get 0 energy).
    weather, location
        As for :func:`~engines.pv.yield_.simulate_facets`.
    params : dict, optional
        From :func:`load_site_params` (mounting temperature parameters).
    **model
        Other options of :func:`~engines.pv.yield_.simulate_facets` (not the
        temperature model, which is set per mounting, nor ``albedo``).

    Returns
    -------
    pandas.DataFrame
        On ``sites.index``: ``specific_yield_kwh_per_kwp`` [kWh/kWp] and
        ``pv_energy_mwh_per_yr`` [MWh/yr] (AC).
    """
    p = params if params is not None else load_site_params()
    clash = sorted(set(model) & {"temperature_model", "temperature_model_parameters", "albedo",
                                 "monthly"})
    if clash:
        msg = (f"site_yield: option(s) {clash} are set per mounting in data/pv/sites.toml "
               "([mountings.*] u_c, u_v, albedo); change them there or via params")
        raise ConfigError(msg)
    out = pd.DataFrame(index=sites.index)
    out["specific_yield_kwh_per_kwp"] = 0.0
    out["pv_energy_mwh_per_yr"] = 0.0
    cap = sites["capacity_mwp"].to_numpy(dtype=float) if len(sites) else np.zeros(0)
    live = cap > 0
    if not live.any():
        return out
    keys = ["mounting", "surface_tilt", "surface_azimuth", "albedo"]
    live_sites = sites.loc[live, keys]
    wx = weather.drop(columns=["albedo"], errors="ignore")  # the facet albedo governs
    spec = np.zeros(len(sites))
    for mname, grp in live_sites.groupby("mounting", sort=True):
        if mname not in p["mountings"]:
            msg = f"site_yield: mounting {mname!r} has no [mountings.{mname}] parameters"
            raise ConfigError(msg)
        classes = grp[keys[1:]].drop_duplicates().reset_index(drop=True)
        facets = classes.assign(pdc0_kw=1.0)
        res = simulate_facets(facets, wx, location, temperature_model="faiman",
                              temperature_model_parameters=faiman_parameters(
                                  p["mountings"][mname], p["common"]), **model)
        classes["_spec"] = res["specific_yield_kwh_per_kwp"].to_numpy()
        merged = grp.reset_index(drop=True).merge(classes, on=keys[1:], how="left")
        spec[np.flatnonzero(live)[np.flatnonzero(live_sites["mounting"].to_numpy() == mname)]] = \
            merged["_spec"].to_numpy()
        logger.debug("site yield: %s, %d class(es) for %d site(s)", mname, len(classes), len(grp))
    out["specific_yield_kwh_per_kwp"] = spec
    out["pv_energy_mwh_per_yr"] = cap * spec  # MWp x kWh/kWp = MWh
    return out


_SUM_COLS = ("usable_area_m2", "capacity_mwp", "pv_energy_mwh_per_yr", "storage_power_mw",
             "storage_energy_mwh")


def district_totals(sites: pd.DataFrame, *, by: str = "district_adcode",
                    storage: dict | None = None) -> pd.DataFrame:
    """Sum sites per district and site category, with the storage they must carry.

    Parameters
    ----------
    sites : pandas.DataFrame
        Sites with ``by``, ``site_category``, ``usable_area_m2``, ``capacity_mwp``,
        ``pv_energy_mwh_per_yr``.
    by : str
        Grouping column (``''`` values are grouped as such).
    storage : dict, optional
        ``ratio`` and ``duration_h`` (default: the shipped ``[storage]``).

    Returns
    -------
    pandas.DataFrame
        One row per (``by``, ``site_category``) and one per ``by`` with
        ``site_category = 'all'``: ``sites_count``, ``usable_area_m2``,
        ``capacity_mwp``, ``pv_energy_mwh_per_yr``, ``specific_yield_kwh_per_kwp``
        (capacity-weighted), ``storage_power_mw``, ``storage_energy_mwh``. The ``'all'``
        rows equal the sums of the category rows, which equal the sums of the sites.
    """
    st = storage if storage is not None else load_site_params()["storage"]
    df = pd.DataFrame({
        by: pd.Series(sites[by].fillna("").astype(str).to_numpy(), dtype="str"),
        "site_category": pd.Series(sites["site_category"].astype(str).to_numpy(), dtype="str"),
        "sites_count": np.ones(len(sites), dtype="int64"),
        **{c: np.asarray(sites[c], dtype="float64")
           for c in ("usable_area_m2", "capacity_mwp", "pv_energy_mwh_per_yr")},
    })
    df["storage_power_mw"], df["storage_energy_mwh"] = storage_for(
        df["capacity_mwp"].to_numpy(), st["ratio"], st["duration_h"])
    cols = ["sites_count", *_SUM_COLS]
    per_cat = df.groupby([by, "site_category"], sort=True)[cols].sum().reset_index()
    per_all = df.groupby(by, sort=True)[cols].sum().reset_index().assign(site_category="all")
    out = pd.concat([per_cat, per_all[per_cat.columns]], ignore_index=True)
    out = out.sort_values([by, "site_category"], kind="stable").reset_index(drop=True)
    cap = out["capacity_mwp"].to_numpy()
    out["specific_yield_kwh_per_kwp"] = np.divide(out["pv_energy_mwh_per_yr"].to_numpy(), cap,
                                                  out=np.zeros(len(out)), where=cap > 0)
    out["sites_count"] = out["sites_count"].astype("int64")
    return out
