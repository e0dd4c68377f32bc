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
    "clip_polygons",
    "deck",
    "legend_html",
    "legend_items",
    "legend_labels",
    "legend_stops",
    "line_layer",
    "open_rings",
    "path_layer",
    "point_layer",
    "polygon_layer",
    "ramp",
    "svg_map",
    "value_range",
    "view_state",
    "within",
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
    """Up to ``n`` (value, ``#rrggbb``) pairs spanning the ramp of :func:`ramp` for a legend.

    One stop when the colour range is a single value (all values equal); otherwise ``n``
    evenly spaced, distinct values from the low to the high end (fewer only when the
    range is too narrow for ``n`` distinct floats).
    """
    v = np.asarray(values, dtype=float)
    lo, hi = value_range(v, vmin, vmax)
    if not hi > lo:
        ticks = np.array([lo])
    else:
        f = np.linspace(0.0, 1.0, max(int(n), 2))
        ticks = np.unique(lo * (1.0 - f) + hi * f)  # no overflow for any finite lo, hi
    with np.errstate(over="ignore", invalid="ignore"):
        cols = ramp(ticks, lo, hi, palette=palette)
    return [(float(x), "#{:02x}{:02x}{:02x}".format(*c[:3])) for x, c in zip(ticks, cols, strict=True)]


def _label(value: float, decimals: int, grouping: bool) -> str:
    """``value`` with ``decimals`` decimals; a value that rounds to zero has no sign."""
    text = f"{value:,.{decimals}f}" if grouping else f"{value:.{decimals}f}"
    return text.lstrip("-") if not any(ch in "123456789" for ch in text) else text


def legend_labels(values, *, decimals: int = 0, grouping: bool = True) -> list[str]:
    """Labels of distinct legend values that never repeat.

    The fewest decimals, from ``decimals`` up to 12, that tell every value apart (``1,234``,
    then ``1,234.5`` ...); values closer than that get enough significant digits to
    differ (17 always do for distinct floats).
    """
    v = [float(x) for x in values]
    for d in range(int(decimals), 13):
        labels = [_label(x, d, grouping) for x in v]
        if len(set(labels)) == len(labels):
            return labels
    for digits in range(6, 18):
        labels = [f"{x:.{digits}g}" for x in v]
        if len(set(labels)) == len(labels):
            return labels
    return [repr(x) for x in v]


def legend_items(values, vmin=None, vmax=None, *, palette: str = "viridis", n: int = 5,
                 decimals: int = 0, grouping: bool = True) -> list[tuple[str, str]]:
    """(label, ``#rrggbb``) pairs of :func:`legend_stops` with unique labels (:func:`legend_labels`)."""
    stops = legend_stops(values, vmin, vmax, palette=palette, n=n)
    labels = legend_labels([x for x, _ in stops], decimals=decimals, grouping=grouping)
    return list(zip(labels, [c for _, c in stops], strict=True))


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


def open_rings(polygons) -> list:
    """Polygons (lon/lat rings as lists of ``[x, y]``) without each ring's closing vertex.

    deck.gl closes a polygon's rings itself, so the repeated first vertex is bytes sent for
    nothing (a fifth of a rectangular footprint's coordinates). A polygon is one ring
    (a list of points) or a list of rings (exterior, holes); rings with fewer than four
    vertices, or whose last vertex is not the first, are kept as they are.
    """
    def ring(r):
        return r[:-1] if len(r) > 3 and r[0] == r[-1] else r

    out = []
    for poly in polygons:
        if len(poly) and len(poly[0]) and isinstance(poly[0][0], (list, tuple)):
            out.append([ring(r) for r in poly])
        else:
            out.append(ring(poly))
    return out


def building_layer(df: pd.DataFrame, *, layer_id: str = "buildings", polygon: str = "polygon",
                   fill: str = "fill", height: str = "height_m") -> pdk.Layer:
    """Buildings extruded by the ``height`` column [m] and filled with the ``fill`` column."""
    return pdk.Layer("PolygonLayer", df, id=layer_id, get_polygon=polygon, get_fill_color=fill,
                     extruded=True, get_elevation=height, elevation_scale=1, wireframe=False,
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


def within(df: pd.DataFrame, bounds, *, pad: float = 0.0) -> pd.DataFrame:
    """Rows of ``df`` reaching into lon/lat ``bounds`` (grown by ``pad`` times their size).

    Rows are lines (``from_lonlat``, ``to_lonlat``: kept when their box meets the bounds),
    polygons (``polygon``: kept when the box of their coordinates meets them) or points
    (``lon``, ``lat``); other frames are returned whole.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    dx, dy = (maxx - minx) * pad, (maxy - miny) * pad
    minx, miny, maxx, maxy = minx - dx, miny - dy, maxx + dx, maxy + dy
    if len(df) == 0:
        return df
    if "from_lonlat" in df:
        a = np.asarray(df["from_lonlat"].tolist(), dtype=float).reshape(-1, 2)
        b = np.asarray(df["to_lonlat"].tolist(), dtype=float).reshape(-1, 2)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
    elif "polygon" in df:
        boxes = []
        for poly in df["polygon"]:
            xy = np.asarray([p for ring in _rings(poly) for p in ring], dtype=float).reshape(-1, 2)
            boxes.append([*xy.min(axis=0), *xy.max(axis=0)] if len(xy) else [np.inf] * 2 + [-np.inf] * 2)
        box = np.asarray(boxes, dtype=float).reshape(-1, 4)
        lo, hi = box[:, :2], box[:, 2:]
    elif "lon" in df:
        lo = hi = df[["lon", "lat"]].to_numpy(float)
    else:
        return df
    keep = (hi[:, 0] >= minx) & (lo[:, 0] <= maxx) & (hi[:, 1] >= miny) & (lo[:, 1] <= maxy)
    return df.loc[keep]


# -- SVG map ---------------------------------------------------------------------------------
def _mercator(lonlat: np.ndarray) -> np.ndarray:
    """Web-mercator x, y (radians; y up) of ``(n, 2)`` lon/lat degrees."""
    lat = np.radians(np.clip(lonlat[:, 1], -85.0, 85.0))
    return np.column_stack([np.radians(lonlat[:, 0]), np.log(np.tan(np.pi / 4 + lat / 2))])


def _rings(polygon) -> list:
    """The rings of one packed ``polygon`` cell (a ring, or a list of rings)."""
    if not polygon:
        return []
    return [polygon] if np.ndim(polygon[0]) == 1 else list(polygon)


class _Frame:
    """Mercator -> SVG pixel transform fitting ``bounds`` into ``width`` x ``height``."""

    def __init__(self, bounds, width: int, height: int, pad_px: float = 8.0) -> None:
        lo = _mercator(np.array([[bounds[0], bounds[1]]], dtype=float))[0]
        hi = _mercator(np.array([[bounds[2], bounds[3]]], dtype=float))[0]
        span = np.maximum(hi - lo, 1e-9)
        self.scale = float(min((width - 2 * pad_px) / span[0], (height - 2 * pad_px) / span[1]))
        self.origin = (lo + hi) / 2
        self.centre = np.array([width / 2, height / 2])

    def pixels(self, lonlat: np.ndarray) -> np.ndarray:
        """Integer tenths of a pixel (the SVG's user unit) of ``(n, 2)`` lon/lat."""
        px = (_mercator(lonlat) - self.origin) * self.scale * np.array([1.0, -1.0]) + self.centre
        return np.rint(px * 10).astype(np.int64)

    def box_centre(self, rings) -> tuple[int, int]:
        """User-unit centre of the box of ``rings`` (lists of lon/lat pairs)."""
        xy = np.concatenate([np.asarray(r, dtype=float).reshape(-1, 2) for r in rings])
        lo, hi = self.pixels(xy.min(axis=0, keepdims=True))[0], self.pixels(
            xy.max(axis=0, keepdims=True))[0]
        return int((lo[0] + hi[0]) // 2), int((lo[1] + hi[1]) // 2)

    def path(self, rings, close: bool) -> str:
        """SVG path data of coordinate sequences (lists of lon/lat pairs), 0.1 px precision.

        Coordinates are written as integers of tenths of a pixel (the SVG's user unit),
        all rings transformed and formatted at once.
        """
        arrays = [np.asarray(r, dtype=float).reshape(-1, 2) for r in rings]
        arrays = [a for a in arrays if len(a)]
        if not arrays:
            return ""
        xy = _mercator(np.concatenate(arrays))
        px = (xy - self.origin) * self.scale * np.array([1.0, -1.0]) + self.centre
        pts = np.rint(px * 10).astype(np.int64).astype(str)
        pairs = np.char.add(np.char.add(pts[:, 0], ","), pts[:, 1]).tolist()
        ends = np.cumsum([len(a) for a in arrays]).tolist()
        tail = "Z" if close else ""
        out, start = [], 0
        for end in ends:
            out.append("M" + "L".join(pairs[start:end]) + tail)
            start = end
        return "".join(out)


def clip_polygons(df: pd.DataFrame, bounds, *, pad: float = 0.1) -> pd.DataFrame:
    """Polygons of ``df`` cut to lon/lat ``bounds`` grown by ``pad`` times their size.

    For a map of a small extent (a few buildings) over the city's water: a lake reaching
    into the view is sent as the part inside it, not as its whole outline. Rows whose
    polygon misses the bounds are dropped; ``polygon`` of the others is the cut part (a
    list of rings; holes kept). Other columns are kept.
    """
    import shapely

    minx, miny, maxx, maxy = (float(b) for b in bounds)
    dx, dy = (maxx - minx) * pad, (maxy - miny) * pad
    box = (minx - dx, miny - dy, maxx + dx, maxy + dy)
    near = within(df, box)
    if not len(near):
        return near
    cut = []
    for poly in near["polygon"]:
        rings = [np.asarray(r, dtype=float).reshape(-1, 2) for r in _rings(poly)]
        rings = [r for r in rings if len(r) >= 3]
        if not rings:
            cut.append([])
            continue
        geom = shapely.make_valid(shapely.Polygon(rings[0], rings[1:]))
        part = shapely.clip_by_rect(geom, *box)
        out = []
        for g in getattr(part, "geoms", [part]):
            if isinstance(g, shapely.Polygon) and not g.is_empty:
                out.append(np.asarray(g.exterior.coords).tolist())
                out.extend(np.asarray(i.coords).tolist() for i in g.interiors)
        cut.append(out)
    keep = [bool(c) for c in cut]
    return near.assign(polygon=cut).loc[keep]


def svg_map(areas: pd.DataFrame, bounds, *, water: pd.DataFrame | None = None,
            lines: list[tuple[pd.DataFrame, tuple, float]] = (), width: int = 1000,
            height: int = 480, clip: bool = False, chosen: str | None = None,
            outline: bool = False, marker_px: float = 0.0, on_top: bool = False) -> str:
    """A lightweight 2D map as SVG: filled areas over water, roads and boundaries on top.

    For aggregates at city zoom (a district choropleth), where a WebGL map would cost
    seconds of a first render in a browser without a GPU, and for a few buildings or
    sites at building zoom (the inspector). Drawn in web-mercator, like the deck.gl maps.

    Parameters
    ----------
    areas : pandas.DataFrame
        One row per area: ``polygon`` (see :func:`mapapp.data._pack`) or ``lon``/``lat``
        (a point, drawn as a dot, ``marker_px`` or 12 px wide), ``fill`` (RGBA 0-255), ``key``
        (returned when the area is clicked) and ``tip`` (tooltip text; newlines kept).
        Text is escaped.
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` lon/lat shown.
    water : pandas.DataFrame, optional
        Water polygons (``polygon``), drawn over the areas, not clickable.
    lines : list of (DataFrame, colour, width_px)
        Segments (``from_lonlat``, ``to_lonlat``) drawn ``width_px`` wide at any zoom.
    width, height : int
        Size of the drawing [px]; the map scales to its container's width.
    clip : bool
        Send only the context (water, lines) within the bounds (padded by a tenth),
        water cut to them (:func:`clip_polygons`): for small extents, so the markup of a
        few buildings does not carry the city's lakes and roads.
    chosen : str, optional
        Key of the area drawn highlighted (class ``chosen``: a dark outline).
    outline : bool
        A thin light outline on every area (adjacent buildings stay apart).
    marker_px : float
        With polygons: a dot this wide [screen px, at any zoom] at the centre of each
        polygon's box, so that areas a few pixels small (buildings in a district) can be
        seen and clicked. Each area is then a ``<g class="area">`` of its path and its dot
        (``class="marker"``).
    on_top : bool
        Draw the areas over the water and lines (a site on a lake stays visible), not
        under them (a district's own lakes stay visible).

    Returns
    -------
    str
        ``<svg>`` markup.
    """
    import html

    frame = _Frame(bounds, width, height)
    w10, h10 = 10 * width, 10 * height
    if clip:
        if water is not None and len(water):
            water = clip_polygons(water, bounds)
        lines = [(within(segs, bounds, pad=0.1), colour, w) for segs, colour, w in lines]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w10} {h10}" '
           f'data-width="{w10}" data-height="{h10}" style="aspect-ratio: {width} / {height}">']
    points = "polygon" not in areas and "lon" in areas
    if points:
        dots = frame.pixels(areas[["lon", "lat"]].to_numpy(float).reshape(-1, 2))
        shapes = [None] * len(areas)
    else:
        shapes = list(areas["polygon"])
        dots = None
        if marker_px > 0:
            dots = np.array([frame.box_centre(_rings(poly)) for poly in shapes]).reshape(-1, 2)
    dot_px = marker_px if marker_px > 0 else 12.0
    drawn = []
    for i, (shape, fill, key, tip) in enumerate(zip(shapes, areas["fill"], areas["key"],
                                                    areas["tip"], strict=True)):
        r, g, b, a = (list(fill) + [255])[:4]
        rgb = f"rgb({int(r)},{int(g)},{int(b)})"
        is_chosen = chosen is not None and str(key) == str(chosen)
        cls = "area" + (" outlined" if outline else "") + (" chosen" if is_chosen else "")
        paint = (f'fill="{rgb}" fill-opacity="{int(a) / 255:.2f}" '
                 f'data-key="{html.escape(str(key))}" data-tip="{html.escape(str(tip))}"')
        d = "" if shape is None else frame.path(_rings(shape), True)
        if dots is None:
            item = f'<path class="{cls}" d="{d}" {paint}/>'
        else:  # a dot of constant screen size: a zero-length line with round caps
            x, y = dots[i]
            body = f'<path d="{d}"/>' if d else ""
            item = (f'<g class="{cls}" {paint}>{body}<path class="marker" d="M{x},{y}h0" '
                    f'stroke="{rgb}" stroke-width="{dot_px}"/></g>')
        drawn.append((is_chosen, item))
    shapes_svg = [item for _, item in sorted(drawn, key=lambda d: d[0])]  # the chosen one last
    if not on_top:
        out.extend(shapes_svg)
    if water is not None and len(water):
        d = frame.path([ring for poly in water["polygon"] for ring in _rings(poly)], True)
        out.append(f'<path class="water" d="{d}" fill="rgb(120,170,220)" fill-opacity="0.75"/>')
    for segs, colour, width_px in lines:
        if len(segs):
            d = frame.path(zip(segs["from_lonlat"], segs["to_lonlat"], strict=True), False)
            r, g, b, a = (list(colour) + [255])[:4]
            out.append(f'<path class="line" d="{d}" fill="none" stroke="rgb({r},{g},{b})" '
                       f'stroke-opacity="{a / 255:.2f}" stroke-width="{width_px}"/>')  # screen px (CSS)
    if on_top:
        out.extend(shapes_svg)
    out.append("</svg>")
    return "".join(out)
