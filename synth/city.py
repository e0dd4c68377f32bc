"""The orchestrator of the generator: :func:`generate_city` runs the layer steps in order.

See :mod:`synth` for the method. Each step is a function of its own module
(:mod:`synth.water`, :mod:`synth.settlements`, :mod:`synth.townships`,
:mod:`synth.green`, :mod:`synth.roads`, :mod:`synth.buildings`,
:mod:`synth.points`, :mod:`synth.landcover`) taking the shared
:class:`synth.context.Context` and the results it depends on.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj

from synth.buildings import buildings
from synth.context import KINDS, make_context
from synth.green import green_layer, green_space
from synth.landcover import landcover
from synth.points import points
from synth.roads import plan_links, roads
from synth.settlements import candidate_pools, settlements
from synth.townships import townships
from synth.water import big_water, ponds, water_layer
from twin.crs import require_projected
from twin.errors import ConfigError, SchemaError

__all__ = ["DISTRICT_COLUMNS", "LAYER_ORDER", "generate_city"]

DISTRICT_COLUMNS = ("adcode", "name_zh", "name_en", "kind", "aquaculture", "is_urban")
#: the layers generate_city returns, in this order
LAYER_ORDER = ("townships", "buildings", "water", "landcover", "roads", "charging_stations",
               "service_areas", "bus_stops", "green_space")


def _validate(districts, landcover_codes, n_buildings):
    if not isinstance(districts, gpd.GeoDataFrame):
        msg = "generate_city: districts must be a GeoDataFrame (EPSG:4549)"
        raise ConfigError(msg)
    missing = [c for c in DISTRICT_COLUMNS if c not in districts.columns]
    if missing:
        msg = (f"generate_city: districts lack columns {missing}; expected {list(DISTRICT_COLUMNS)}"
               " (add them in the city config / builder)")
        raise SchemaError(msg)
    if districts.crs is None or not pyproj.CRS(districts.crs).is_projected:
        msg = (f"generate_city: districts CRS is {districts.crs}; reproject to the city's metric "
               "CRS (EPSG:4549 for Hangzhou and Huzhou) first")
        raise SchemaError(msg)
    require_projected(districts.crs, what="generate_city: districts")
    if len(districts) == 0:
        msg = "generate_city: districts is empty; pass at least one district polygon"
        raise ConfigError(msg)
    bad = districts.index[~districts["kind"].isin(KINDS)].tolist()
    if bad:
        msg = f"generate_city: districts rows {bad} have a kind not in {KINDS}; fix the 'kind' column"
        raise ConfigError(msg)
    codes = districts["adcode"].astype(str)
    badc = districts.index[~codes.str.fullmatch(r"\d{6}")].tolist()
    if badc:
        msg = f"generate_city: districts rows {badc} have an adcode that is not 6 digits"
        raise ConfigError(msg)
    if codes.duplicated().any():
        msg = f"generate_city: duplicate district adcodes {sorted(set(codes[codes.duplicated()]))}"
        raise ConfigError(msg)
    geom_bad = districts.index[districts.geometry.isna() | districts.geometry.is_empty
                               | ~districts.geom_type.isin(["Polygon", "MultiPolygon"])].tolist()
    if geom_bad:
        msg = f"generate_city: districts rows {geom_bad} have no polygon geometry"
        raise SchemaError(msg)
    if np.asarray(landcover_codes).ndim != 2:
        msg = "generate_city: landcover_codes must be a 2-D array of IGBP codes"
        raise ConfigError(msg)
    if int(n_buildings) < 0:
        msg = f"generate_city: n_buildings must be >= 0, got {n_buildings}"
        raise ConfigError(msg)


def generate_city(districts, landcover_codes, landcover_transform, landcover_crs, class_map, *,
                  n_buildings, seed=0, exclude=None, city_id="city"):
    """Generate the synthetic layers of a city inside its real district boundaries.

    Parameters
    ----------
    districts : geopandas.GeoDataFrame
        District polygons in the city's metric CRS (projected, in metres: EPSG:4549
        for Hangzhou and Huzhou, any CGCS2000 Gauss-Kruger zone elsewhere) with columns
        ``adcode`` (6-digit str), ``name_zh``, ``name_en``, ``kind`` (one of :data:`synth.context.KINDS`),
        ``aquaculture`` (bool) and ``is_urban`` (bool).
    landcover_codes : numpy.ndarray
        2-D uint8 MODIS IGBP codes (0.05° cells), 255 = fill.
    landcover_transform : affine.Affine
        Geotransform of ``landcover_codes``.
    landcover_crs : CRS-like
        CRS of the grid (EPSG:4326).
    class_map : dict of int to str
        IGBP code -> twin ``lc_class`` (``data/landcover/modis_igbp.csv``).
    n_buildings : int
        Total number of synthetic buildings [count].
    seed : int, default 0
        Seed; the same seed gives identical output.
    exclude : shapely geometry, optional
        Area (EPSG:4549) where no synthetic building may be placed.
    city_id : str, default "city"
        Prefix of the generated identifiers.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Layers ``townships`` (rows of the ``boundaries`` layer, level
        ``township``), ``buildings``, ``water``, ``landcover``, ``roads``,
        ``charging_stations``, ``service_areas``, ``bus_stops`` and
        ``green_space``, each in EPSG:4549 with exactly the schema columns of
        :data:`twin.schema.LAYERS` plus ``geometry``.

    Raises
    ------
    SchemaError, ConfigError
        When ``districts`` lacks columns, is not in EPSG:4549, has bad kinds or
        adcodes, or the land-cover array is not 2-D.
    """
    _validate(districts, landcover_codes, n_buildings)
    ctx = make_context(districts, landcover_codes, landcover_transform, landcover_crs, class_map,
                       n_buildings=n_buildings, seed=seed, exclude=exclude, city_id=city_id)
    water = big_water(ctx)
    pools = candidate_pools(ctx, water)
    sett = settlements(ctx, water, pools)
    towns = townships(ctx, sett, pools)
    green = green_space(ctx, water, sett, pools)
    links = plan_links(ctx, sett)
    bldg = buildings(ctx, sett, towns, water, green, links)
    pond = ponds(ctx, water, pools, sett, bldg, green)
    road_layer = roads(ctx, sett, bldg, links, water, pond)
    point_layers = points(ctx, sett, towns, bldg, road_layer)
    layers = {
        "townships": towns.layer,
        "buildings": bldg.layer,
        "landcover": landcover(ctx, towns),
        "roads": road_layer,
        **point_layers,
        "water": water_layer(ctx, water, pond, towns),
        "green_space": green_layer(ctx, green, towns),
    }
    # the steps work in the districts' metric CRS (frames are labelled EPSG:4549 by default)
    return {name: layers[name].set_crs(districts.crs, allow_override=True) for name in LAYER_ORDER}
