"""Step 1 of a batch run: the plan (what runs, on what, under which key) and the PV tiles.

:func:`make_plan` validates the options, resolves every engine's parameters, imports
new input layers, hashes every input and derives the run key; when the published
manifest has that key the run has nothing to do. :func:`plan_tiles` cuts the city's
buildings into tiles and writes each tile's input file (resumed tiles are found in
the cache and not run again).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engines.registry import ENGINES, STAGES, engines_for_stages
from shell.batch.tasks import tile_cache_complete
from shell.batch.tiles import HALO_MARGIN_M, Tile, tile_inputs, write_terrain, write_tile_inputs
from twin import __version__
from twin.config import DATA_DIR, load_city
from twin.errors import ConfigError
from twin.params import from_mapping, to_dict
from twin.store import TwinStore

__all__ = [
    "BatchPlan",
    "TilePlan",
    "engine_params",
    "input_hashes",
    "make_plan",
    "plan_terrain",
    "plan_tiles",
    "run_key",
    "versions",
]

logger = logging.getLogger(__name__)


@dataclass
class BatchPlan:
    """What a batch run will do: the city, stages and parameters, its inputs' hashes and run key.

    ``previous`` is the published manifest when it has this run key (nothing to do);
    otherwise ``work`` (the resume cache of this key) and ``version_dir`` (a fresh,
    unpublished output folder) exist.
    """

    city: object
    store: TwinStore
    stages: list[str]
    engines: list
    params: dict
    out: Path
    config: dict
    hashes: dict[str, str]
    run_key: str
    tile_m: float
    halo_m: float
    retries: int
    threads_per_worker: int
    scheduler: str | None
    rooftop_inputs: object = None
    previous: dict | None = None
    work: Path | None = None
    version_dir: Path | None = None
    t_start: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def whole_city(self) -> list:
        """The engines that run as one task each (all but the tiled rooftop PV)."""
        return [e for e in self.engines if e.name != "pv"]

    def stage_label(self, spec) -> str:
        """The stages an engine computes in this run, as one label (``"water+ground"``)."""
        return "+".join(s for s in spec.stages if s in self.stages)


@dataclass
class TilePlan:
    """The PV tiles of a run: the tiles, their input files and caches, and which still run.

    ``todo`` holds ``(tile, input files)`` for each tile whose cache is not whole;
    ``keys`` the buildings' id and administrative codes (for the PV tables); ``terrain``
    the DEM reprojected to the metric CRS, written once for the tiles to read windows of
    (None without a DEM or without shading).
    """

    tiles: list[Tile] = field(default_factory=list)
    todo: list[tuple[Tile, list[str]]] = field(default_factory=list)
    resumed: int = 0
    bytes_per_tile: list[int] = field(default_factory=list)
    cache: Path | None = None
    crs: object = None
    keys: pd.DataFrame | None = None
    terrain: Path | None = None
    t_start: float = 0.0

    def cache_path(self, tile: Tile) -> Path:
        """The tile's cache file (its ``pv_facets`` rows; siblings hold the others)."""
        return self.cache / f"{tile.tile_id}.parquet"


def make_plan(city_id: str, *, home=None, stages: list[str] | None = None, inputs=None, out=None,
              workers: int | None = None, scheduler: str | None = None, client=None, tile_m: float = 5000.0,
              params: dict | None = None, threads_per_worker: int = 1, retries: int = 2) -> BatchPlan:
    """Validate a run's options, import its new inputs and key it by what it reads.

    Parameters are those of :func:`shell.batch.run_batch`.

    Returns
    -------
    BatchPlan
        With ``previous`` set when the published outputs already have this run key;
        else with a fresh ``version_dir`` and the run's ``work`` folder.

    Raises
    ------
    ConfigError
        Unknown stages or engines, bad parameters, both a cluster and a scheduler, a tile
        size <= 0.
    """
    from engines.pv.rooftop import load as load_rooftop
    from shell.importer import import_layer
    from shell.runners import StoreSource

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    if stages is None:
        stages = list(STAGES)
    engines = engines_for_stages(stages)
    if sum(x is not None for x in (workers, scheduler, client)) > 1:
        msg = "give --workers or --scheduler, not both"
        raise ConfigError(msg)
    if tile_m <= 0:
        msg = f"tile size ({tile_m}) must be > 0 m"
        raise ConfigError(msg)
    stages = [s for s in STAGES if s in stages]
    params = engine_params(params)
    radius_m = params["pv"].radius_m

    if inputs is not None:
        t0 = time.perf_counter()
        for path in sorted(Path(inputs).iterdir()):
            layer = path.name.split(".")[0]
            if path.suffix.lower() in (".parquet", ".gpkg", ".geojson", ".shp") or layer == "buildings":
                import_layer(city_id, layer, path, home=home)
        timings["import_inputs"] = round(time.perf_counter() - t0, 3)

    city = load_city(city_id)
    store = TwinStore(city.id, home)
    rooftop = (load_rooftop(StoreSource(store, city), params["pv"], buildings=False, read_dem=False)
               if "pv" in stages else None)
    out = Path(out) if out is not None else store.root / "batch"
    out.mkdir(parents=True, exist_ok=True)
    config = {"stages": stages, "radius_m": radius_m,
              "params": {e.name: to_dict(params[e.name]) for e in engines}}
    t0 = time.perf_counter()
    hashes = input_hashes(store, city, engines)
    key = run_key(hashes, config)
    timings["hash_inputs"] = round(time.perf_counter() - t0, 3)
    plan = BatchPlan(city=city, store=store, stages=stages, engines=engines, params=params, out=out,
                     config=config, hashes=hashes, run_key=key, tile_m=tile_m,
                     halo_m=radius_m + HALO_MARGIN_M, retries=retries,
                     threads_per_worker=threads_per_worker, scheduler=scheduler,
                     rooftop_inputs=rooftop, t_start=t_start, timings=timings)
    previous = read_manifest(out)
    if previous is not None and previous.get("run_key") == key:
        plan.previous = previous
        return plan
    plan.work = out / ".work" / key
    plan.work.mkdir(parents=True, exist_ok=True)
    # Results go to disk as each stage finishes (partitioned outputs in a fresh version folder,
    # one file per result for the catalog) and are freed: the driver never holds them all.
    plan.version_dir = out / ".versions" / f"{key}-{uuid.uuid4().hex[:6]}"
    plan.version_dir.mkdir(parents=True)
    return plan


def plan_tiles(plan: BatchPlan) -> TilePlan:
    """Cut the city's buildings into PV tiles and write each tile's input file.

    A tile whose cache is already whole (a resumed run) is counted in ``resumed`` and
    not run again. Run by the driver while the whole-city tasks already run.

    Returns
    -------
    TilePlan
        Empty when the run has no ``pv`` stage.
    """
    if "pv" not in plan.stages:
        return TilePlan()
    t0 = time.perf_counter()
    buildings = plan.store.read_layer("buildings")
    tag = int(plan.tile_m)
    cache = plan.work / f"pv-tile{tag}"
    cache.mkdir(parents=True, exist_ok=True)
    inputs_dir = plan.work / f"pv-inputs{tag}"
    tiles, owner, neighbours = tile_inputs(buildings, plan.tile_m, plan.halo_m)
    sizes = write_tile_inputs(buildings, owner, tiles, inputs_dir)
    tp = TilePlan(tiles=tiles, cache=cache, crs=buildings.crs, t_start=t0,
                  keys=pd.DataFrame(buildings[[c for c in ("building_id", "district_adcode",
                                                           "township_code", "is_synthetic")
                                               if c in buildings.columns]]))
    del buildings
    tp.terrain = plan_terrain(plan)
    for k, tile in enumerate(tiles):
        tp.bytes_per_tile.append(int(sizes[neighbours[k]].sum()))
        if tile_cache_complete(tp.cache_path(tile)):
            tp.resumed += 1
        else:
            tp.todo.append((tile, [str(inputs_dir / f"{tiles[i].tile_id}.parquet") for i in neighbours[k]]))
    plan.timings["pv_tile_inputs"] = round(time.perf_counter() - t0, 3)
    return tp


def plan_terrain(plan: BatchPlan) -> Path | None:
    """Write the twin's DEM once, reprojected to the metric CRS as ``twin pv`` reads it.

    The grid is the one :func:`engines.pv.rooftop.read_terrain` makes of the whole DEM,
    so a tile's window (:func:`shell.batch.tiles.read_terrain_window`) holds the very
    cells a single run samples. None when the run has no DEM or no horizon shading.
    """
    from engines.pv.rooftop import read_terrain

    inp = plan.rooftop_inputs
    dem_path = getattr(inp, "dem_path", None)
    if dem_path is None or not plan.params["pv"].shading:
        return None
    t0 = time.perf_counter()
    path = plan.work / "terrain.tif"
    if not path.exists():
        crs = plan.city.metric_crs
        dem, transform = read_terrain(dem_path, crs)
        write_terrain(dem, transform, crs, path)
        del dem
    plan.timings["pv_terrain"] = round(time.perf_counter() - t0, 3)
    return path


def engine_params(given: dict | None) -> dict:
    """Every engine's parameters: those given (dataclass or mapping), defaults for the rest.

    Parameters
    ----------
    given : dict, optional
        Engine name -> its parameter dataclass or a mapping of its fields.

    Returns
    -------
    dict
        Engine name -> parameter dataclass, for every engine of the registry.

    Raises
    ------
    ConfigError
        An unknown engine name, or parameters its dataclass refuses.
    """
    given = dict(given or {})
    unknown = [k for k in given if k not in ENGINES]
    if unknown:
        msg = f"parameters for unknown engine(s) {', '.join(unknown)}; engines: {', '.join(ENGINES)}"
        raise ConfigError(msg)
    out = {}
    for name, spec in ENGINES.items():
        p = given.get(name)
        out[name] = (spec.params() if p is None else p if isinstance(p, spec.params)
                     else from_mapping(spec.params, p, where=f"{name} parameters"))
    return out


def input_hashes(store, city, engines) -> dict[str, str]:
    """Content hashes of every input the engines read (layers, rasters, weather, their config files)."""
    hashes = {}
    for row in store.layers().itertuples():
        if row.kind == "vector":
            hashes[f"layer:{row.name}"] = _sha256(store.root / row.path)
    for row in store.rasters().itertuples():
        hashes[f"raster:{row.name}"] = _sha256(store.root / row.path)
    for p in city.weather_paths:
        hashes[f"weather:{p.name}"] = _sha256(p)
    hashes["config:city"] = _sha256(city.path)
    for pattern in sorted({f for e in engines for f in e.config_files} | {"landcover/*.csv"}):
        for p in sorted(DATA_DIR.glob(pattern)):
            hashes[f"config:{p.relative_to(DATA_DIR).as_posix()}"] = _sha256(p)
    return hashes


def run_key(hashes: dict, config: dict) -> str:
    """The run key: a hash of the inputs' hashes, the configuration and the code version."""
    blob = json.dumps({"inputs": hashes, "params": config, "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def read_manifest(out: Path) -> dict | None:
    """The published manifest under ``out`` (None when there is none or it is unreadable)."""
    path = out / "current" / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def versions() -> dict:
    """Versions of carbon-twin and the libraries that shape the results (for the manifest)."""
    out = {"carbon-twin": __version__}
    for pkg in ("pvlib", "numpy", "pandas", "geopandas", "shapely", "numba", "dask", "distributed",
                "duckdb", "windpowerlib", "networkx", "scipy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[pkg] = importlib.metadata.version(pkg)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
