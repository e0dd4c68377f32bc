"""Engine runs on a built twin: the one place that hands a twin to an engine and commits its result.

:func:`run_engine` is what ``twin pv``, ``twin sites``, ``twin sinks`` and
``twin coverage`` call, and what ``twin build`` runs on its workers: it opens the
twin (:class:`StoreSource`, the :class:`~twin.engine.TwinSource` every engine's
``load`` reads), runs the engine's ``load`` and pure ``compute``
(:mod:`engines.registry`), records the parameters in the result's metadata, and
commits it (:func:`commit_result`) unless told not to.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from engines.registry import engine
from twin.config import CityConfig, load_city
from twin.engine import EngineResult
from twin.errors import ConfigError
from twin.params import from_mapping
from twin.store import TwinStore

__all__ = ["BUILDING_BATCH_ROWS", "StoreSource", "commit_result", "json_safe", "run_engine", "validate_city"]

logger = logging.getLogger(__name__)

#: Rows per batch when a polygon layer is read as points (:meth:`StoreSource.read_points`).
BUILDING_BATCH_ROWS = 65_536


class StoreSource:
    """A built twin as engines see it (:class:`twin.engine.TwinSource` over a :class:`TwinStore`).

    Parameters
    ----------
    store : TwinStore
        A built twin (checked to exist).
    city : CityConfig
        Its city.
    """

    def __init__(self, store: TwinStore, city: CityConfig):
        store.require()
        self.store = store
        self.city = city

    def read_layer(self, name: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """A layer; of ``columns``, those the stored layer has (a missing optional column stays missing)."""
        if columns is not None:
            have = set(self.store.layer_columns(name))
            columns = [c for c in columns if c in have]
        return self.store.read_layer(name, columns=columns)

    def read_points(self, name: str, *, columns: list[str]) -> gpd.GeoDataFrame:
        """A polygon layer, each geometry replaced by its representative point, read in batches."""
        have = set(self.store.layer_columns(name))
        return self.store.read_points(name, columns=[c for c in columns if c in have],
                                      batch_rows=BUILDING_BATCH_ROWS)

    def has_layer(self, name: str) -> bool:
        """Whether the twin holds vector layer ``name``."""
        return self.store.has_layer(name)

    def raster(self, name: str) -> tuple[Path, dict] | None:
        """Path and metadata of raster ``name``, or ``None`` when the twin has none."""
        if name not in set(self.store.rasters()["name"]):
            return None
        return self.store.raster_path(name)

    def table(self, name: str) -> pd.DataFrame:
        """A catalog table."""
        return self.store.table(name)

    def weather_path(self, name: str | None = None) -> Path:
        """One of the city's weather files (default: the config's first)."""
        return self.city.weather_path_for(name)


def commit_result(store: TwinStore, result: EngineResult) -> None:
    """Commit an engine's result layers, tables and metadata in one transaction."""
    store.commit(results=result.results, tables=result.tables, meta=result.meta)


def run_engine(name: str, city_id: str, *, home=None, params: Any = None, commit: bool = True,
               progress: Callable[[str], None] | None = None, **inputs) -> EngineResult:
    """Run engine ``name`` on the built twin of ``city_id``.

    Parameters
    ----------
    name : str
        An engine of :data:`engines.registry.ENGINES`.
    city_id : str
        City of a built twin.
    home : path-like, optional
        Folder of twins (default ``$TWIN_HOME``).
    params : parameter dataclass or mapping, optional
        The engine's parameters (a mapping is validated into its dataclass); defaults
        when omitted.
    commit : bool
        Commit the result to the twin (else only return it).
    progress : callable, optional
        Called with the name of each step.
    **inputs
        Extra inputs of the engine's ``load`` (e.g. ``user_sites`` for ``pv_sites``,
        ``protected`` for ``wind``, ``candidates`` for ``coverage``, ``threads`` for ``sinks``).

    Returns
    -------
    EngineResult
    """
    spec = engine(name)
    if params is None:
        params = spec.params()
    elif not isinstance(params, spec.params):
        if isinstance(params, type) or not hasattr(params, "keys"):
            msg = f"{name}: params must be a {spec.params.__name__} or a mapping, got {type(params).__name__}"
            raise ConfigError(msg)
        params = from_mapping(spec.params, params, where=f"{name} parameters")
    step = progress or (lambda s: None)
    city = load_city(city_id)
    store = TwinStore(city.id, home)
    step("read twin")
    data = spec.load(StoreSource(store, city), params, **inputs)
    result = spec.compute(data, params, progress=step)
    if commit:
        step("commit")
        commit_result(store, result)
    logger.info("%s on %s: %d result layers, %d tables", name, city.id, len(result.results),
                len(result.tables))
    return result


def json_safe(obj):
    """Replace NaN/inf and pandas NA with None, recursively (for JSON output)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_safe(v) for v in obj]
    if obj is pd.NA:
        return None
    if isinstance(obj, float | np.floating) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return obj.item()
    return obj



def validate_city(city_id: str, *, home=None, checks_path=None, commit: bool = True) -> EngineResult:
    """Hold the built twin of ``city_id`` against the real city (:mod:`engines.validation`).

    Commits the ``validation`` table (and its counts in ``_meta``) unless ``commit`` is false.
    """
    from engines import validation

    city = load_city(city_id)
    store = TwinStore(city.id, home)
    data = validation.load(StoreSource(store, city), validation.read_checks(checks_path))
    result = validation.compute(data)
    if commit:
        commit_result(store, result)
    return result
