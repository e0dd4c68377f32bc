"""``twin export tiles``: every building (with its PV figures) and the other layers as PMTiles.

The plan (zooms, what each holds, the 500 KB tile budget) is :mod:`layers.io.tiles`; the
tiles are cut and encoded by DuckDB (:meth:`twin.store.TwinStore.tile_source`: one
staging of each layer in Web Mercator, then one ``ST_AsMVT`` aggregate per layer and
zoom), zoom by zoom, and written as they come (:func:`layers.io.tiles.write_pmtiles`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layers.io.tiles import (
    BUFFER,
    DEFAULT_LAYERS,
    EXTENT,
    MAX_TILE_BYTES,
    MAX_ZOOM,
    MERCATOR_HALF_M,
    MIN_ZOOM,
    TileLayer,
    archive_path,
    attribution,
    check_target,
    plan_pyramid,
    thinning_steps,
    vector_layers,
    write_pmtiles,
)
from twin.config import load_city
from twin.errors import ConfigError, listing
from twin.store import TileSource, TwinStore

__all__ = ["TilesReport", "export_tiles"]

logger = logging.getLogger(__name__)


@dataclass
class TilesReport:
    """What ``twin export tiles`` wrote."""

    path: Path
    layers: dict[str, int]           # layer -> features staged
    zooms: tuple[int, int]
    n_tiles: int = 0
    bytes: int = 0
    max_tile_bytes: int = 0
    thinned: list[str] = field(default_factory=list)   # "z/x/y layer" tiles thinned to fit
    over_budget: list[str] = field(default_factory=list)  # tiles still over the budget (max zoom)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the CLI."""
        n = sum(self.layers.values())
        text = (f"wrote {self.path}: {n:,} features of {len(self.layers)} layers "
                f"({', '.join(self.layers)}), z{self.zooms[0]}-{self.zooms[1]}, {self.n_tiles:,} tiles, "
                f"{self.bytes / 1e6:.1f} MB, largest tile {self.max_tile_bytes / 1e3:.0f} KB, "
                f"{self.seconds:.0f} s")
        if self.thinned:
            text += (f"; {len(self.thinned)} tiles below z{self.zooms[1]} thinned to fit "
                     f"{MAX_TILE_BYTES // 1000} KB")
        if self.over_budget:
            text += f"; {len(self.over_budget)} tiles over {MAX_TILE_BYTES // 1000} KB at full detail"
        return text


def _mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon = x / MERCATOR_HALF_M * 180.0
    lat = math.degrees(math.atan(math.sinh(y / MERCATOR_HALF_M * math.pi)))
    return lon, lat


def _choose(store: TwinStore, names: list[str] | None) -> list[TileLayer]:
    """The tile layers asked (default: every default layer the twin holds), in drawing order."""
    have = set(store.layers()["name"])
    if names:
        unknown = [n for n in names if n not in DEFAULT_LAYERS]
        if unknown:
            msg = f"--layers: unknown layer(s) {listing(unknown)}; choose from {listing(DEFAULT_LAYERS)}"
            raise ConfigError(msg)
        missing = [n for n in names if n not in have]
        if missing:
            msg = (f"--layers: the twin of {store.city_id!r} has no {listing(missing)}; it has "
                   f"{listing(sorted(have & set(DEFAULT_LAYERS)))} (PV and wind sites come from "
                   "`twin sites`)")
            raise ConfigError(msg)
        wanted = set(names)
        return [t for t in DEFAULT_LAYERS.values() if t.name in wanted]
    return [t for t in DEFAULT_LAYERS.values() if t.name in have]


def export_tiles(city_id: str, out: str | os.PathLike | None = None, *, home: str | os.PathLike | None = None,
                 layers: list[str] | None = None, min_zoom: int = MIN_ZOOM,
                 max_zoom: int = MAX_ZOOM) -> TilesReport:
    """Write the twin's layers as Mapbox Vector Tiles in one PMTiles archive.

    Parameters
    ----------
    city_id : str
        City of a built twin.
    out : path-like, optional
        Target ``.pmtiles`` file (written atomically; checked before any tile is cut);
        default ``<home>/<city>/tiles/<city>.pmtiles``, where ``twin serve`` finds it.
    home : path-like, optional
        Folder of twins (default ``$TWIN_HOME``).
    layers : list of str, optional
        Layers to write (names of :data:`layers.io.tiles.DEFAULT_LAYERS`; default: each
        of them the twin holds). Buildings carry the rooftop PV figures of
        ``pv_buildings`` when `twin pv` ran.
    min_zoom, max_zoom : int
        The archive's zoom range; at ``max_zoom`` every feature is in.

    Returns
    -------
    TilesReport

    Raises
    ------
    SourceError
        A wrong suffix or an unwritable target.
    ConfigError
        Unknown layers, layers the twin lacks, a bad zoom range.
    CatalogError
        No built twin, or the catalog cannot be read.
    """
    start = time.monotonic()
    store = TwinStore(load_city(city_id).id, home)
    path = check_target(archive_path(store.home, store.city_id) if out is None else out)
    store.require()
    registry = store.layers().set_index("name")
    chosen = _choose(store, layers)
    plans = plan_pyramid(chosen, min_zoom, max_zoom)
    report = TilesReport(path, {}, (min_zoom, max_zoom))
    with ExitStack() as stack:
        stack.enter_context(store.hold())
        sources: dict[str, TileSource] = {}
        columns: dict[str, list[str]] = {}
        for t in chosen:
            have = store.columns(t.name)
            cols = [c for c in dict.fromkeys((t.id_column, *t.columns)) if c in have]
            join = None
            if t.join is not None and t.join[0] in store.tables():
                jhave = store.columns(t.join[0])
                more = tuple(c for c in t.join[1] if c in jhave and c not in cols)
                if t.id_column in jhave and more:
                    join = (t.join[0], more)
            src = stack.enter_context(store.tile_source(t.name, cols, id_column=t.id_column, join=join))
            sources[t.name] = src
            columns[t.name] = list(src.columns)
            report.layers[t.name] = src.count()
            logger.info("tiles: staged %d %s", report.layers[t.name], t.name)
        extents = [e for e in (s.extent() for s in sources.values()) if e is not None]
        if extents:
            w, s_ = _mercator_to_lonlat(min(e[0] for e in extents), min(e[1] for e in extents))
            e_, n_ = _mercator_to_lonlat(max(e[2] for e in extents), max(e[3] for e in extents))
            bounds = (w, s_, e_, n_)
        else:
            bounds = (-180.0, -85.0, 180.0, 85.0)

        def tiles():
            for plan in plans:
                t0 = time.monotonic()
                parts: dict[tuple[int, int], list[bytes]] = {}
                sizes: dict[tuple[int, int], int] = {}
                for t in chosen:
                    if t.name not in plan.min_size_m:
                        continue
                    size = plan.min_size_m[t.name]
                    got = sources[t.name].tiles(plan.zoom, layer=t.name, min_size_m=size,
                                                extent=EXTENT, buffer=BUFFER)
                    over = [k for k, b in got.items() if sizes.get(k, 0) + len(b) > MAX_TILE_BYTES]
                    if over and plan.zoom < max_zoom:
                        report.thinned += [f"{plan.zoom}/{x}/{y} {t.name}" for x, y in over]
                        for step_size, thin in thinning_steps(size, plan.zoom):
                            again = sources[t.name].tiles(plan.zoom, layer=t.name, min_size_m=step_size,
                                                          thin=thin, only=over, extent=EXTENT, buffer=BUFFER)
                            for k in over:
                                got[k] = again.get(k, b"")
                            over = [k for k in over if sizes.get(k, 0) + len(got[k]) > MAX_TILE_BYTES]
                            if not over:
                                break
                    for k, b in got.items():
                        if b:
                            parts.setdefault(k, []).append(b)
                            sizes[k] = sizes.get(k, 0) + len(b)
                big = [f"{plan.zoom}/{x}/{y}" for (x, y), n in sizes.items() if n > MAX_TILE_BYTES]
                report.over_budget += big
                logger.info("tiles: z%d, %d tiles in %.1f s", plan.zoom, len(parts), time.monotonic() - t0)
                for (x, y), chunks in parts.items():
                    # an MVT tile is a protobuf message of repeated layers: layers concatenate
                    yield plan.zoom, x, y, b"".join(chunks)

        zrange = {t.name: (max(t.min_zoom, min_zoom) if t.min_zoom <= max_zoom else max_zoom, max_zoom)
                  for t in chosen}
        sources_rows = [(n, str(registry.loc[n, "source"]), int(registry.loc[n, "n_rows"]),
                         int(registry.loc[n, "n_synthetic"])) for n in sources]
        n_rows = sum(r[2] for r in sources_rows)
        n_synth = sum(r[3] for r in sources_rows)
        metadata: dict[str, Any] = {
            "name": f"carbon-twin {store.city_id}",
            "description": (f"carbon-twin layers of {store.city_id}: buildings with rooftop PV figures and "
                            "the service layers; units and meanings in vector_layers (twin.schema)"),
            "format": "pbf",
            "type": "overlay",
            "version": "1",
            "minzoom": str(min_zoom),
            "maxzoom": str(max_zoom),
            "bounds": ",".join(f"{v:.6f}" for v in bounds),
            "attribution": attribution(sources_rows),
            "vector_layers": vector_layers(chosen, columns, zrange),
            "synthetic_share": round(n_synth / n_rows, 4) if n_rows else 0.0,
            "synthetic_by_layer": {r[0]: round(r[3] / r[2], 4) if r[2] else 0.0 for r in sources_rows},
            "generator": "carbon-twin twin export tiles (DuckDB ST_AsMVT)",
            "tile_budget_bytes": MAX_TILE_BYTES,
        }
        written = write_pmtiles(path, tiles(), metadata, bounds=bounds)
    report.n_tiles = written["n_tiles"]
    report.bytes = written["bytes"]
    report.max_tile_bytes = written["max_tile_bytes"]
    report.seconds = time.monotonic() - start
    return report
