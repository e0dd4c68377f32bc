"""Colour ramps and layer specs of the map app are vectorised, bounded and deterministic."""

import json

import numpy as np
import pandas as pd
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
