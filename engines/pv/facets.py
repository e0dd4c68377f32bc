"""Roof facets from CIM building blocks: geometry, installable area and capacity.

One row per roof facet (plane) of every building: its tilt and azimuth, true
sloped area, the area left for modules after edge setbacks and rooftop
equipment, the module area and the DC nameplate it can hold. The yield engine
(:func:`engines.pv.yield_.simulate_facets`) consumes this frame.

Roof forms (``roof_type`` of the buildings layer, :data:`twin.schema.ROOF_TYPES`):

* ``flat`` (and ``unknown``, modelled as flat and flagged ``roof_type_defaulted``):
  one facet; modules tilted at ``flat_tilt_deg`` towards ``flat_azimuth_deg`` in
  rows spaced so that the winter-solstice sun clears the row in front from 9:00 to
  15:00 true solar time (GB 50797-2012 §6.6, :func:`row_spacing`).
* ``gable``: two facets sloping away from a ridge along the long axis of the
  footprint's minimum rotated rectangle.
* ``hip``: four facets of equal pitch: two trapezoids along the ridge and two
  triangular hip ends.

Pitched facets are flush-mounted (ground coverage ratio 1.0).

Defaults and their sources
--------------------------
================================  ==========  ============================================
parameter                         default     source / reasoning
================================  ==========  ============================================
``flat_tilt_deg``                 20 °        Annual-optimum tilt at Hangzhou (30.23 °N) on the
                                              shipped CSWD EPW is 22 ° (isotropic sky) to
                                              26 ° (Perez), computed with pvlib 0.16; 20 °
                                              keeps 99.7 % of the optimum plane-of-array
                                              irradiation [3]_ while allowing denser rows.
``flat_azimuth_deg``              180 °       Due south.
``flat_setback_m``                1.0 m       Fire-service access at the roof edge. The
                                              IFC 2018 §1204.3.1 asks for a 6 ft (1.83 m)
                                              clear perimeter, 4 ft (1.22 m) when both
                                              axes are <= 250 ft [1]_; Chinese practice has
                                              no national figure (assumption; set 1.22 for
                                              the IFC reading).
``obstacle_fraction``             0.15        Share of the set-back flat roof taken by
                                              HVAC plant, stair and lift overruns, skylights
                                              (assumption, screening-level; calibrate on
                                              imagery).
``roof_pitch_deg``                25 °        Typical pitch of Zhejiang tiled pitched roofs
                                              (assumption; LOD2 data should supply it).
``pitched_setback_m``             0.5 m       IFC 2018 §1204.2.1.2 / IRC R324.6.2: 18 in
                                              (0.46 m) clear each side of a ridge [1]_;
                                              applied to every facet edge (simplification).
``exclude_azimuth_range``         (315, 45)   Gagnon et al. exclude north-facing planes [2]_.
``min_installable_area_m2``       10 m²       Gagnon et al.: >= 10 m² contiguous [2]_.
``module_power_density_kw_per_m2``  0.20      ~400-420 W modules of ~1.95 m² (e.g. 54-cell
                                              182 mm mono modules of 1722 × 1134 mm are
                                              400-420 W = 0.205-0.215 kW/m², datasheet
                                              class); Gagnon et al. used 0.16 kW/m² for 2015
                                              modules [2]_.
``default_height_m``              10 m        About three storeys, used when height_m is NaN
                                              and floors are unknown (flagged).
``storey_height_m``               3.0 m       Height per storey when floors are known
                                              (GB 50096-2011 §5.5.1 recommends 2.8 m for
                                              dwellings; 3 m covers mixed stock).
================================  ==========  ============================================

Heights: for gable and hip roofs ``height_m`` of the building is the top of the
roof (ridge, per :mod:`twin.schema`); eaves sit ``tan(pitch) · W/2`` lower. Each
facet's ``height_m`` is the height of its plan centroid on the roof plane.

For footprints that are not rectangles, pitched facets are laid out on the
minimum rotated rectangle and their areas scaled by ``footprint area / rectangle
area``; ``x_m``/``y_m`` are the centroids of the rectangle's facets.

References
----------
.. [1] International Code Council (2018). International Fire Code, §1204 Solar
   photovoltaic power systems; International Residential Code R324.6.
.. [2] Gagnon, P., Margolis, R., Melius, J., Phillips, C., Elmore, R. (2016).
   Rooftop Solar Photovoltaic Technical Potential in the United States: A Detailed
   Assessment. NREL/TP-6A20-65298. https://doi.org/10.2172/1236153
.. [3] Holmgren, W. F., Hansen, C. W., Mikofski, M. A. (2018). pvlib python: a
   python package for modeling solar energy systems. JOSS 3(29), 884.
   https://doi.org/10.21105/joss.00884
.. [4] Masters, G. M. (2013). Renewable and Efficient Electric Power Systems,
   2nd ed., Wiley, §7.5 (winter-solstice row spacing).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np
import pandas as pd
import shapely

from twin.errors import ConfigError, SchemaError, require_columns
from twin.schema import ROOF_TYPES

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "FACET_COLUMNS",
    "OBLIQUITY_DEG",
    "ROW_WINDOW_H",
    "roof_facets",
    "row_spacing",
]

logger = logging.getLogger(__name__)

#: Obliquity of the ecliptic: the sun's declination at the winter solstice is -23.44 °.
OBLIQUITY_DEG = 23.44

#: Columns of the frame returned by :func:`roof_facets`, in order.
FACET_COLUMNS = (
    "facet_id",
    "building_id",
    "roof_type",
    "surface_tilt",
    "surface_azimuth",
    "roof_area_m2",
    "installable_area_m2",
    "ground_coverage_ratio",
    "module_area_m2",
    "pdc0_kw",
    "height_m",
    "x_m",
    "y_m",
    "height_defaulted",
    "roof_type_defaulted",
    "exclusion_reason",
)

_EMPTY_DTYPES = {
    "facet_id": "str", "building_id": "str", "roof_type": "str", "surface_tilt": "float64",
    "surface_azimuth": "float64", "roof_area_m2": "float64", "installable_area_m2": "float64",
    "ground_coverage_ratio": "float64", "module_area_m2": "float64", "pdc0_kw": "float64",
    "height_m": "float64", "x_m": "float64", "y_m": "float64", "height_defaulted": "bool",
    "roof_type_defaulted": "bool", "exclusion_reason": "str",
}


#: Solar-time window of the winter-solstice row-spacing rule [h]: GB 50797-2012 (Code for
#: design of photovoltaic power station) §6.6: rows must not shade each other from 9:00 to
#: 15:00 true solar time on the winter solstice (data/pv/roof_layout.toml).
ROW_WINDOW_H = (9.0, 15.0)


@overload
def row_spacing(tilt_deg: float, latitude_deg: float, row_depth_m: float = 1.0, *,
                solar_window_h: tuple[float, float] = ROW_WINDOW_H,
                azimuth_deg: float = 180.0) -> tuple[float, float]: ...
@overload
def row_spacing(tilt_deg: float | Sequence[float] | np.ndarray, latitude_deg: float, row_depth_m: float = 1.0,
                *, solar_window_h: tuple[float, float] = ROW_WINDOW_H, azimuth_deg: float = 180.0
                ) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]: ...


def row_spacing(tilt_deg: float | Sequence[float] | np.ndarray, latitude_deg: float, row_depth_m: float = 1.0,
                *, solar_window_h: tuple[float, float] = ROW_WINDOW_H, azimuth_deg: float = 180.0
                ) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    r"""Row pitch and ground coverage ratio that keep the rows unshaded through a winter-solstice window.

    Rows of depth ``L`` (module slant length) tilted at ``β`` and facing azimuth ``A``
    cast a shadow whose length perpendicular to the rows is
    ``L·sin(β)·cos(γ_s − A)/tan(α)`` for the sun at altitude ``α`` and azimuth ``γ_s``.
    With the winter-solstice sun (declination ``∓23.44°``) over every true solar time
    of ``solar_window_h`` the pitch is

    .. math:: p = L\cos\beta + L\sin\beta \max_t \frac{\cos(\gamma_s(t) - A)}{\tan\alpha(t)}

    and the ground coverage ratio ``GCR = L / p`` (independent of ``L``) [4]_. The
    default window 9:00-15:00 is the rule of GB 50797-2012 §6.6 (no mutual shading
    9:00-15:00 true solar time on the winter solstice); ``(12, 12)`` is the
    noon-only rule (``α_ws = 90° − |φ| − 23.44°``, Masters 2013 §7.5). At 30.2 °N and a
    20 ° tilt: GCR 0.635 (9-15 h) against 0.712 (noon).

    Parameters
    ----------
    tilt_deg : float or array_like
        Module tilt from horizontal [°], 0 to 90.
    latitude_deg : float
        Site latitude [°] (the hemisphere picks the winter solstice).
    row_depth_m : float, default 1.0
        Module slant length per row ``L`` [m].
    solar_window_h : tuple of float, default (9.0, 15.0)
        Start and end of the unshaded window [h, true solar time], ``0 <= start <= 12 <= end <= 24``.
    azimuth_deg : float, default 180.0
        Azimuth the rows face [°, clockwise from north].

    Returns
    -------
    pitch_m : float or ndarray
        Row pitch, front edge to front edge [m].
    gcr : float or ndarray
        Ground coverage ratio ``L / pitch`` [fraction].

    Raises
    ------
    ConfigError
        If the sun is not up through the whole window on the winter solstice, the
        window is not around noon, or the tilt is outside 0 to 90 °.

    References
    ----------
    .. [4] Masters, G. M. (2013). Renewable and Efficient Electric Power Systems,
       2nd ed., Wiley, §7.5; GB 50797-2012 光伏发电站设计规范 (Code for design of
       photovoltaic power station), §6.6.
    """
    t0, t1 = (float(v) for v in solar_window_h)
    if not (0.0 <= t0 <= 12.0 <= t1 <= 24.0):
        msg = f"row_spacing: solar_window_h {solar_window_h} must satisfy 0 <= start <= 12 <= end <= 24 [h]"
        raise ConfigError(msg)
    phi = math.radians(float(latitude_deg))
    dec = math.radians(-OBLIQUITY_DEG if latitude_deg >= 0 else OBLIQUITY_DEG)
    omega = np.radians(15.0 * (np.unique(np.concatenate([np.linspace(t0, t1, 121), [t0, 12.0, t1]])) - 12.0))
    up = math.sin(phi) * math.sin(dec) + math.cos(phi) * math.cos(dec) * np.cos(omega)
    if np.any(up <= 0.0):
        msg = (f"row_spacing: at latitude {latitude_deg} ° the winter-solstice sun is not up through "
               f"{t0:g}-{t1:g} h solar time; narrow the window or give a latitude within ±66.5 °")
        raise ConfigError(msg)
    east = -math.cos(dec) * np.sin(omega)
    north = math.cos(phi) * math.sin(dec) - math.sin(phi) * math.cos(dec) * np.cos(omega)
    a = math.radians(float(azimuth_deg))
    reach = float(np.max(np.maximum(east * math.sin(a) + north * math.cos(a), 0.0) / up))  # cos(γ−A)/tan α
    beta = np.radians(np.asarray(tilt_deg, dtype="float64"))
    if np.any((beta < 0) | (beta > np.pi / 2)):
        msg = f"row_spacing: tilt_deg {tilt_deg} is outside 0 to 90 °"
        raise ConfigError(msg)
    pitch = row_depth_m * (np.cos(beta) + np.sin(beta) * reach)
    gcr = row_depth_m / pitch
    if np.ndim(pitch) == 0:
        return float(pitch), float(gcr)
    return pitch, gcr


def check_buildings(buildings: gpd.GeoDataFrame, where: str,
                    required: Iterable[str] = ("building_id", "height_m")) -> None:
    """Raise :class:`SchemaError` unless ``buildings`` suit roof and shading work (CRS, columns, values)."""
    if not hasattr(buildings, "geometry") or not hasattr(buildings, "crs"):
        msg = f"{where}: expected a GeoDataFrame of buildings (twin.schema layer 'buildings')"
        raise SchemaError(msg)
    crs = buildings.crs
    if crs is None:
        msg = (f"{where}: the buildings have no CRS; set it (e.g. .set_crs(4549)) and work in a "
               "projected CRS such as EPSG:4549")
        raise SchemaError(msg)
    if not crs.is_projected:
        msg = (f"{where}: the buildings are in the geographic CRS {crs.to_string()}; areas and "
               "distances need metres: reproject first, e.g. buildings.to_crs(4549)")
        raise SchemaError(msg)
    require_columns(buildings, required, f"{where} (buildings)",
                    "the buildings layer (twin.schema.LAYERS['buildings']) requires them")
    ids = buildings["building_id"]
    dup = ids[ids.duplicated()]
    if len(dup):
        msg = (f"{where}: building_id is not unique; duplicated ids (first 5): "
               f"{dup.astype(str).unique()[:5].tolist()}")
        raise SchemaError(msg)
    geom = buildings.geometry.values
    bad = shapely.is_missing(geom) | shapely.is_empty(geom)
    bad |= ~np.isin(shapely.get_type_id(geom), (3, 6))  # Polygon, MultiPolygon
    if bad.any():
        msg = (f"{where}: {int(bad.sum())} building(s) have a missing, empty or non-polygon "
               f"geometry, e.g. building_id {ids[bad].astype(str).tolist()[:5]}; drop or repair "
               "them first")
        raise SchemaError(msg)
    h = buildings["height_m"].to_numpy(dtype="float64", na_value=np.nan)
    neg = h < 0
    if neg.any():
        msg = (f"{where}: height_m is negative for building_id "
               f"{ids[neg].astype(str).tolist()[:5]}; heights are metres above ground")
        raise SchemaError(msg)


def building_heights(buildings: pd.DataFrame, default_height_m: float, storey_height_m: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Return (heights [m], defaulted flag): NaN heights from floors × storey or the default.

    A building is flagged when its height is filled here, or when the layer already
    says its height is a default (``height_defaulted``, set by the OpenStreetMap and
    open-dataset imports when neither a height nor a storey count was given).
    """
    h = buildings["height_m"].to_numpy(dtype="float64", na_value=np.nan).copy()
    missing = np.isnan(h)
    defaulted = missing.copy()
    if "height_defaulted" in buildings.columns:
        flagged = buildings["height_defaulted"].astype("boolean").fillna(False)
        defaulted |= flagged.to_numpy(dtype=bool)
    if missing.any():
        fill = np.full(len(h), float(default_height_m))
        if "floors" in buildings.columns:
            floors = pd.to_numeric(buildings["floors"], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan)
            ok = np.isfinite(floors) & (floors > 0)
            fill[ok] = floors[ok] * storey_height_m
        h[missing] = fill[missing]
        logger.info("%d building(s) without height_m: heights defaulted (flagged "
                    "height_defaulted)", int(missing.sum()))
    return h, defaulted


def _layer_latitude(buildings: gpd.GeoDataFrame) -> float:
    """Latitude [°] of the centre of the layer's bounds."""
    from pyproj import Transformer

    minx, miny, maxx, maxy = buildings.total_bounds
    tr = Transformer.from_crs(buildings.crs, "EPSG:4326", always_xy=True)
    _, lat = tr.transform((minx + maxx) / 2, (miny + maxy) / 2)
    return float(lat)


def _azimuth_deg(vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Azimuth of a plan vector, clockwise from north, in [0, 360) [°]."""
    az = np.round(np.degrees(np.arctan2(vx, vy)), 9) % 360.0
    return np.where(az >= 360.0, 0.0, az)


def _azimuth_excluded(az: np.ndarray, rng: tuple[float, float] | None) -> np.ndarray:
    if rng is None:
        return np.zeros(len(az), dtype=bool)
    lo, hi = (float(v) % 360.0 for v in rng)
    if lo > hi:  # wraps through north
        return (az >= lo) | (az <= hi)
    return (az >= lo) & (az <= hi)


def _flat_facets(gdf: gpd.GeoDataFrame, heights: np.ndarray, hdef: np.ndarray, rtdef: np.ndarray, lat: float,
                 p: dict[str, float]) -> pd.DataFrame:
    geom = gdf.geometry.values
    roof = shapely.area(geom)
    inner = shapely.buffer(geom, -p["flat_setback_m"], join_style="mitre")
    installable = shapely.area(inner) * (1.0 - p["obstacle_fraction"])
    window = (p["row_window_start_h"], p["row_window_end_h"])
    _, gcr = row_spacing(p["flat_tilt_deg"], lat, solar_window_h=window, azimuth_deg=p["flat_azimuth_deg"])
    cen = shapely.centroid(geom)
    n = len(gdf)
    return pd.DataFrame({
        "building_id": gdf["building_id"].astype("str").to_numpy(),
        "k": np.zeros(n, dtype="int64"),
        "roof_type": np.full(n, "flat", dtype=object),
        "surface_tilt": np.full(n, float(p["flat_tilt_deg"])),
        "surface_azimuth": np.full(n, float(p["flat_azimuth_deg"]) % 360.0),
        "roof_area_m2": roof,
        "installable_area_m2": installable,
        "ground_coverage_ratio": np.full(n, gcr),
        "height_m": heights,
        "x_m": shapely.get_x(cen),
        "y_m": shapely.get_y(cen),
        "height_defaulted": hdef,
        "roof_type_defaulted": rtdef,
    })


def _rectangles(geom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centre, unit long axis u, unit short axis v, long side L and short side W [m].

    Facet k of a gable roof: 0 on the side of ``v`` (southern), 1 opposite; of a hip
    roof: 0 and 1 the trapezoids on the ``v``/``-v`` sides, 2 and 3 the hip ends on the
    ``u`` (eastern) and ``-u`` sides.
    """
    rect = shapely.minimum_rotated_rectangle(geom)
    xy = shapely.get_coordinates(rect).reshape(len(geom), -1, 2)[:, :4, :]
    e1 = xy[:, 1] - xy[:, 0]
    e2 = xy[:, 2] - xy[:, 1]
    l1 = np.hypot(e1[:, 0], e1[:, 1])
    l2 = np.hypot(e2[:, 0], e2[:, 1])
    first_long = l1 >= l2
    long_vec = np.where(first_long[:, None], e1, e2)
    short_vec = np.where(first_long[:, None], e2, e1)
    big = np.maximum(l1, l2)
    small = np.minimum(l1, l2)
    u = long_vec / big[:, None]
    v = short_vec / small[:, None]
    # deterministic facet numbering: v points to the southern half-plane (ties: east),
    # u points to the eastern half-plane (ties: north)
    flip_v = (v[:, 1] > 1e-12) | ((np.abs(v[:, 1]) <= 1e-12) & (v[:, 0] < 0))
    v = np.where(flip_v[:, None], -v, v)
    flip_u = (u[:, 0] < -1e-12) | ((np.abs(u[:, 0]) <= 1e-12) & (u[:, 1] < 0))
    u = np.where(flip_u[:, None], -u, u)
    centre = xy.mean(axis=1)
    return centre, u, v, big, small


#: Hip ridges shorter than this share of the setback are set back by GEOS (see _pitched_facets).
_SHORT_RIDGE_FRACTION = 0.1


def _inset_trapezoid_area(eave_m: np.ndarray, ridge_m: np.ndarray, depth_m: np.ndarray,
                          setback_m: float) -> np.ndarray:
    """Area [m²] of a pitched facet shrunk by ``setback_m`` on every edge (numpy, no GEOS).

    The facet, in its own sloped frame, is a symmetric trapezoid: eave ``eave_m`` at
    ``y = 0``, ridge ``ridge_m`` (0: a triangular hip end; ``eave_m``: a gable rectangle)
    at ``y = depth_m``, each slanted side running ``(eave - ridge) / 2`` along the eave
    over ``depth_m`` up the slope. The set-back facet is the intersection of the four
    half-planes moved inwards by ``setback_m``: what ``shapely.buffer(facet, -setback_m,
    join_style="mitre")`` gives for a convex polygon (equal within float rounding). Its
    width at height ``y`` is ``eave - 2 y run/depth - 2 setback / sin θ`` (``θ`` the angle
    of the slanted sides to the eave), for ``y`` from ``setback`` to the lower of
    ``depth - setback`` (below the ridge; a zero-length ridge bounds nothing) and the
    height where the width reaches 0.
    """
    run = (eave_m - ridge_m) / 2.0  # along the eave, per slanted side
    slope = np.divide(run, depth_m, out=np.zeros_like(run), where=depth_m > 0)  # = cos(pitch) or 0
    # inward shift of a slanted side along the eave: setback / sin(theta), cot(theta) = slope
    shift = setback_m * np.sqrt(1.0 + slope * slope)
    w0 = eave_m - 2.0 * shift  # width of the set-back facet at y = 0 (before the eave cut)
    top = depth_m - setback_m
    with np.errstate(divide="ignore", invalid="ignore"):
        y_zero = np.where(slope > 0, w0 / (2.0 * slope), np.inf)
    y1 = np.where(ridge_m > 0, np.minimum(top, y_zero), y_zero)
    y1 = np.where(slope > 0, y1, top)
    h = y1 - setback_m
    w_lo = w0 - 2.0 * slope * setback_m
    w_hi = w0 - 2.0 * slope * y1
    area = h * (w_lo + w_hi) / 2.0
    return np.where((h > 0) & (w_lo > 0), area, 0.0)


def _pitched_facets(gdf: gpd.GeoDataFrame, heights: np.ndarray, hdef: np.ndarray, kind: str,
                    p: dict[str, float]) -> pd.DataFrame:
    """Gable (2 facets) or hip (4 facets) roofs, vectorised over buildings."""
    geom = gdf.geometry.values
    n = len(gdf)
    centre, u, v, L, W = _rectangles(geom)
    beta = math.radians(p["roof_pitch_deg"])
    cosb, tanb = math.cos(beta), math.tan(beta)
    scale = shapely.area(geom) / (L * W)
    ridge_h = heights
    eave_h = np.maximum(ridge_h - tanb * W / 2.0, 0.0)
    d = W / (2.0 * cosb)  # sloped depth eave -> ridge
    z = np.zeros(n)

    s = float(p["pitched_setback_m"])
    if kind == "gable":
        plan = [L * W / 2.0, L * W / 2.0]
        # each facet is an L x d rectangle on the slope
        inset = [_inset_trapezoid_area(L, L, d, s)] * 2
        dist_from_eave = [W / 4.0, W / 4.0]
        offsets = [v * (W / 4.0)[:, None], -v * (W / 4.0)[:, None]]
        normals = [v, -v]
    else:  # hip, equal pitches: ridge length L - W
        h = W / 2.0
        a, b = L, L - W
        t_dist = h * (a + 2 * b) / (3 * (a + b))  # trapezoid centroid from its eave
        plan_t = (2 * L - W) * W / 4.0
        plan_e = W * W / 4.0
        plan = [plan_t, plan_t, plan_e, plan_e]
        # trapezoids (eave L, ridge L - W) and triangular ends (eave W), sloped height d
        trap = _inset_trapezoid_area(L, L - W, d, s)
        # GEOS simplifies a ridge much shorter than the setback away before buffering:
        # below _SHORT_RIDGE_FRACTION of it, keep GEOS's figure so results do not move
        ridge = L - W
        short = ridge < _SHORT_RIDGE_FRACTION * s
        if short.any():
            zs = z[short]
            ring = np.stack([np.stack([zs, zs], 1), np.stack([L[short], zs], 1),
                             np.stack([L[short] - W[short] / 2, d[short]], 1),
                             np.stack([W[short] / 2, d[short]], 1)], axis=1)
            trap[short] = shapely.area(shapely.buffer(shapely.polygons(ring), -s, join_style="mitre"))
        tri = _inset_trapezoid_area(W, z, d, s)
        inset = [trap, trap, tri, tri]
        dist_from_eave = [t_dist, t_dist, W / 6.0, W / 6.0]
        offsets = [v * (W / 2 - t_dist)[:, None], -v * (W / 2 - t_dist)[:, None],
                   u * (L / 2 - W / 6.0)[:, None], -u * (L / 2 - W / 6.0)[:, None]]
        normals = [v, -v, u, -u]

    ids = gdf["building_id"].astype("str").to_numpy()
    frames = []
    for k, (pa, ins, de, off, nv) in enumerate(zip(plan, inset, dist_from_eave, offsets,
                                                    normals, strict=True)):
        inst = ins * scale * (1.0 - p["obstacle_fraction_pitched"])
        xy = centre + off
        frames.append(pd.DataFrame({
            "building_id": ids,
            "k": np.full(n, k, dtype="int64"),
            "roof_type": np.full(n, kind, dtype=object),
            "surface_tilt": np.full(n, float(p["roof_pitch_deg"])),
            "surface_azimuth": _azimuth_deg(nv[:, 0], nv[:, 1]),
            "roof_area_m2": pa * scale / cosb,
            "installable_area_m2": inst,
            "ground_coverage_ratio": np.ones(n),
            "height_m": eave_h + tanb * de,
            "x_m": xy[:, 0],
            "y_m": xy[:, 1],
            "height_defaulted": hdef,
            "roof_type_defaulted": np.zeros(n, dtype=bool),
        }))
    return pd.concat(frames, ignore_index=True)


def roof_facets(
    buildings: gpd.GeoDataFrame,
    *,
    latitude_deg: float | None = None,
    flat_tilt_deg: float = 20.0,
    flat_azimuth_deg: float = 180.0,
    flat_setback_m: float = 1.0,
    obstacle_fraction: float = 0.15,
    roof_pitch_deg: float = 25.0,
    pitched_setback_m: float = 0.5,
    obstacle_fraction_pitched: float = 0.0,
    row_window_h: tuple[float, float] = ROW_WINDOW_H,
    exclude_azimuth_range: tuple[float, float] | None = (315.0, 45.0),
    min_installable_area_m2: float = 10.0,
    module_power_density_kw_per_m2: float = 0.20,
    default_height_m: float = 10.0,
    storey_height_m: float = 3.0,
    keep_excluded: bool = False,
) -> pd.DataFrame:
    """Split every building's roof into PV facets with installable area and capacity.

    Pure function: no IO. Vectorised over buildings (numpy and shapely array
    functions, no per-building Python loop). See the module docstring for the
    defaults and their sources.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Buildings layer (:data:`twin.schema.LAYERS` ``'buildings'``) in a projected CRS
        (EPSG:4549 in the twin); columns ``building_id``, ``height_m`` [m] (NaN allowed:
        defaulted and flagged), optional ``roof_type`` (missing = ``'unknown'``) and
        ``floors`` [count], and polygon geometry.
    latitude_deg : float, optional
        Latitude for the flat-roof row spacing [°]; default: the centre of the layer's
        bounds.
    flat_tilt_deg : float, default 20.0
        Module tilt on flat roofs [°].
    flat_azimuth_deg : float, default 180.0
        Module azimuth on flat roofs [°, clockwise from north, 180 = south].
    flat_setback_m : float, default 1.0
        Clear edge strip of flat roofs [m].
    obstacle_fraction : float, default 0.15
        Share of the set-back flat roof lost to rooftop equipment [fraction].
    roof_pitch_deg : float, default 25.0
        Pitch of gable and hip roofs [°].
    pitched_setback_m : float, default 0.5
        Clear strip along every edge of a pitched facet, on the slope [m].
    obstacle_fraction_pitched : float, default 0.0
        Share of a set-back pitched facet lost to solar water heaters, chimneys,
        skylights [fraction] (the twin's default: ``data/pv/roof_layout.toml``).
    row_window_h : tuple of float, default (9.0, 15.0)
        Winter-solstice true-solar-time window with no row-to-row shading on flat
        roofs [h] (:func:`row_spacing`; GB 50797-2012 §6.6).
    exclude_azimuth_range : tuple of float or None, default (315.0, 45.0)
        Facets whose azimuth lies in ``[lo, hi]`` (wrapping through north when
        ``lo > hi``: ``[lo, 360) ∪ [0, hi]``) are excluded [°]; ``None`` keeps all.
        Flat-roof facets take the module azimuth and are never excluded by it.
    min_installable_area_m2 : float, default 10.0
        Facets with less installable area are excluded [m²].
    module_power_density_kw_per_m2 : float, default 0.20
        DC nameplate per module area [kW/m²].
    default_height_m : float, default 10.0
        Height for buildings with NaN ``height_m`` and no ``floors`` [m].
    storey_height_m : float, default 3.0
        Height per storey for buildings with NaN ``height_m`` and known ``floors`` [m].
    keep_excluded : bool, default False
        Keep excluded facets with zero installable area, module area and capacity and
        the reason in ``exclusion_reason`` (``'north_facing'`` or ``'too_small'``).

    Returns
    -------
    pandas.DataFrame
        One row per facet (:data:`FACET_COLUMNS`), in building order then facet
        number: ``facet_id`` (``f"{building_id}-f{k}"``), ``building_id``, ``roof_type``
        (the modelled form: ``flat``, ``gable`` or ``hip``), ``surface_tilt`` [°],
        ``surface_azimuth`` [°], ``roof_area_m2`` (sloped area), ``installable_area_m2``,
        ``ground_coverage_ratio`` [fraction], ``module_area_m2``, ``pdc0_kw`` [kW DC],
        ``height_m`` (facet centre above ground), ``x_m``/``y_m`` (facet centroid in the
        buildings' CRS), ``height_defaulted``, ``roof_type_defaulted`` (``unknown``
        modelled as flat) and ``exclusion_reason`` (``''`` when kept).

    Raises
    ------
    SchemaError
        Geographic or missing CRS, missing columns, duplicate ids, bad geometries,
        negative heights or unknown ``roof_type`` values.
    ConfigError
        Out-of-range parameters.

    References
    ----------
    .. [1] Gagnon, P. et al. (2016). Rooftop Solar Photovoltaic Technical Potential in
       the United States: A Detailed Assessment. NREL/TP-6A20-65298.
       https://doi.org/10.2172/1236153
    .. [2] International Code Council (2018). International Fire Code, §1204.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"building_id": ["b1"], "height_m": [6.0],
    ...                       "roof_type": ["gable"]},
    ...                      geometry=[box(0, 0, 20, 10)], crs=4549)
    >>> f = roof_facets(b, latitude_deg=30.25)
    >>> f[["facet_id", "surface_azimuth"]].values.tolist()
    [['b1-f0', 180.0]]
    """
    where = "roof_facets"
    check_buildings(buildings, where)
    params = {
        "flat_tilt_deg": flat_tilt_deg, "flat_azimuth_deg": flat_azimuth_deg,
        "flat_setback_m": flat_setback_m, "obstacle_fraction": obstacle_fraction,
        "roof_pitch_deg": roof_pitch_deg, "pitched_setback_m": pitched_setback_m,
        "obstacle_fraction_pitched": obstacle_fraction_pitched,
        "row_window_start_h": float(row_window_h[0]), "row_window_end_h": float(row_window_h[1]),
    }
    for name, lo, hi in [("flat_tilt_deg", 0, 90), ("roof_pitch_deg", 0, 89),
                         ("obstacle_fraction", 0, 1), ("obstacle_fraction_pitched", 0, 1),
                         ("flat_setback_m", 0, 1e3), ("pitched_setback_m", 0, 1e3)]:
        val = params[name]
        if not (lo <= float(val) <= hi):
            msg = f"{where}: {name}={val} is outside [{lo}, {hi}]"
            raise ConfigError(msg)
    if module_power_density_kw_per_m2 <= 0 or min_installable_area_m2 < 0:
        msg = (f"{where}: module_power_density_kw_per_m2 must be > 0 and "
               "min_installable_area_m2 >= 0")
        raise ConfigError(msg)

    if "roof_type" in buildings.columns:
        rt = buildings["roof_type"].astype("object").where(buildings["roof_type"].notna(),
                                                            "unknown").astype(str)
        rt = rt.to_numpy()
    else:
        rt = np.full(len(buildings), "unknown", dtype=object)
    bad = ~np.isin(rt, ROOF_TYPES)
    if bad.any():
        ids = buildings["building_id"].astype(str).to_numpy()[bad][:5].tolist()
        msg = (f"{where}: roof_type has values {sorted(set(rt[bad]))[:5]} outside "
               f"{ROOF_TYPES} (building_id {ids}); map them onto the schema's roof types")
        raise SchemaError(msg)

    if len(buildings) == 0:
        return pd.DataFrame({c: pd.Series(dtype=_EMPTY_DTYPES[c]) for c in FACET_COLUMNS})

    heights, hdef = building_heights(buildings, default_height_m, storey_height_m)
    is_flat = np.isin(rt, ("flat", "unknown"))
    lat = latitude_deg
    if lat is None and is_flat.any():
        lat = _layer_latitude(buildings)

    parts = []
    rows = []  # each facet's building position (building_id is unique), in the order of parts
    if is_flat.any():
        assert lat is not None  # set above when there are flat roofs
        sel = np.flatnonzero(is_flat)
        parts.append(_flat_facets(buildings.iloc[sel], heights[sel], hdef[sel],
                                  rt[sel] == "unknown", lat, params))
        rows.append(sel)
    for kind in ("gable", "hip"):
        sel = np.flatnonzero(rt == kind)
        if len(sel):
            part = _pitched_facets(buildings.iloc[sel], heights[sel], hdef[sel], kind, params)
            parts.append(part)
            rows.append(np.tile(sel, len(part) // len(sel)))  # facet k of every building, k = 0, 1, ...
    df = pd.concat(parts, ignore_index=True)

    # order: building order, then facet number
    order = np.lexsort((df["k"].to_numpy(), np.concatenate(rows)))
    df = df.take(order).reset_index(drop=True)

    reason = np.full(len(df), "", dtype=object)
    pitched = df["roof_type"].to_numpy() != "flat"
    north = pitched & _azimuth_excluded(df["surface_azimuth"].to_numpy(),
                                        exclude_azimuth_range)
    reason[north] = "north_facing"
    small = (reason == "") & (df["installable_area_m2"].to_numpy() < min_installable_area_m2)
    reason[small] = "too_small"
    df["installable_area_m2"] = np.clip(df["installable_area_m2"].to_numpy(), 0.0, None)
    excluded = reason != ""
    df.loc[excluded, "installable_area_m2"] = 0.0
    df["module_area_m2"] = df["installable_area_m2"] * df["ground_coverage_ratio"]
    df["pdc0_kw"] = df["module_area_m2"] * float(module_power_density_kw_per_m2)
    df["exclusion_reason"] = reason
    df["facet_id"] = df["building_id"] + "-f" + df["k"].astype(str)
    logger.info("roof_facets: %d buildings -> %d facets (%d north-facing, %d too small%s)",
                len(buildings), len(df), int(north.sum()), int(small.sum()),
                ", kept" if keep_excluded else ", dropped")
    if not keep_excluded:
        df = df.loc[~excluded].reset_index(drop=True)
    out = df[list(FACET_COLUMNS)]
    return out.astype({"facet_id": "str", "building_id": "str", "roof_type": "str",
                       "exclusion_reason": "str"})
