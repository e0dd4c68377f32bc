"""CQL2 text filters: parsed with pygeofilter, translated to the catalog's filter expressions.

:func:`parse_cql2_text` reads an OGC CQL2 text expression (``filter=`` of OGC API - Features
Part 3) into pygeofilter's syntax tree; :class:`PredicateEvaluator` turns that tree into a
:class:`twin.store.Pred`, naming only the columns of the layer queried. The store compiles
the predicate to SQL with every value bound as a parameter: user text never reaches SQL.

Supported: ``AND``/``OR``/``NOT``, comparisons, ``BETWEEN``, ``LIKE`` (and ``CASEI(x) LIKE``),
``IN``, ``IS NULL`` and the spatial predicates ``S_INTERSECTS``, ``S_DISJOINT``,
``S_CONTAINS``, ``S_WITHIN``, ``S_TOUCHES``, ``S_CROSSES``, ``S_OVERLAPS``, ``S_EQUALS``
against a geometry literal (WKT, or ``BBOX(...)``; in ``filter-crs``, CRS84 by default).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import shapely
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.parsers.cql2_text import parse as _parse_cql2

from twin.store import GEOM, Col, Geom, Pred

__all__ = ["FilterError", "PredicateEvaluator", "parse_cql2_text", "to_predicate"]

#: Longest filter text accepted [characters].
MAX_FILTER_CHARS = 8000


class FilterError(ValueError):
    """A filter that cannot be parsed or names what the collection does not have (a 400)."""


def _envelopes_to_polygons(node: Any) -> None:
    """Replace ``BBOX(...)`` literals by polygons in place, so filter-crs reprojection reaches them."""
    try:
        subs = node.get_sub_nodes()
    except AttributeError:
        return
    if not isinstance(subs, list):
        subs = [subs]
    for sub in subs:
        box = _bbox_literal(sub)
        if box is not None:
            poly = values.Geometry(box)
            for name, val in list(vars(node).items()):
                if val is sub:
                    setattr(node, name, poly)
                elif isinstance(val, list):
                    setattr(node, name, [poly if v is sub else v for v in val])
        else:
            _envelopes_to_polygons(sub)


def _bbox_literal(node: Any) -> dict | None:
    """The GeoJSON polygon of a ``BBOX(minx, miny, maxx, maxy)`` literal (None for any other node)."""
    if isinstance(node, values.Envelope):
        return dict(node.geometry)
    if isinstance(node, ast.Function) and node.name.lower() == "bbox":
        nums = node.arguments
        if len(nums) != 4 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in nums):
            msg = "BBOX(...) takes four numbers: minx, miny, maxx, maxy"
            raise FilterError(msg)
        return shapely.geometry.mapping(shapely.box(*nums))
    return None


def parse_cql2_text(text: str) -> ast.Node:
    """Parse a CQL2 text filter.

    Raises
    ------
    FilterError
        Malformed text, or longer than :data:`MAX_FILTER_CHARS`.
    """
    if not isinstance(text, str) or not text.strip():
        msg = "the filter is empty; give a CQL2 text expression, e.g. height_m > 30"
        raise FilterError(msg)
    if len(text) > MAX_FILTER_CHARS:
        msg = f"the filter is {len(text)} characters long; at most {MAX_FILTER_CHARS} are accepted"
        raise FilterError(msg)
    try:
        tree = _parse_cql2(text)
    except Exception as exc:  # lark raises many kinds; every one is a malformed filter
        msg = f"the filter is not valid CQL2 text: {str(exc).splitlines()[0][:200]}"
        raise FilterError(msg) from exc
    if not isinstance(tree, ast.Node):
        msg = f"the filter {text[:80]!r} is a value, not a condition"
        raise FilterError(msg)
    holder = ast.Not(tree)  # a parent, so a top-level literal can be replaced too
    _envelopes_to_polygons(holder)
    return holder.sub_node


_CMP = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
        ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_SPATIAL = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
            ast.GeometryContains: "contains", ast.GeometryWithin: "within",
            ast.GeometryTouches: "touches", ast.GeometryCrosses: "crosses",
            ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals"}


class _CaseI:
    """``CASEI(attribute)``: the attribute compared without case (only in ``LIKE`` and ``=``)."""

    def __init__(self, col: Col):
        self.col = col


class PredicateEvaluator(Evaluator):
    """pygeofilter syntax tree -> :class:`twin.store.Pred`, over a whitelist of columns.

    Parameters
    ----------
    columns : collection of str
        The attribute columns a filter may name (the layer's schema).
    geometry : str
        Names that stand for the layer's geometry (``geometry`` and ``geom``).
    """

    def __init__(self, columns: Collection[str], geometry: Collection[str] = ("geometry", GEOM)):
        self.columns = set(columns)
        self.geometry = set(geometry)

    @handle(ast.Attribute)
    def _attribute(self, node: ast.Attribute) -> Col:
        name = node.name
        if name in self.geometry:
            return Col(GEOM)
        if name not in self.columns:
            shown = ", ".join(sorted(self.columns))
            msg = f"the filter names {name!r}, which this collection does not have; its properties: {shown}"
            raise FilterError(msg)
        return Col(name)

    @handle(ast.And, ast.Or)
    def _combination(self, node: ast.Combination, lhs: Any, rhs: Any) -> Pred:
        return Pred("and" if isinstance(node, ast.And) else "or", (self._cond(lhs), self._cond(rhs)))

    @handle(ast.Not)
    def _not_(self, node: ast.Not, sub: Any) -> Pred:
        return Pred("not", (self._cond(sub),))

    @handle(*_CMP)
    def _comparison(self, node: ast.Comparison, lhs: Any, rhs: Any) -> Pred:
        op = _CMP[type(node)]
        if isinstance(lhs, _CaseI) or isinstance(rhs, _CaseI):
            if op not in ("=", "<>"):
                msg = "CASEI(...) is supported with =, <> and LIKE only"
                raise FilterError(msg)
            pred = Pred("ilike", (self._scalar(lhs), _escape_like(self._scalar(rhs))))
            return Pred("not", (pred,)) if op == "<>" else pred
        return Pred(op, (self._scalar(lhs), self._scalar(rhs)))

    @handle(ast.Between)
    def _between(self, node: ast.Between, lhs: Any, low: Any, high: Any) -> Pred:
        pred = Pred("between", (self._scalar(lhs), self._scalar(low), self._scalar(high)))
        return Pred("not", (pred,)) if node.not_ else pred

    @handle(ast.Like)
    def _like(self, node: ast.Like, lhs: Any) -> Pred:
        pattern = node.pattern
        if not isinstance(pattern, str):
            msg = "a LIKE pattern must be a text literal"
            raise FilterError(msg)
        # CQL2 text: % any characters, _ one character, \\ escapes (pygeofilter's parser
        # reports "." as its single-character wildcard, which is not CQL2's)
        pattern = _sql_like_pattern(pattern, "%", "_", "\\")
        nocase = node.nocase or isinstance(lhs, _CaseI)
        pred = Pred("ilike" if nocase else "like", (self._scalar(lhs), pattern))
        return Pred("not", (pred,)) if node.not_ else pred

    @handle(ast.In)
    def _in_(self, node: ast.In, lhs: Any, *options: Any) -> Pred:
        pred = Pred("in", (self._scalar(lhs), *(self._scalar(o) for o in options)))
        return Pred("not", (pred,)) if node.not_ else pred

    @handle(ast.IsNull)
    def _is_null(self, node: ast.IsNull, lhs: Any) -> Pred:
        pred = Pred("is_null", (self._scalar(lhs),))
        return Pred("not", (pred,)) if node.not_ else pred

    @handle(*_SPATIAL)
    def _spatial(self, node: ast.SpatialComparisonPredicate, lhs: Any, rhs: Any) -> Pred:
        for side in (lhs, rhs):
            if not isinstance(side, Col | Geom):
                msg = "a spatial predicate compares the geometry with a geometry literal"
                raise FilterError(msg)
        return Pred(_SPATIAL[type(node)], (lhs, rhs))

    @handle(ast.Function)
    def _function(self, node: ast.Function, *args: Any) -> _CaseI:
        if node.name.lower() in ("casei", "lower") and len(args) == 1 and isinstance(args[0], Col):
            return _CaseI(args[0])
        msg = f"function {node.name}() is not supported in filters here (CASEI(property) is)"
        raise FilterError(msg)

    @handle(values.Geometry)
    def _geometry_literal(self, node: values.Geometry) -> Geom:
        try:
            geom = shapely.geometry.shape(node.geometry)
        except Exception as exc:
            msg = f"the filter holds a geometry that is not valid: {exc}"
            raise FilterError(msg) from exc
        return Geom(shapely.to_wkb(geom))

    @handle(values.Envelope)
    def _envelope(self, node: values.Envelope) -> Geom:
        return Geom(shapely.to_wkb(shapely.box(node.x1, node.y1, node.x2, node.y2)))

    @handle(str, int, float, bool, dt.date, dt.datetime)
    def _literal(self, node: Any) -> Any:
        return node

    def adopt(self, node: Any, *sub_args: Any) -> Any:
        """Any node without a handler: not supported (a 400)."""
        msg = f"the filter uses {type(node).__name__}, which is not supported here"
        raise FilterError(msg)

    def _cond(self, value: Any) -> Pred:
        if isinstance(value, Pred):
            return value
        if isinstance(value, bool):
            return Pred("=", (value, True))
        msg = "AND, OR and NOT combine conditions, not values"
        raise FilterError(msg)

    def _scalar(self, value: Any) -> Any:
        if isinstance(value, _CaseI):
            return value.col
        if isinstance(value, Pred | Geom) or value == Col(GEOM):
            msg = ("a comparison needs a property or a value on each side "
                   "(compare geometries with S_INTERSECTS and the other spatial predicates)")
            raise FilterError(msg)
        return value


def _escape_like(value: Any) -> Any:
    """A value compared with ``CASEI`` equality: a LIKE pattern matching exactly that text."""
    if not isinstance(value, str):
        return value
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sql_like_pattern(pattern: str, wildcard: str, single: str, escape: str | None) -> str:
    r"""A LIKE pattern with pygeofilter's wildcard characters rewritten to SQL's (escape ``\\``)."""
    out = []
    chars = iter(pattern)
    for ch in chars:
        if escape and ch == escape:
            nxt = next(chars, "")
            out.append("\\" + nxt if nxt in ("%", "_", "\\") else nxt)
        elif ch == wildcard:
            out.append("%")
        elif ch == single:
            out.append("_")
        elif ch in ("%", "_", "\\"):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def to_predicate(tree: ast.Node, columns: Collection[str]) -> Pred:
    """The catalog predicate of a parsed filter over ``columns``.

    Raises
    ------
    FilterError
        The filter names an unknown property or uses what is not supported.
    """
    pred = PredicateEvaluator(columns).evaluate(tree)
    if not isinstance(pred, Pred):
        msg = "the filter is a value, not a condition"
        raise FilterError(msg)
    return pred
