"""Colour ramps, geometry packing and pydeck layer specs of the map app (pure, vectorised).

Nothing here touches the catalog or Streamlit: frames and arrays in, colour arrays,
coordinate lists and :class:`pydeck.Layer` objects out. Colours are computed for a
whole column at once (``numpy.interp`` per channel), never row by row.

The sequential ramps are 5-stop samples of matplotlib's perceptually uniform
*viridis* and *magma* maps.

References
----------
.. [1] van der Walt, S., Smith, N. (2015). A better default colormap for Matplotlib
   (viridis). SciPy 2015. https://bids.github.io/colormap/
"""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pydeck as pdk

__all__ = [
    "CATEGORY_COLOURS",
    "CompactDeck",
    "MAX_FEATURES",
    "NO_BASEMAP",
    "PALETTES",
    "building_layer",
    "categorical",
    "deck",
    "legend_html",
    "legend_stops",
    "line_layer",
    "path_layer",
    "point_layer",
    "polygon_layer",
    "ramp",
    "value_range",
    "view_state",
]

logger = logging.getLogger(__name__)

#: Never send more features than this to the browser in one map [count].
MAX_FEATURES = 100_000

#: Sequential palettes: stops of RGB from low to high ([1]_).
PALETTES: dict[str, np.ndarray] = {
    "viridis": np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                         [253, 231, 37]], dtype=float),
    "magma": np.array([[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97],
                       [252, 253, 191]], dtype=float),
    "greens": np.array([[237, 248, 233], [186, 228, 179], [116, 196, 118], [49, 163, 84],
                        [0, 109, 44]], dtype=float),
    "blues": np.array([[239, 243, 255], [189, 215, 231], [107, 174, 214], [49, 130, 189],
                       [8, 81, 156]], dtype=float),
}

#: Fixed colours of category values (land cover, exclusion reasons fall back to a cycle).
CATEGORY_COLOURS: dict[str, tuple[int, int, int]] = {
    "evergreen_needleleaf_forest": (26, 102, 46), "evergreen_broadleaf_forest": (34, 139, 34),
    "deciduous_needleleaf_forest": (85, 140, 60), "deciduous_broadleaf_forest": (120, 170, 70),
    "mixed_forest": (60, 130, 60), "bamboo_forest": (140, 190, 60), "tea_garden": (170, 200, 90),
    "orchard": (200, 180, 90), "shrubland": (180, 160, 110), "grassland": (210, 220, 140),
    "wetland": (90, 170, 190), "water": (70, 130, 200), "cropland": (240, 220, 130),
    "built_up": (200, 90, 90), "barren": (200, 190, 170), "snow_ice": (245, 245, 250),
}
_CYCLE = np.array([[228, 26, 28], [55, 126, 184], [77, 175, 74], [152, 78, 163], [255, 127, 0],
                   [166, 86, 40], [247, 129, 191], [153, 153, 153]], dtype=np.uint8)
_MISSING = (160, 160, 160)


def ramp(values, vmin: float | None = None, vmax: float | None = None, *,
         palette: str = "viridis", alpha: int = 230) -> np.ndarray:
    """RGBA colours of ``values`` on a sequential palette.

    Parameters
    ----------
    values : array-like of float
        Values to colour; NaN gets grey.
    vmin, vmax : float, optional
        Value range mapped to the ends of the palette (default: the 2nd and 98th
        percentiles of the finite values); values outside are clipped.
    palette : str
        Key of :data:`PALETTES`.
    alpha : int
        Opacity [0-255].

    Returns
    -------
    numpy.ndarray
        ``(n, 4)`` uint8.
    """
    v = np.asarray(values, dtype=float)
    out = np.empty((v.size, 4), dtype=np.uint8)
    out[:, 3] = alpha
    finite = np.isfinite(v)
    lo, hi = value_range(v[finite], vmin, vmax)
    stops = PALETTES[palette]
    pos = np.linspace(0.0, 1.0, len(stops))
    x = np.clip((v - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.full(v.size, 0.5)
    for c in range(3):
        out[:, c] = np.where(finite, np.interp(np.nan_to_num(x), pos, stops[:, c]),
                             _MISSING[c]).round().astype(np.uint8)
    return out


def value_range(values, vmin: float | None = None, vmax: float | None = None) -> tuple[float, float]:
    """Colour range of ``values``: ``vmin``/``vmax`` or the 2nd/98th percentiles of the finite ones."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0 if vmin is None else float(vmin)), (1.0 if vmax is None else float(vmax))
    lo = float(np.percentile(v, 2)) if vmin is None else float(vmin)
    hi = float(np.percentile(v, 98)) if vmax is None else float(vmax)
    return lo, hi


def legend_stops(values, vmin=None, vmax=None, *, palette: str = "viridis",
                 n: int = 5) -> list[tuple[float, str]]:
    """``n`` (value, ``#rrggbb``) pairs spanning the ramp of :func:`ramp` for a legend."""
    v = np.asarray(values, dtype=float)
    lo, hi = value_range(v, vmin, vmax)
    ticks = np.linspace(lo, hi, n)
    cols = ramp(ticks, lo, hi, palette=palette)
    return [(float(x), "#{:02x}{:02x}{:02x}".format(*c[:3])) for x, c in zip(ticks, cols, strict=True)]


def legend_html(title: str, items: list[tuple[str, str]]) -> str:
    """A small HTML legend: ``items`` are (label, ``#rrggbb``) pairs (labels are escaped)."""
    import html

    rows = "".join(
        f'<span style="display:inline-block;margin-right:10px;white-space:nowrap">'
        f'<span style="display:inline-block;width:12px;height:12px;background:{c};'
        f'border:1px solid #555;margin-right:4px;vertical-align:middle"></span>'
        f"{html.escape(str(label))}</span>" for label, c in items)
    return f'<div style="font-size:0.85em"><b>{html.escape(title)}</b>: {rows}</div>'


def categorical(values, colours: dict | None = None, *, alpha: int = 200) -> np.ndarray:
    """RGBA colours of category ``values``, ``(n, 4)`` uint8.

    ``colours`` (default :data:`CATEGORY_COLOURS`) first, then a fixed cycle by order of
    first appearance.
    """
    colours = CATEGORY_COLOURS if colours is None else colours
    s = pd.Series(values, dtype="object").astype(str)
    codes, uniques = pd.factorize(s)
    table = np.array([colours.get(u, _CYCLE[i % len(_CYCLE)]) for i, u in enumerate(uniques)]
                     or [_MISSING], dtype=np.uint8).reshape(-1, 3)
    out = np.empty((len(s), 4), dtype=np.uint8)
    out[:, :3] = table[np.maximum(codes, 0)]
    out[:, 3] = alpha
    return out


def view_state(bounds, *, pitch: float = 0.0, width_px: int = 1000,
               height_px: int = 520) -> pdk.ViewState:
    """A view that fits lon/lat ``bounds`` ``(minx, miny, maxx, maxy)``.

    Web-mercator zoom as deck.gl counts it: the world is 512 pixels wide at zoom 0.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (minx, miny, maxx, maxy)):
        return pdk.ViewState(latitude=30.3, longitude=120.0, zoom=8, pitch=pitch)
    lat = (miny + maxy) / 2
    span_x = max(maxx - minx, 1e-4)
    span_y = max((maxy - miny) / max(math.cos(math.radians(lat)), 0.1), 1e-4)
    zoom = min(math.log2(360.0 * width_px / 512.0 / span_x),
               math.log2(360.0 * height_px / 512.0 / span_y)) - 0.2
    return pdk.ViewState(latitude=lat, longitude=(minx + maxx) / 2,
                         zoom=float(np.clip(zoom, 3, 18)), pitch=pitch, bearing=0)


def line_layer(df: pd.DataFrame, *, layer_id: str, colour=(60, 60, 60, 220),
               width_px: float = 1.5) -> pdk.Layer:
    """Straight segments of a frame with ``from_lonlat`` and ``to_lonlat`` columns.

    Boundaries and roads are drawn this way, ``width_px`` screen pixels wide at any zoom,
    rather than as a PathLayer: in a browser without a GPU (software WebGL) a PathLayer's
    shaders cost about half a second of the first render. (A LineLayer's widths are in
    pixels by default; pydeck's ``width_units="pixels"`` arrives garbled.)
    """
    return pdk.Layer("LineLayer", df, id=layer_id, get_source_position="from_lonlat",
                     get_target_position="to_lonlat", get_color=list(colour), get_width=width_px,
                     pickable=False)


def polygon_layer(df: pd.DataFrame, *, layer_id: str, colour="fill", line=None,
                  pickable: bool = True, extruded: bool = False,
                  elevation: str | None = None) -> pdk.Layer:
    """Polygons of a frame with a ``polygon`` column (a lon/lat ring, or rings: exterior, holes)."""
    kw = {}
    if extruded and elevation:
        kw.update(extruded=True, get_elevation=elevation, elevation_scale=1)
    return pdk.Layer("PolygonLayer", df, id=layer_id, get_polygon="polygon", get_fill_color=colour,
                     get_line_color=line or [80, 80, 80, 120], line_width_min_pixels=0.5,
                     stroked=line is not None, pickable=pickable, auto_highlight=pickable, **kw)


def building_layer(df: pd.DataFrame, *, layer_id: str = "buildings") -> pdk.Layer:
    """Buildings extruded by ``height_m`` and filled with the ``fill`` column."""
    return pdk.Layer("PolygonLayer", df, id=layer_id, get_polygon="polygon", get_fill_color="fill",
                     extruded=True, get_elevation="height_m", elevation_scale=1, wireframe=False,
                     pickable=True, auto_highlight=True, highlight_color=[255, 0, 0, 255])


def path_layer(df: pd.DataFrame, *, layer_id: str = "roads", colour=(120, 120, 120, 200),
               width_m: float = 30.0) -> pdk.Layer:
    """Lines of a frame with a ``path`` column (lists of lon/lat)."""
    return pdk.Layer("PathLayer", df, id=layer_id, get_path="path", get_color=list(colour),
                     width_min_pixels=1, get_width=width_m, pickable=False)


def point_layer(df: pd.DataFrame, *, layer_id: str, colour="fill", radius_m: float = 60.0,
                pickable: bool = True) -> pdk.Layer:
    """Points of a frame with ``lon`` and ``lat`` columns."""
    return pdk.Layer("ScatterplotLayer", df, id=layer_id, get_position=["lon", "lat"],
                     get_fill_color=colour, get_radius=radius_m, radius_min_pixels=2,
                     radius_max_pixels=12, pickable=pickable, stroked=False)


class CompactDeck(pdk.Deck):
    """A :class:`pydeck.Deck` whose JSON has no indentation.

    pydeck indents by 2, which about triples the bytes of coordinate lists sent to the browser.
    """

    def to_json(self) -> str:
        """The deck as compact JSON."""
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


#: pydeck's "no map style given" value. With it Streamlit draws no basemap at all; with
#: ``map_style=None`` Streamlit substitutes a Carto basemap (an internet request, and the
#: map library's start-up costs about a second of a first render in a headless browser).
NO_BASEMAP = "__MAP_STYLE__"


def deck(layers: list, view: pdk.ViewState, *, tooltip: dict | None = None,
         basemap: bool = False) -> pdk.Deck:
    """A Deck without a basemap (offline) unless ``basemap`` (tiles need the internet)."""
    return CompactDeck(layers=[la for la in layers if la is not None], initial_view_state=view,
                       map_style="light" if basemap else NO_BASEMAP, tooltip=tooltip or False,
                       map_provider="carto" if basemap else None)
