"""The engine contract: what every engine takes and gives, declared once.

An engine is three things, listed in :data:`engines.registry.ENGINES`:

* a frozen parameter dataclass (:mod:`twin.params`);
* ``load(source, params) -> inputs``: the edge. It asks a :class:`TwinSource` (the
  built twin, handed in by the shell) for the layers, tables and the paths of rasters
  and weather files it needs, and reads those files only through the readers of
  :mod:`layers.io` and the engines' own file readers; it never opens the catalog;
* ``compute(inputs, params) -> EngineResult``: pure; frames and arrays in, result
  layers, tables and metadata out.

The shell runs ``load``, then ``compute``, then commits every engine's result the same
way (:func:`shell.runners.commit_result`), alone (``twin pv``) or many in one
transaction (``twin build``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    import geopandas as gpd
    import pandas as pd

    from twin.config import CityConfig

__all__ = ["EngineResult", "TwinSource"]


@dataclass
class EngineResult:
    """What an engine computed.

    Attributes
    ----------
    results : dict of str to GeoDataFrame
        Result layers by name (committed as catalog layers).
    tables : dict of str to DataFrame
        Tables by name.
    meta : dict
        JSON-safe metadata of the run (parameters as :func:`twin.params.to_dict` gives
        them, counts, notes), committed under the engine's meta key.
    extra : dict
        Anything else the caller may want (e.g. summary numbers for the CLI); not committed.
    """

    results: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class TwinSource(Protocol):
    """What an engine's ``load`` may ask of a built twin (the shell implements it)."""

    city: CityConfig

    def read_layer(self, name: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """A vector layer (only ``columns`` when given, missing optional columns skipped)."""

    def read_points(self, name: str, *, columns: list[str]) -> gpd.GeoDataFrame:
        """A polygon layer with each geometry replaced by its representative point."""

    def has_layer(self, name: str) -> bool:
        """Whether the twin holds vector layer ``name``."""

    def raster(self, name: str) -> tuple[Path, dict] | None:
        """Path and metadata of raster ``name``, or ``None`` when the twin has none."""

    def table(self, name: str) -> pd.DataFrame:
        """A catalog table."""

    def weather_path(self, name: str | None = None) -> Path:
        """Path of one of the city's weather files (default: the config's first)."""
