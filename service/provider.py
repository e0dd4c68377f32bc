"""A pygeoapi feature provider over a built twin's catalog (read-only, every value bound).

One provider serves one catalog table (a layer or an engine result) of one city. Each
gunicorn worker keeps one read-only catalog connection per city and catalog version
(:func:`store_for`), as the map app does; queries go through :class:`twin.store.TwinStore`
(``count``/``select_wkb`` with a ``bbox``, a property ``where``, a CQL2 :class:`~twin.store.Pred`
and a time limit), so this module holds no SQL.

Coordinates. Layers are stored in EPSG:4549 with x = easting, y = northing. pygeoapi
speaks each CRS in its authority's axis order (EPSG:4549 and EPSG:4490: northing/latitude
first; CRS84: longitude first): the bbox and the filter geometries it hands over in the
storage CRS are therefore (northing, easting) and are swapped here, and the provider
writes its output in the requested CRS's axis order itself (CRS84 by default), instead of
pygeoapi's ``crs_transform`` decorator, which would read the stored coordinates the
wrong way round.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
import weakref
from collections import OrderedDict
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderGenericError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)

from service.cql import FilterError, to_predicate
from twin.errors import CatalogError, CatalogLockedError, QueryTimeoutError
from twin.store import Geom, Pred, TwinStore

__all__ = ["CRS84", "STORAGE_CRS", "SUPPORTED_CRS", "TwinProvider", "store_for"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4549"
#: CRSs the items can be asked in (OGC API - Features Part 2 ``crs``/``bbox-crs``/``filter-crs``).
SUPPORTED_CRS = [CRS84, STORAGE_CRS, "http://www.opengis.net/def/crs/EPSG/0/4490"]
#: Default time limit of one catalog query [s] (``options.timeout_s`` of a collection).
DEFAULT_TIMEOUT_S = 10.0

_STORES: dict[tuple[str, str], tuple[float, TwinStore]] = {}
_STORES_LOCK = threading.Lock()
#: Matching row ids kept per store (one catalog version) and query, most recent last.
_MATCHES: weakref.WeakKeyDictionary[TwinStore, OrderedDict[Any, np.ndarray]] = weakref.WeakKeyDictionary()
_MATCHES_LOCK = threading.Lock()
#: How many queries' matching row ids each store keeps (a page walk re-asks the same query).
MATCH_CACHE_SIZE = 64


class ServiceUnavailableError(ProviderGenericError):
    """The catalog is being rebuilt, or a query ran past its time limit (503: try again)."""

    ogc_exception_code = "ServiceUnavailable"
    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, msg: str) -> None:
        super().__init__(msg, user_msg=msg)


def _bad(msg: str) -> ProviderInvalidQueryError:
    return ProviderInvalidQueryError(msg, user_msg=msg)


def store_for(home: str | os.PathLike, city: str) -> TwinStore:
    """The read-only store of ``city``, reopened when the catalog file changes."""
    home = str(Path(home).resolve())
    path = TwinStore(city, home).catalog_path
    try:
        version = path.stat().st_mtime
    except OSError as exc:
        msg = f"the twin of {city!r} is not built at {path.parent}"
        raise ServiceUnavailableError(msg) from exc
    with _STORES_LOCK:
        have = _STORES.get((home, city))
        if have is not None and have[0] == version:
            return have[1]
        if have is not None:
            have[1].close()
        store = TwinStore(city, home, lock_wait_s=5.0).hold()
        _STORES[(home, city)] = (version, store)
        return store


def _north_first(crs: pyproj.CRS) -> bool:
    return bool(crs.axis_info) and crs.axis_info[0].direction in ("north", "south")


_TRANSFORMERS: dict[str, tuple[pyproj.Transformer, bool]] = {}


def _output_transform(target_uri: str) -> tuple[pyproj.Transformer, bool] | None:
    """Storage (x=east) -> ``target_uri`` as (transformer with xy order, swap to north-first?)."""
    if target_uri in _TRANSFORMERS:
        return _TRANSFORMERS[target_uri]
    from pygeoapi.util import get_crs_from_uri

    target = get_crs_from_uri(target_uri)
    out = (pyproj.Transformer.from_crs(get_crs_from_uri(STORAGE_CRS), target, always_xy=True),
           _north_first(target))
    _TRANSFORMERS[target_uri] = out
    return out


def _swap_xy(geom: Any) -> Any:
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


def _swap_pred(pred: Any) -> Any:
    """A predicate with every geometry literal's axes swapped (authority order -> x = easting)."""
    if isinstance(pred, Geom):
        return Geom(shapely.to_wkb(_swap_xy(shapely.from_wkb(pred.wkb))))
    if isinstance(pred, Pred):
        return Pred(pred.op, tuple(_swap_pred(a) for a in pred.args))
    return pred


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _json_column(col: pd.Series) -> list[Any]:
    """A column's values as JSON values (NaN, NA and infinities: None), vectorised where it can."""
    if pd.api.types.is_bool_dtype(col.dtype) and not col.hasnans:
        return [bool(v) for v in col.to_numpy()]
    if pd.api.types.is_integer_dtype(col.dtype) and not col.hasnans:
        return col.to_numpy(dtype=np.int64).tolist()
    if pd.api.types.is_float_dtype(col.dtype):
        arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
        vals: list[Any] = arr.tolist()
        for i in np.flatnonzero(~np.isfinite(arr)):
            vals[i] = None
        return vals
    return [_json_value(v) for v in col.astype(object).to_numpy()]


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class TwinProvider(BaseProvider):
    """Features of one catalog table of one city (pygeoapi ``feature`` provider).

    The provider definition's ``data`` is ``{"home": ..., "city": ..., "table": ...}``;
    ``fields`` (written by :mod:`service.config`) maps each property to its JSON type,
    ``options.timeout_s`` bounds each query [s].
    """

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        data = provider_def["data"]
        self.home, self.city, self.table = data["home"], data["city"], data["table"]
        self._fields = dict(provider_def.get("fields") or {})
        self.timeout_s = float((self.options or {}).get("timeout_s", DEFAULT_TIMEOUT_S))

    def get_fields(self) -> dict:
        """Properties and their JSON types (from the configuration, not the catalog)."""
        return self._fields

    def _store(self) -> TwinStore:
        return store_for(self.home, self.city)

    # -- query parts ------------------------------------------------------------------
    def _where(self, properties: list[tuple[str, str]]) -> dict[str, Any]:
        where: dict[str, Any] = {}
        for name, raw in properties:
            kind = self._fields.get(name, {}).get("type")
            if kind is None:
                shown = ", ".join(self._fields)
                msg = (f"unknown query parameter or property {name!r} for this collection; "
                       f"its properties are {shown}")
                raise _bad(msg)
            text = str(raw)
            try:
                if kind == "integer":
                    value: Any = int(text)
                elif kind == "number":
                    value = float(text)
                elif kind == "boolean":
                    if text.lower() not in _TRUE | _FALSE:
                        raise ValueError(text)
                    value = text.lower() in _TRUE
                else:
                    value = text
            except ValueError:
                msg = f"property {name!r} is a {kind}; {text!r} is not one"
                raise _bad(msg) from None
            where[name] = value
        return where

    def _pred(self, filterq: Any) -> Pred | None:
        if filterq is None:
            return None
        try:
            pred = to_predicate(filterq, self._fields)
        except FilterError as exc:
            raise _bad(str(exc)) from exc
        return _swap_pred(pred)

    def _order(self, sortby: list[dict] | None) -> list[str]:
        keys = [("-" if s.get("order") == "-" else "") + s["property"] for s in sortby or []]
        if self.id_field and self.id_field not in {k.lstrip("-") for k in keys}:
            keys.append(self.id_field)  # a total order: pages never repeat or skip a feature
        return keys

    def _matches(self, store: TwinStore, where: dict[str, Any], box: list[float] | None,
                 pred: Pred | None, order: list[str]) -> np.ndarray:
        """Row ids of every matching feature in page order, kept for the catalog's lifetime.

        The catalog is read-only while served (a rebuilt one is a new store), so one scan
        answers ``numberMatched`` and every page of a query. The order of all rows is read
        once per ``order``; a filtered query's rows are put in that order by their rank.
        """
        key = (self.table, tuple(sorted(where.items())), None if box is None else tuple(box), pred,
               tuple(order))
        whole = (self.table, (), None, None, tuple(order))
        with _MATCHES_LOCK:
            cache = _MATCHES.setdefault(store, OrderedDict())
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
            ordered = cache.get(whole)
        if ordered is None:
            ordered = self._run("ordering features", lambda: store.rowids(
                self.table, order_by=order, timeout_s=self.timeout_s))
        out = ordered
        if key != whole:
            found = self._run("finding features", lambda: store.rowids(
                self.table, where=where, bbox=box, pred=pred, timeout_s=self.timeout_s))
            rank = np.empty(int(ordered.max(initial=-1)) + 1, dtype=np.int64)
            rank[ordered] = np.arange(len(ordered))
            out = found[np.argsort(rank[found], kind="stable")]
        with _MATCHES_LOCK:
            cache[whole] = ordered
            cache[key] = out
            cache.move_to_end(key)
            while len(cache) > MATCH_CACHE_SIZE:
                cache.popitem(last=False)
        return out

    def _run(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except QueryTimeoutError as exc:
            raise ServiceUnavailableError(str(exc)) from exc
        except CatalogLockedError as exc:
            raise ServiceUnavailableError(str(exc)) from exc
        except CatalogError as exc:
            raise _bad(f"{what}: {exc}") from exc

    def _features(self, df: pd.DataFrame, columns: list[str], skip_geometry: bool,
                  crs_transform_spec: Any) -> list[dict]:
        # pygeoapi passes no transform when the storage CRS itself is asked for, and a
        # transform to CRS84 when no crs is asked for
        target = STORAGE_CRS if crs_transform_spec is None else crs_transform_spec.target_crs_uri
        geoms = None
        if not skip_geometry:
            geoms = shapely.from_wkb(df["wkb"].to_numpy())
            if target != STORAGE_CRS:
                transformer, swap = _output_transform(target)

                def to_target(xy: np.ndarray) -> np.ndarray:
                    x, y = transformer.transform(xy[:, 0], xy[:, 1])
                    return np.column_stack([y, x] if swap else [x, y])

                geoms = shapely.transform(geoms, to_target)
            else:
                geoms = _swap_xy(geoms)  # EPSG:4549 is northing first
        values = [_json_column(df[c]) for c in columns]
        shapes = [None] * len(df) if geoms is None else [
            None if g is None else json.loads(g) for g in shapely.to_geojson(geoms)]
        out = []
        for i, row in enumerate(zip(*values, strict=True) if values else [()] * len(df)):
            props = dict(zip(columns, row, strict=True))
            fid = props.get(self.id_field) if self.id_field else i
            out.append({"type": "Feature", "id": fid, "geometry": shapes[i], "properties": props})
        return out

    # -- the provider interface -------------------------------------------------------------
    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list | None = None, datetime_: Any = None, properties: list | None = None,
              sortby: list | None = None, select_properties: list | None = None,
              skip_geometry: bool = False, q: Any = None, filterq: Any = None,
              crs_transform_spec: Any = None, **kwargs: Any) -> dict:
        """One page of features, with ``numberMatched`` and ``numberReturned``."""
        if q is not None:
            msg = "free-text search (q) is not offered; use filter= (CQL2 text)"
            raise _bad(msg)
        where = self._where(list(properties or []))
        pred = self._pred(filterq)
        box = None
        if bbox:
            if len(bbox) != 4:
                msg = "bbox must have 4 numbers (minx, miny, maxx, maxy); 3-D boxes are not offered"
                raise _bad(msg)
            n1, e1, n2, e2 = (float(v) for v in bbox)  # pygeoapi: storage CRS, northing first
            box = [min(e1, e2), min(n1, n2), max(e1, e2), max(n1, n2)]
        store = self._store()
        order = self._order(sortby)
        matches = self._matches(store, where, box, pred, order)
        page: dict[str, Any] = {"type": "FeatureCollection", "features": [],
                                "numberMatched": len(matches), "numberReturned": 0}
        if resulttype == "hits":
            return page
        columns = [c for c in (select_properties or self._fields) if c in self._fields]
        if self.id_field and self.id_field not in columns:
            columns.insert(0, self.id_field)
        ids = matches[int(offset): int(offset) + int(limit)]
        df = self._run("reading features", lambda: store.select_wkb(
            self.table, columns, rowids=ids, timeout_s=self.timeout_s))
        page["features"] = self._features(df, columns, skip_geometry, crs_transform_spec)
        page["numberReturned"] = len(page["features"])
        return page

    def get(self, identifier: Any, crs_transform_spec: Any = None, **kwargs: Any) -> dict:
        """One feature by its id (404 when there is none)."""
        if not self.id_field:
            raise ProviderItemNotFoundError(user_msg=f"collection has no id field: {identifier!r}")
        store = self._store()
        columns = list(self._fields)
        df = self._run("reading a feature", lambda: store.select_wkb(
            self.table, columns, where={self.id_field: str(identifier)}, limit=1,
            timeout_s=self.timeout_s))
        if df.empty:
            msg = f"no feature {identifier!r} in this collection"
            raise ProviderItemNotFoundError(msg, user_msg=msg)
        return self._features(df, columns, False, crs_transform_spec)[0]

    def __repr__(self) -> str:
        return f"<TwinProvider> {self.city}/{self.table}"

