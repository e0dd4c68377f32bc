"""The engines of carbon-twin, each listed once.

Everything that needs to know the engines reads :data:`ENGINES`: the ``twin`` commands
(their options come from each engine's parameter dataclass), ``twin build`` (its
stages, parameters and input hashes), the commit path, and the map app (which
tables each engine writes, and the command that computes them).

Each :class:`Engine` names its parameter type, its ``load`` (the edge: reads a
:class:`~twin.engine.TwinSource`) and pure ``compute`` functions (:mod:`twin.engine`),
the result layers and tables it writes, the metadata key of its runs, the shipped
configuration files it reads (relative to ``data/``), and the command that runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engines.coverage import city as coverage_engine
from engines.coverage.params import CoverageParams
from engines.pv import rooftop as rooftop_engine
from engines.pv import sites as pv_sites_engine
from engines.pv.params import PVSitesParams, RooftopParams
from engines.sinks import accounting as sinks_engine
from engines.sinks.params import SinksParams
from engines.wind import screen as wind_engine
from engines.wind.screen import WindParams
from twin.engine import EngineResult
from twin.errors import ConfigError

__all__ = ["COVERAGE", "ENGINES", "PV_SITES", "ROOFTOP", "SINKS", "STAGES", "WIND", "Engine", "engine",
           "engines_for_stages"]


@dataclass(frozen=True)
class Engine:
    """One engine: what it takes, what it writes, how it is run.

    Attributes
    ----------
    name : str
        Engine id (also the section of a ``--params`` file).
    title : str
        One line for help texts.
    params : type
        Its frozen parameter dataclass (:mod:`twin.params`).
    load, compute : callable
        ``load(source, params, **inputs) -> inputs`` and
        ``compute(inputs, params, progress=None) -> EngineResult``.
    results, tables : tuple of str
        Result layers and tables it writes (the optional ones included).
    meta_key : str
        Key of its run metadata in the catalog's ``_meta``.
    config_files : tuple of str
        Shipped configuration it reads, relative to ``data/`` (globs allowed).
    stages : tuple of str
        The ``twin build`` stages it computes (in one task).
    command : str
        The ``twin`` command that runs it, with ``{city}``.
    steps : tuple of str
        Progress steps it reports.
    """

    name: str
    title: str
    params: type
    load: Callable[..., Any]
    compute: Callable[..., EngineResult]
    results: tuple[str, ...]
    tables: tuple[str, ...]
    meta_key: str
    config_files: tuple[str, ...]
    stages: tuple[str, ...]
    command: str
    steps: tuple[str, ...] = ()


ROOFTOP = Engine(
    name="pv", title="Rooftop PV: facets, horizon shading, pvlib-exact yield, scenarios",
    params=RooftopParams, load=rooftop_engine.load, compute=rooftop_engine.compute,
    results=("pv_buildings", "pv_facets"),
    tables=("pv_districts", "pv_townships", "pv_city", "pv_targets"),
    meta_key="pv", config_files=("pv/scenarios.toml",), stages=("pv",),
    command="twin pv --city {city}",
    steps=("weather", "roof facets", "horizon shading", "yield", "scenarios", "aggregate"),
)
PV_SITES = Engine(
    name="pv_sites", title="Water-surface and ground PV sites with exclusions, storage and targets",
    params=PVSitesParams, load=pv_sites_engine.load, compute=pv_sites_engine.compute,
    results=("water_pv_sites", "water_pv_exclusions", "ground_pv_sites", "ground_pv_exclusions"),
    tables=("water_pv_districts", "ground_pv_districts", "pv_sites_city", "pv_sites_targets",
            "pv_sites_storage", "pv_sites_repairs"),
    meta_key="pv_sites", config_files=("pv/sites.toml",), stages=("water", "ground"),
    command="twin sites --city {city} --only pv", steps=pv_sites_engine.STEPS,
)
WIND = Engine(
    name="wind", title="Distributed wind: exclusions, placement, energy, targets",
    params=WindParams, load=wind_engine.load, compute=wind_engine.compute,
    results=("wind_sites", "wind_exclusions", "wind_candidate_areas", "wind_areas"),
    tables=("wind_districts", "wind_targets"),
    meta_key="wind_screen", config_files=("wind/siting.toml",), stages=("wind",),
    command="twin sites --city {city} --only wind",
    steps=("wind: exclusions", "wind: placement", "wind: energy", "wind: totals"),
)
SINKS = Engine(
    name="sinks", title="Carbon stocks, sequestration and sink indicators against the targets",
    params=SinksParams, load=sinks_engine.load, compute=sinks_engine.compute,
    results=("sink_patches",),
    tables=("sink_indicators", "sink_unmapped_classes", "sink_scenario", "sink_factors"),
    meta_key="sinks", config_files=("sinks/*", "landcover/*.csv"), stages=("sinks",),
    command="twin sinks --city {city}", steps=sinks_engine.STEPS,
)
COVERAGE = Engine(
    name="coverage", title="Charging circles, piles, bus stops, green space and parks; new sites",
    params=CoverageParams, load=coverage_engine.load, compute=coverage_engine.compute,
    results=("coverage_demand", "coverage_cells", "coverage_isochrones", "coverage_sites"),
    tables=("coverage_summary", "coverage_admin", "coverage_issues"),
    meta_key="coverage", config_files=(), stages=("coverage",),
    command="twin coverage --city {city}",
    steps=("network", "demand", "drive times", "walking distances", "isochrones",
           "administrative coverage", "summary", "siting"),
)

#: Every engine, in the order ``twin build`` runs them.
ENGINES: dict[str, Engine] = {e.name: e for e in (ROOFTOP, PV_SITES, WIND, SINKS, COVERAGE)}

#: Stages of ``twin build``, in the order they run.
STAGES: tuple[str, ...] = tuple(s for e in ENGINES.values() for s in e.stages)


def engine(name: str) -> Engine:
    """The engine named ``name``.

    Raises
    ------
    ConfigError
        Naming the engines there are.
    """
    try:
        return ENGINES[name]
    except KeyError:
        msg = f"unknown engine {name!r}; engines: {', '.join(ENGINES)}"
        raise ConfigError(msg) from None


def engines_for_stages(stages: Iterable[str]) -> list[Engine]:
    """The engines computing ``stages`` (each once, in :data:`ENGINES` order).

    Raises
    ------
    ConfigError
        A stage no engine computes.
    """
    stages = list(stages)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        msg = f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(STAGES)}"
        raise ConfigError(msg)
    return [e for e in ENGINES.values() if set(e.stages) & set(stages)]
