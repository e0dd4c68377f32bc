"""Colour ramps and layer specs of the map app are vectorised, bounded and deterministic."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapapp import mapstyle as ms


def test_ramp_ends_and_missing():
    c = ms.ramp([0.0, 5.0, 10.0, np.nan], 0, 10, palette="viridis", alpha=200)
    assert c.dtype == np.uint8 and c.shape == (4, 4)
    np.testing.assert_array_equal(c[0, :3], ms.PALETTES["viridis"][0])
    np.testing.assert_array_equal(c[2, :3], ms.PALETTES["viridis"][-1])
    assert tuple(c[3, :3]) == (160, 160, 160) and (c[:, 3] == 200).all()


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200))
def test_ramp_is_monotone_along_the_palette(values):
    v = np.sort(np.asarray(values))
    c = ms.ramp(v, palette="viridis").astype(int)
    # viridis gets brighter (green channel rises) from low to high
    assert (np.diff(c[:, 1]) >= 0).all()
    assert c.shape == (len(v), 4)


def test_value_range_and_legend():
    lo, hi = ms.value_range(np.r_[np.arange(100.0), np.nan])
    assert 0 < lo < 5 and 95 < hi < 99
    stops = ms.legend_stops([0, 10], 0, 10, n=3)
    assert [s[0] for s in stops] == [0, 5, 10] and all(s[1].startswith("#") for s in stops)
    html = ms.legend_html("<b>", [("a<", "#000000")])
    assert "&lt;b&gt;" in html and "a&lt;" in html


def test_categorical_is_stable_and_uses_fixed_colours():
    c = ms.categorical(["water", "x", "water", "y"])
    np.testing.assert_array_equal(c[0, :3], ms.CATEGORY_COLOURS["water"])
    np.testing.assert_array_equal(c[0], c[2])
    assert not np.array_equal(c[1], c[3])
    assert ms.categorical([]).shape == (0, 4)


def test_view_state_fits_bounds():
    v = ms.view_state((119.5, 30.0, 120.5, 30.5))
    assert abs(v.longitude - 120.0) < 1e-9 and abs(v.latitude - 30.25) < 1e-9
    small = ms.view_state((120.0, 30.0, 120.01, 30.01))
    assert small.zoom > v.zoom + 5


def test_deck_is_offline_and_compact():
    df = pd.DataFrame({"polygon": [[[120, 30], [120.1, 30], [120, 30.1]]], "height_m": [10.0],
                       "fill": [[1, 2, 3, 4]]})
    d = ms.deck([ms.building_layer(df)], ms.view_state((120, 30, 120.1, 30.1)))
    spec = json.loads(d.to_json())
    # no tiles offline: pydeck's "not set" style, which Streamlit does not replace by a basemap
    assert spec["mapStyle"] == ms.NO_BASEMAP and "mapProvider" not in spec
    assert "https://" not in d.to_json()
    online = json.loads(ms.deck([], ms.view_state((120, 30, 120.1, 30.1)), basemap=True).to_json())
    assert online["mapStyle"].startswith("https://")
    assert "\n" not in d.to_json()
    layer = spec["layers"][0]
    assert layer["@@type"] == "PolygonLayer" and layer["extruded"] and len(layer["data"]) == 1


def test_within_keeps_rows_reaching_into_the_bounds():
    from mapapp.mapstyle import within

    segs = pd.DataFrame({"from_lonlat": [[0.0, 0.0], [5.0, 5.0], [-1.0, 0.5]],
                         "to_lonlat": [[1.0, 1.0], [6.0, 6.0], [0.5, 0.5]]})
    assert list(within(segs, (0.2, 0.2, 0.8, 0.8)).index) == [0, 2]  # crossing counts
    polys = pd.DataFrame({"polygon": [[[0, 0], [1, 0], [1, 1], [0, 0]],
                                      [[[3, 3], [4, 3], [4, 4], [3, 3]], [[3.2, 3.2], [3.5, 3.2],
                                                                           [3.5, 3.5], [3.2, 3.2]]]]})
    assert list(within(polys, (0.5, 0.5, 2.0, 2.0)).index) == [0]
    assert list(within(polys, (0.5, 0.5, 2.0, 2.0), pad=1.0).index) == [0, 1]  # grown by 1.5
    pts = pd.DataFrame({"lon": [0.5, 9.0], "lat": [0.5, 9.0]})
    assert list(within(pts, (0, 0, 1, 1)).index) == [0]
    other = pd.DataFrame({"x": [1]})
    assert within(other, (0, 0, 1, 1)) is other


def test_legend_of_equal_values_is_one_class_and_close_values_get_decimals():
    assert len(ms.legend_stops([0.06] * 50)) == 1
    assert [label for label, _ in ms.legend_items([0.06] * 50, decimals=2)] == ["0.06"]
    # the wind page's case: capacity factors 0.058-0.065 were five classes all "0.06"
    labels = [label for label, _ in ms.legend_items(np.linspace(0.058, 0.065, 100), decimals=2)]
    assert len(labels) == 5 and len(set(labels)) == 5 and labels[0].startswith("0.05")
    assert ms.legend_labels([1000.0, 2000.0]) == ["1,000", "2,000"]
    assert ms.legend_labels([-0.001, 0.0, 0.001], decimals=2) == ["-0.001", "0.000", "0.001"]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=60),
       st.integers(0, 4), st.integers(2, 8))
def test_legend_labels_never_repeat(values, decimals, n):
    items = ms.legend_items(values, decimals=decimals, n=n)
    labels = [label for label, _ in items]
    assert len(labels) == len(set(labels)) and 1 <= len(labels) <= n
    assert all(c.startswith("#") and len(c) == 7 for _, c in items)
    lo, hi = ms.value_range(values)
    if lo == hi:
        assert len(labels) == 1


# -- SVG maps of small extents (the inspector: a district's top buildings, a site) ----------
def _box(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


@given(st.floats(119.0, 121.0), st.floats(29.0, 31.0), st.floats(0.001, 0.5))
def test_clip_polygons_keeps_the_part_inside_the_padded_bounds(x, y, size):
    import shapely

    lake = [_box(120.0, 30.0, 120.5, 30.5), _box(120.1, 30.1, 120.2, 30.2)]  # with an island
    df = pd.DataFrame({"polygon": [lake], "name": ["lake"]})
    bounds = (x, y, x + size, y + size)
    out = ms.clip_polygons(df, bounds, pad=0.1)
    rect = shapely.box(x - 0.1 * size, y - 0.1 * size, x + 1.1 * size, y + 1.1 * size)
    want = shapely.Polygon(lake[0], [lake[1]]).intersection(rect)
    if want.area < 1e-12:
        assert len(out) == 0 or sum(shapely.Polygon(r).area for r in out["polygon"].iloc[0]) < 1e-9
        return
    (rings,) = out["polygon"]
    assert list(out["name"]) == ["lake"]
    pts = np.concatenate([np.asarray(r) for r in rings])
    lo, hi = np.asarray(rect.bounds[:2]), np.asarray(rect.bounds[2:])
    assert (pts >= lo - 1e-9).all() and (pts <= hi + 1e-9).all()
    # the even-odd area of the rings (shells and their holes) is the lake's part in view
    got = shapely.Polygon()
    for r in rings:
        got = got.symmetric_difference(shapely.Polygon(r))
    assert got.area == pytest.approx(want.area, rel=1e-6, abs=1e-12)


def _tenths(svg: str, cls: str) -> np.ndarray:
    """Every x,y pair of the paths of class ``cls`` in ``svg``."""
    import re

    ds = re.findall(rf'<path class="{cls}" d="([^"]*)"', svg)
    return np.array([[int(v) for v in p.split(",")] for d in ds
                     for p in re.findall(r"-?\d+,-?\d+", d)]).reshape(-1, 2)


def test_svg_map_at_building_zoom_sends_only_the_context_in_view():
    import re

    bounds = (120.100, 30.100, 120.104, 30.103)  # a few hundred metres
    lake = pd.DataFrame({"polygon": [_box(119.5, 29.5, 120.102, 30.6), _box(121, 31, 121.1, 31.1)]})
    n = 2000  # a long road: segments far away and one crossing the view
    xs = np.linspace(119.0, 121.0, n)
    roads = pd.DataFrame({"from_lonlat": [[a, 30.101] for a in xs[:-1]],
                          "to_lonlat": [[b, 30.101] for b in xs[1:]]})
    areas = pd.DataFrame({"polygon": [_box(120.101, 30.101, 120.1012, 30.1012)],
                          "fill": [[42, 157, 143, 220]], "key": ["b1"], "tip": ["b1"]})
    whole = ms.svg_map(areas, bounds, water=lake, lines=[(roads, (1, 2, 3, 200), 1.0)],
                       width=640, height=400)
    cut = ms.svg_map(areas, bounds, water=lake, lines=[(roads, (1, 2, 3, 200), 1.0)],
                     width=640, height=400, clip=True)
    assert len(cut) < len(whole) / 20
    # the lake cut to the view (padded by a tenth): its points near the drawing, the far lake gone
    water = _tenths(cut, "water")
    assert 4 <= len(water) <= 6
    assert water[:, 0].min() >= -700 and water[:, 0].max() <= 6400 + 700
    assert water[:, 1].min() >= -700 and water[:, 1].max() <= 4000 + 700
    assert len(_tenths(cut, "line")) <= 2 * 7 < 2 * (n - 1) == len(_tenths(whole, "line"))
    assert re.findall(r'data-key="([^"]+)"', cut) == ["b1"]


def test_svg_map_dots_small_areas_draws_points_and_outlines_the_chosen_one():
    import re

    bounds = (120.0, 30.0, 120.1, 30.1)  # a district: a building is a pixel
    areas = pd.DataFrame({"polygon": [_box(120.01, 30.01, 120.0102, 30.0102),
                                      _box(120.05, 30.05, 120.0502, 30.0502)],
                          "fill": [[255, 40, 40, 255], [42, 157, 143, 220]],
                          "key": ["chosen", '"><b>'], "tip": ["a", "<i>"]})
    svg = ms.svg_map(areas, bounds, width=640, height=400, chosen="chosen", outline=True,
                     marker_px=9.0, on_top=True)
    groups = re.findall(r'<g class="([^"]+)"[^>]*data-key="([^"]*)"[^>]*>(.*?)</g>', svg)
    assert [(c, k) for c, k, _ in groups] == [("area outlined", "&quot;&gt;&lt;b&gt;"),
                                             ("area outlined chosen", "chosen")]  # chosen last
    assert "<b>" not in svg and "<i>" not in svg
    for _, _, body in groups:  # the footprint, and a dot at the centre of its box
        (d,) = re.findall(r'<path d="([^"]*)"/>', body)
        ring = np.array([[int(v) for v in p.split(",")] for p in re.findall(r"-?\d+,-?\d+", d)])
        mx, my = map(int, re.search(r'class="marker" d="M(-?\d+),(-?\d+)h0"', body).groups())
        assert abs(mx - (ring[:, 0].min() + ring[:, 0].max()) / 2) <= 1
        assert abs(my - (ring[:, 1].min() + ring[:, 1].max()) / 2) <= 1
        assert 'stroke-width="9.0"' in body
    # the chosen (south-west) building left of and below the other one (y down)
    (cx, cy), (ox, oy) = [tuple(map(int, m)) for m in reversed(
        re.findall(r'class="marker" d="M(-?\d+),(-?\d+)h0"', svg))]
    assert cx < ox and cy > oy
    # without markers the districts stay plain paths (the city map)
    plain = ms.svg_map(areas, bounds, width=640, height=400)
    assert plain.count('<path class="area" d="M') == 2
    assert "<g" not in plain and "marker" not in plain
    # points (wind sites): dots, no footprint
    pts = pd.DataFrame({"lon": [120.05], "lat": [30.05], "fill": [[230, 120, 40, 220]],
                        "key": ["w1"], "tip": ["w1"]})
    dot = ms.svg_map(pts, bounds, width=640, height=400, chosen="w1")
    assert re.search(r'<g class="area chosen"[^>]*data-key="w1"[^>]*><path class="marker" '
                     r'd="M3200,2000h0"', dot), dot


def test_open_rings_drops_only_the_closing_vertex():
    square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    hole = [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.2]]
    already_open = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
    out = ms.open_rings([square, [square, hole], already_open, []])
    assert out[0] == square[:-1]
    assert out[1] == [square[:-1], hole[:-1]]
    assert out[2] == already_open  # nothing to drop: a triangle's three vertices stay
    assert out[3] == []


@given(st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=3, max_size=30,
                unique=True))
def test_open_rings_keeps_every_distinct_vertex_in_order(points):
    closed = [list(p) for p in points] + [list(points[0])]
    (out,) = ms.open_rings([closed])
    assert out == [list(p) for p in points]
