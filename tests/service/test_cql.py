"""CQL2 text -> the catalog's filter expressions (pure: no twin needed)."""

from __future__ import annotations

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from service.cql import FilterError, parse_cql2_text, to_predicate
from twin.store import Col, Geom, Pred

COLS = {"height_m", "use_class", "name", "floors", "is_new_build"}


def pred(text):
    return to_predicate(parse_cql2_text(text), COLS)


def test_comparisons_combine_into_one_tree():
    p = pred("height_m > 30 AND (use_class = 'office' OR floors BETWEEN 2 AND 5) AND NOT name IS NULL")
    assert p.op == "and"
    flat = repr(p)
    for part in ("Col(name='height_m')", "'office'", "'between'", "'is_null'", "'not'"):
        assert part in flat


@pytest.mark.parametrize("text,op,pattern", [
    ("use_class LIKE 'res_%'", "like", "res_%"),
    ("CASEI(name) LIKE '%Park%'", "ilike", "%Park%"),
    ("CASEI(name) = 'A_b%'", "ilike", "A\\_b\\%"),  # equality: wildcards taken literally
    ("use_class LIKE 'a\\%b'", "like", "a\\%b"),
])
def test_like_patterns_keep_cql2_wildcards(text, op, pattern):
    p = pred(text)
    assert p.op == op and p.args[1] == pattern


def test_bbox_literals_become_polygons_and_geometry_names_the_geom_column():
    p = pred("S_INTERSECTS(geometry, BBOX(120.1, 30.2, 120.2, 30.3))")
    assert p.op == "intersects" and p.args[0] == Col("geom")
    assert isinstance(p.args[1], Geom)
    assert shapely.from_wkb(p.args[1].wkb).bounds == pytest.approx((120.1, 30.2, 120.2, 30.3))


@pytest.mark.parametrize("text", [
    "", "height_m >", "nope = 1", "upper(name) = 'A'", "height_m = geometry",
    "S_INTERSECTS(height_m, 3)", "BBOX(1, 2) = 1", "height_m > 1 AND 3", "x" * 9000,
])
def test_bad_filters_are_filter_errors(text):
    with pytest.raises(FilterError):
        pred(text)


@given(st.text(max_size=60))
def test_any_text_value_stays_a_bound_value(value):
    """A string literal, whatever it holds, reaches the store as a value, never as SQL."""
    escaped = value.replace("'", "")
    try:
        p = pred(f"name = '{escaped}'")
    except FilterError:
        return  # the parser refused it: a 400, fine
    assert isinstance(p, Pred) and p.op == "=" and p.args[0] == Col("name")
    assert isinstance(p.args[1], str)
