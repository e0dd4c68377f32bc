"""Batch regeneration of a city's potential layers on Dask: tiled, resumable, repeatable.

``twin build`` runs the engines over a built twin:

* **pv** is tiled. The city's buildings are cut into square tiles (aligned to
  multiples of the tile size in the metric CRS, so tile ids are stable). The driver
  writes each tile's own buildings to a small Parquet file once; each tile task reads
  its file and its neighbours' (keeping the buildings that meet its halo, which is
  wide enough for shading: the horizon radius plus a margin for facets that sit off
  their building's centroid), runs :func:`engines.pv.rooftop.rooftop_potential`
  and writes its per-building and per-facet rows to the resume cache itself. Each
  building belongs to exactly one tile and sees every neighbour within the radius,
  so its numbers do not depend on the tiling; rows are sorted by id before any sum,
  so totals are identical too. The driver only schedules, then merges the cache.
* Whole-city stages (water and ground PV, wind, sinks, coverage) run as one task
  each, submitted first so they run beside the tiles; they need the whole network
  or city, and write their result layers on the worker.

Workers read and write the twin's files and ``<out>`` by path, so on a cluster these
must be on storage every worker sees at the same path (as with reV on HPC).

Finished tile results are cached under ``<out>/.work/<run key>/`` as they arrive,
so a killed or failed run resumes from them. Outputs are written into a fresh
version folder and published by atomically swapping the ``<out>/current``
symlink, then committed to the catalog in one transaction: a killed run leaves
the previous outputs whole. A run whose inputs and configuration hash to the key
of the published manifest does nothing and says so.

A tile that fails is retried (``retries``), then reported with its error while
the others finish; the run then raises :class:`BatchError` naming the failed
tiles. A worker that dies mid-run loses nothing: the scheduler reruns its tasks.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from engines.registry import ENGINES, STAGES, engines_for_stages
from twin import __version__
from twin.config import DATA_DIR, load_city
from twin.errors import ConfigError, TwinError
from twin.fsutil import atomic_write_text
from twin.params import from_mapping, to_dict
from twin.store import TwinStore

__all__ = [
    "STAGES",
    "BatchError",
    "BatchResult",
    "Tile",
    "assign_tiles",
    "run_batch",
    "tile_grid",
]

logger = logging.getLogger(__name__)

#: Extra halo beyond the shading radius: how far a facet centroid may sit from its
#: building's representative point (half the diagonal of a 280 m shed) [m].
HALO_MARGIN_M = 200.0
_OUTPUT_PARTITION = "district_adcode"


class BatchError(TwinError, RuntimeError):
    """Some tiles or stages failed; the message names them and their errors."""


@dataclass(frozen=True)
class Tile:
    """A square tile of the city: its core (where its buildings are) and its halo box."""

    tile_id: str
    ix: int
    iy: int
    bounds: tuple[float, float, float, float]
    halo_bounds: tuple[float, float, float, float]


def assign_tiles(x: np.ndarray, y: np.ndarray, tile_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Tile indices of points: ``floor(x / tile_m)``, ``floor(y / tile_m)``."""
    return (np.floor(np.asarray(x) / tile_m).astype("int64"),
            np.floor(np.asarray(y) / tile_m).astype("int64"))


def tile_grid(ix: np.ndarray, iy: np.ndarray, tile_m: float, halo_m: float) -> list[Tile]:
    """The non-empty tiles for points with tile indices ``ix``, ``iy``, sorted by id."""
    pairs = sorted(set(zip(ix.tolist(), iy.tolist(), strict=True)))
    tiles = []
    for i, j in pairs:
        b = (i * tile_m, j * tile_m, (i + 1) * tile_m, (j + 1) * tile_m)
        h = (b[0] - halo_m, b[1] - halo_m, b[2] + halo_m, b[3] + halo_m)
        tiles.append(Tile(f"t{i:+06d}{j:+06d}", i, j, b, h))
    return tiles


@dataclass
class BatchResult:
    """What a batch run did."""

    status: str  # "done" or "unchanged"
    run_key: str
    out: Path
    manifest: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# Tasks (run on workers: top-level, picklable, pure apart from reading their arguments)
# ---------------------------------------------------------------------------------------


def _pv_tile_task(tile: Tile, files: list[str], crs, shared: tuple, params, threads: int, cache: str):
    """Rooftop PV for the buildings whose representative point is in ``tile``.

    Reads the tile's buildings and its halo from ``files`` (see :func:`_read_tile_inputs`)
    and writes its rows of the ``pv_buildings`` and ``pv_facets`` layers (and the raw
    per-building rows) to the resume cache ``cache`` itself, so only a few numbers
    cross the wire. Returns ``(tile id, facets, buildings)``.
    """
    from engines.pv.rooftop import rooftop_potential

    _limit_threads(threads)
    weather, location, scenarios = shared
    buildings = _read_tile_inputs(tile, files, crs)
    weather = weather.copy(deep=True)  # arrives on a read-only buffer; engines may write in place
    core = buildings.loc[buildings["_core"]].drop(columns="_core")
    obstacles = buildings.drop(columns="_core")
    facets, per_building = rooftop_potential(core, weather, location, scenarios, radius_m=params.radius_m,
                                             shading=params.shading, obstacles=obstacles,
                                             model=params.options())
    _write_tile_cache(Path(cache), facets, per_building, core, params.scenario, scenarios)
    return tile.tile_id, len(facets), len(per_building)


def _whole_city_task(name: str, city_id: str, home: str, params, threads: int, version_dir: str,
                     work: str):
    """Run a whole-city engine (:func:`shell.runners.run_engine`, no commit) and write its layers here.

    Returns ``{"results": name -> single GeoParquet file, "tables": ..., "meta": ...}``.
    """
    from shell.runners import run_engine

    _limit_threads(threads)
    extra = {"threads": threads} if name == "sinks" else {}
    res = run_engine(name, city_id, home=home, params=params, commit=False, **extra)
    out = {"results": _write_results(Path(version_dir), Path(work), res.results), "tables": res.tables,
           "meta": res.meta}
    del res
    _release_memory()
    return out


def _shared(*values):
    """The values themselves, as a task result workers fetch once and share."""
    return values


def _release_memory() -> None:
    """Hand freed memory back to the OS after a big task (glibc and Arrow keep it otherwise).

    A worker that ran a whole-city stage would else carry that stage's high-water mark
    into the tile and merge tasks it runs next.
    """
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(Exception):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _limit_threads(threads: int) -> None:
    with contextlib.suppress(Exception):
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


# ---------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict:
    out = {"carbon-twin": __version__}
    for pkg in ("pvlib", "numpy", "pandas", "geopandas", "shapely", "numba", "dask", "distributed",
                "duckdb", "windpowerlib", "networkx", "scipy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[pkg] = importlib.metadata.version(pkg)
    return out


def _input_hashes(store, city, engines) -> dict[str, str]:
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


def _engine_params(given: dict | None) -> dict:
    """Every engine's parameters: those given (dataclass or mapping), defaults for the rest."""
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


def _run_key(hashes: dict, params: dict) -> str:
    blob = json.dumps({"inputs": hashes, "params": params, "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _read_manifest(out: Path) -> dict | None:
    path = out / "current" / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _client(workers: int | None, scheduler: str | None, threads: int):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s"), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=threads, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _close(client, cluster) -> None:
    """Shut the client and local cluster down without the scheduler's closing chatter."""
    dist = logging.getLogger("distributed")
    level = dist.level
    dist.setLevel(logging.CRITICAL)
    try:
        client.close()
        if cluster is not None:
            cluster.close()
    finally:
        dist.setLevel(level)


def _tile_rows(buildings: gpd.GeoDataFrame, tile_m: float, halo_m: float):
    """Tiles with the rows they need: ``[(tile, rows, is_core), ...]``, sorted by tile.

    A building belongs to (is core in) the tile holding its representative point; a
    tile's rows are its core buildings plus every building meeting its halo box.
    """
    import shapely

    pts = buildings.geometry.representative_point()
    ix, iy = assign_tiles(pts.x.to_numpy(), pts.y.to_numpy(), tile_m)
    tiles = tile_grid(ix, iy, tile_m, halo_m)
    boxes = shapely.box(*np.array([t.halo_bounds for t in tiles]).T)
    tree = shapely.STRtree(buildings.geometry.values)
    tile_idx, bld_idx = tree.query(boxes, predicate="intersects")
    order = np.argsort(tile_idx, kind="stable")
    tile_idx, bld_idx = tile_idx[order], bld_idx[order]
    splits = np.searchsorted(tile_idx, np.arange(len(tiles) + 1))
    key = {(t.ix, t.iy): k for k, t in enumerate(tiles)}
    own = np.array([key[(a, b)] for a, b in zip(ix.tolist(), iy.tolist(), strict=True)], dtype="int64")
    own_order = np.argsort(own, kind="stable")
    own_splits = np.searchsorted(own[own_order], np.arange(len(tiles) + 1))
    out = []
    for k, tile in enumerate(tiles):
        rows = np.union1d(bld_idx[splits[k]:splits[k + 1]], own_order[own_splits[k]:own_splits[k + 1]])
        out.append((tile, rows, own[rows] == k))
    return out


def _tile_inputs(buildings: gpd.GeoDataFrame, tile_m: float, halo_m: float):
    """Tiles, the building rows each owns, and the tiles each must read for its halo.

    A building is owned by the tile holding its representative point. A tile's halo
    (``halo_m`` around it) can only meet buildings owned by tiles within ``k`` tiles of
    it, where ``k = 1 + (reach + halo_m) // tile_m`` and ``reach`` is the farthest any
    footprint extends from its representative point.

    Returns
    -------
    tiles : list of Tile
        Sorted by id.
    owner : numpy.ndarray
        Index into ``tiles`` of each building's tile.
    neighbours : list of numpy.ndarray
        For each tile, the indices of the tiles (itself first) whose buildings it reads.
    """
    import shapely

    geoms = buildings.geometry.values
    pts = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    ix, iy = assign_tiles(x, y, tile_m)
    pairs, owner = np.unique(np.stack([ix, iy], axis=1), axis=0, return_inverse=True)
    tiles = tile_grid(ix, iy, tile_m, halo_m)
    assert [(t.ix, t.iy) for t in tiles] == [tuple(p) for p in pairs.tolist()]
    bounds = shapely.bounds(geoms)
    reach = float(np.max(np.abs(bounds - np.stack([x, y, x, y], axis=1)), initial=0.0))
    k = 1 + int((reach + halo_m) // tile_m)
    index = {p: n for n, p in enumerate(map(tuple, pairs.tolist()))}
    neighbours = []
    for t in tiles:
        near = [index[(t.ix + di, t.iy + dj)] for di in range(-k, k + 1) for dj in range(-k, k + 1)
                if (di or dj) and (t.ix + di, t.iy + dj) in index]
        neighbours.append(np.array([index[(t.ix, t.iy)], *sorted(near)], dtype="int64"))
    return tiles, owner.ravel(), neighbours


def _write_tile_inputs(buildings: gpd.GeoDataFrame, owner: np.ndarray, tiles: list[Tile],
                       folder: Path) -> np.ndarray:
    """Write each tile's own buildings to ``folder/<tile id>.parquet``; return the file sizes.

    The files are plain Parquet (geometry as WKB, the frame's index and each row's
    position in ``_row``); files already there (a resumed run) are kept.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    from twin.fsutil import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{t.tile_id}.parquet" for t in tiles]
    if not all(p.exists() for p in paths):
        frame = pd.DataFrame(buildings)
        frame[buildings.geometry.name] = shapely.to_wkb(buildings.geometry.values)  # same place
        frame["_row"] = np.arange(len(frame), dtype="int64")
        order = np.argsort(owner, kind="stable")
        table = pa.Table.from_pandas(frame.iloc[order], preserve_index=True)
        del frame
        splits = np.searchsorted(owner[order], np.arange(len(tiles) + 1))
        for k, path in enumerate(paths):
            if not path.exists():
                with atomic_path(path) as tmp:
                    pq.write_table(table.slice(splits[k], splits[k + 1] - splits[k]), tmp)
    return np.array([p.stat().st_size for p in paths], dtype="int64")


def _read_tile_inputs(tile: Tile, files: list[str], crs, geometry: str = "geometry") -> gpd.GeoDataFrame:
    """The buildings a tile task needs: its own (``_core``) and every other meeting its halo.

    ``files[0]`` holds the tile's own buildings, the rest its neighbours'. Rows come
    back in their order in the city's layer, exactly as ``buildings.iloc[rows]``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    tables = [pq.read_table(f) for f in files]
    n_own = tables[0].num_rows
    frame = pa.concat_tables(tables).to_pandas()
    geoms = shapely.from_wkb(frame[geometry].to_numpy())
    core = np.arange(len(frame)) < n_own
    keep = core | shapely.intersects(geoms, shapely.box(*tile.halo_bounds))
    frame = frame.loc[keep]
    frame[geometry] = geoms[keep]
    frame["_core"] = core[keep]
    frame = frame.sort_values("_row", kind="stable").drop(columns="_row")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def run_batch(
    city_id: str,
    *,
    home=None,
    stages: list[str] | None = None,
    inputs: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    tile_m: float = 5000.0,
    params: dict | None = None,
    threads_per_worker: int = 1,
    retries: int = 2,
    progress: Callable[[int, int, str], None] | None = None,
    client=None,
) -> BatchResult:
    """Regenerate a city's potential layers on a Dask cluster.

    Parameters
    ----------
    city_id : str
        City of a built twin.
    stages : list of str, optional
        Subset of :data:`STAGES` (default: every stage whose engine is installed).
    inputs : path-like, optional
        Folder of new input layers (``<layer>.parquet|gpkg|geojson``, e.g. a new CIM
        delivery of buildings) imported (validated, atomically) before the run.
    out : path-like, optional
        Output folder (default ``<twin>/batch``): ``current`` -> the published version
        with GeoParquet layers partitioned by district, tables and ``manifest.json``.
    workers : int, optional
        Worker processes of a local cluster (default: CPU count).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``) instead.
    tile_m : float
        Tile edge [m]. Results do not depend on it.
    params : dict, optional
        Engine name -> its parameters (dataclass or mapping; :mod:`engines.registry`);
        engines not named run with their defaults. Every engine's parameters are
        recorded in the manifest and the catalog, and are part of the run key. The
        rooftop shading radius sets the tile halo (``radius_m + HALO_MARGIN_M``).
    threads_per_worker : int
        Threads per worker (numba kernels use as many).
    retries : int
        Retries of a failed task before it is reported.
    progress : callable, optional
        ``progress(done, total, what)`` after each task.
    client : dask.distributed.Client, optional
        Run on this client (left open) instead of starting a cluster.

    Returns
    -------
    BatchResult

    Raises
    ------
    BatchError
        Some tiles or stages failed after their retries (named in the message);
        finished tiles are cached, so a rerun resumes.
    """
    from engines.pv.rooftop import load as load_rooftop
    from engines.pv.rooftop import rooftop_tables
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
    params = _engine_params(params)
    pv_params = params["pv"]
    radius_m = pv_params.radius_m

    if inputs is not None:
        t0 = time.perf_counter()
        for path in sorted(Path(inputs).iterdir()):
            layer = path.name.split(".")[0]
            if path.suffix.lower() in (".parquet", ".gpkg", ".geojson", ".shp") or layer == "buildings":
                import_layer(city_id, layer, path, home=home)
        timings["import_inputs"] = round(time.perf_counter() - t0, 3)

    city = load_city(city_id)
    store = TwinStore(city.id, home)
    inp = load_rooftop(StoreSource(store, city), pv_params, buildings=False) if "pv" in stages else None
    out = Path(out) if out is not None else store.root / "batch"
    out.mkdir(parents=True, exist_ok=True)
    config = {"stages": stages, "radius_m": radius_m,
              "params": {e.name: to_dict(params[e.name]) for e in engines}}
    t0 = time.perf_counter()
    hashes = _input_hashes(store, city, engines)
    run_key = _run_key(hashes, config)
    timings["hash_inputs"] = round(time.perf_counter() - t0, 3)
    previous = _read_manifest(out)
    if previous is not None and previous.get("run_key") == run_key:
        logger.info("inputs and configuration unchanged (run key %s): nothing to do", run_key)
        return BatchResult("unchanged", run_key, out, previous)

    work = out / ".work" / run_key
    work.mkdir(parents=True, exist_ok=True)
    halo_m = radius_m + HALO_MARGIN_M
    # Results go to disk as each stage finishes (partitioned outputs in a fresh version folder,
    # one file per result for the catalog) and are freed: the driver never holds them all.
    version_dir = out / ".versions" / f"{run_key}-{uuid.uuid4().hex[:6]}"
    version_dir.mkdir(parents=True)
    results: dict[str, Path] = {}
    tables: dict[str, pd.DataFrame] = {}
    stage_meta: dict[str, dict] = {}
    catalog_meta: dict = {}
    failures: dict[str, str] = {}
    n_tiles = 0
    bytes_per_tile: list[int] = []
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = _client(workers, scheduler, threads_per_worker)
    try:
        from dask.distributed import as_completed

        n_workers = len(client.scheduler_info()["workers"])
        t_run = time.perf_counter()
        ac = as_completed()
        futures: dict = {}  # future -> ("stage", label) or ("tile", Tile)
        # Whole-city engines go first, one task each, so they run beside the tiles rather
        # than after them; each writes its own result layers.
        whole = [e for e in engines if e.name != "pv"]
        for spec in whole:
            label = "+".join(s for s in spec.stages if s in stages)
            fut = client.submit(_whole_city_task, spec.name, city.id, str(store.home), params[spec.name],
                                threads_per_worker, str(version_dir), str(work), retries=retries,
                                key=f"{label}-{run_key}", pure=False)
            futures[fut] = ("stage", label)
            ac.add(fut)

        todo: list = []
        resumed = 0
        if "pv" in stages:
            t0 = time.perf_counter()
            buildings = store.read_layer("buildings")
            cache = work / f"pv-tile{int(tile_m)}"
            cache.mkdir(parents=True, exist_ok=True)
            tiles, owner, neighbours = _tile_inputs(buildings, tile_m, halo_m)
            sizes = _write_tile_inputs(buildings, owner, tiles, work / f"pv-inputs{int(tile_m)}")
            n_tiles = len(tiles)
            inputs_dir = work / f"pv-inputs{int(tile_m)}"
            for k, tile in enumerate(tiles):
                bytes_per_tile.append(int(sizes[neighbours[k]].sum()))
                if _tile_cache_complete(cache / f"{tile.tile_id}.parquet"):
                    resumed += 1
                else:
                    files = [str(inputs_dir / f"{tiles[i].tile_id}.parquet") for i in neighbours[k]]
                    todo.append((tile, files))
            timings["pv_tile_inputs"] = round(time.perf_counter() - t0, 3)
            crs = buildings.crs
            keys = pd.DataFrame(buildings[["building_id", "district_adcode", "township_code"]])
            del buildings
            # Shared inputs go out as the result of a task holding them (not scattered): if a
            # worker dies, the scheduler can recompute them from the task itself.
            shared = client.submit(_shared, inp.weather, inp.location, inp.scenarios,
                                   key=f"pv-shared-{run_key}", pure=False)
        total = n_tiles + len(whole)
        done = resumed
        if progress:
            progress(done, total, "pv tiles")
        # Tiles are submitted lazily, a bounded number in flight: the scheduler never holds
        # a task per tile of a big city, and workers read their own inputs from disk.
        window = max(2, 3 * n_workers)
        pending = iter(todo)

        def submit_next() -> None:
            item = next(pending, None)
            if item is None:
                return
            tile, files = item
            fut = client.submit(_pv_tile_task, tile, files, crs, shared, pv_params,
                                threads_per_worker, str(cache / f"{tile.tile_id}.parquet"),
                                retries=retries, key=f"pv-{run_key}-{tile.tile_id}", pure=False)
            futures[fut] = ("tile", tile)
            ac.add(fut)

        tiles_left = len(todo)
        counts: dict[str, int] = {}

        def merge_pv() -> None:
            """Merge the two layers on the workers, side by side, while the driver sums the tables."""
            t1 = time.perf_counter()
            paths = [cache / f"{t.tile_id}.parquet" for t in tiles]
            for name, suffix, sort_key in (("pv_facets", ".parquet", "facet_id"),
                                           ("pv_buildings", ".pv_buildings.parquet", "building_id")):
                fut = client.submit(_merge_tile_layer, [p.with_suffix(suffix) for p in paths], sort_key,
                                    version_dir, name, work / "results" / f"{name}.parquet",
                                    retries=retries, key=f"merge-{name}-{run_key}", pure=False)
                futures[fut] = ("merge", name)
                ac.add(fut)
            tables.update(rooftop_tables(inp, pv_params, keys, _read_per_building(paths)))
            timings["pv_tables"] = round(time.perf_counter() - t1, 3)

        for _ in range(window):
            submit_next()
        if "pv" in stages and not todo:  # every tile resumed from the cache
            merge_pv()
        for fut in ac:
            kind, what = futures.pop(fut)
            name = f"pv:{what.tile_id}" if kind == "tile" else f"{kind}:{what}"
            if kind == "tile":
                submit_next()
                tiles_left -= 1
            if fut.status == "error":
                failures[name] = _describe_failure(fut)
                logger.error("%s failed after %d retries: %s", name, retries, failures[name])
            elif kind == "stage":
                out_stage = fut.result()
                results.update(out_stage["results"])
                tables.update(out_stage["tables"])
                stage_meta[what] = _json_safe(out_stage.get("meta", {}))
                catalog_meta.update(out_stage.get("meta", {}))
                timings[what] = round(time.perf_counter() - t_run, 3)
            elif kind == "merge":
                single, counts[what] = fut.result()
                if single is not None:
                    results[what] = single
                if len(counts) == 2:
                    timings["pv"] = round(time.perf_counter() - t0, 3)
            fut.release()
            if kind != "merge":
                done += 1
                if progress:
                    progress(done, total, "pv tiles" if kind == "tile" else f"{what} stage")
            if kind == "tile" and tiles_left == 0:
                timings["pv_tiles"] = round(time.perf_counter() - t0, 3)
                if not any(k.startswith("pv:") for k in failures):
                    merge_pv()
        if "pv" in stages:
            stage_meta["pv"] = {"tiles": n_tiles, "resumed_tiles": resumed,
                                "n_facets": counts.get("pv_facets", 0),
                                "n_buildings": counts.get("pv_buildings", 0)}
            catalog_meta["pv"] = {"scenario": pv_params.scenario, "weather_file": inp.weather_name,
                                  "shading": pv_params.shading, "params": to_dict(pv_params),
                                  "weather_check": inp.weather_check,
                                  "n_facets": stage_meta["pv"]["n_facets"],
                                  "n_buildings": stage_meta["pv"]["n_buildings"]}
    finally:
        if own_client:
            _close(client, cluster)

    if failures:
        items = sorted(failures.items())
        lines = "; ".join(f"{k}: {v}" for k, v in items[:20])
        if len(items) > 20:
            lines += f"; ... and {len(items) - 20} more (see the log)"
        msg = (f"{len(failures)} task(s) failed after {retries} retries, the others finished and are "
               f"cached for a rerun: {lines}")
        shutil.rmtree(version_dir, ignore_errors=True)
        raise BatchError(msg)

    t0 = time.perf_counter()
    manifest = {
        "run_key": run_key,
        "city": city.id,
        "stages": stages,
        "inputs": hashes,
        "config": config | {"tile_m": tile_m, "halo_m": halo_m, "retries": retries},
        "versions": _versions(),
        "tile_count": n_tiles,
        "workers": n_workers,
        "scheduler": scheduler or "local",
        "bytes_per_tile": _stats(bytes_per_tile),
        "stages_meta": stage_meta,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    _write_tables(version_dir, tables)
    timings["write_outputs"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    catalog_meta["batch"] = {k: manifest[k] for k in ("run_key", "stages", "tile_count", "workers",
                                                        "versions")}
    store.commit(results=results, tables=tables, meta=catalog_meta)
    timings["commit_catalog"] = round(time.perf_counter() - t0, 3)
    timings["total"] = round(time.perf_counter() - t_start, 3)
    manifest["timings_s"] = timings
    atomic_write_text(version_dir / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    _publish(out, version_dir)
    shutil.rmtree(work, ignore_errors=True)
    return BatchResult("done", run_key, out, manifest)


def _describe_failure(fut) -> str:
    """``Type: message (at file:line)`` of a failed future, from its remote traceback."""
    import traceback

    exc = fut.exception()
    where = ""
    tb = fut.traceback()
    if tb is not None:
        frames = traceback.extract_tb(tb)
        if frames:
            last = frames[-1]
            where = f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
            logger.debug("remote traceback:\n%s", "".join(traceback.format_tb(tb)))
    return f"{type(exc).__name__}: {exc}{where}"


def _json_safe(value):
    """Round-trip through JSON with ``str`` for anything unusual (for the manifest)."""
    return json.loads(json.dumps(value, default=str))


def _stats(values: list[int]) -> dict:
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    return {"n": len(values), "mean": int(a.mean()), "max": int(a.max()), "total": int(a.sum())}


def _write_tile_cache(path: Path, facets: pd.DataFrame, per_building: pd.DataFrame,
                      buildings: gpd.GeoDataFrame, primary: str, scenarios) -> None:
    """Write a tile's rows: layer rows (``pv_facets``, ``pv_buildings``) and the raw per-building rows.

    The raw per-building file is written last, so its presence marks a whole cache.
    """
    from engines.pv.rooftop import rooftop_rows
    from twin.fsutil import atomic_path

    if len(per_building):
        pb, fc = rooftop_rows(buildings, facets, per_building, primary, scenarios)
        with atomic_path(path) as tmp:
            fc.to_parquet(tmp, index=False, schema_version="1.1.0")
        with atomic_path(path.with_suffix(".pv_buildings.parquet")) as tmp:
            pb.to_parquet(tmp, index=False, schema_version="1.1.0")
    with atomic_path(path.with_suffix(".buildings.parquet")) as tmp:
        per_building.to_parquet(tmp, index=True)


def _tile_cache_complete(path: Path) -> bool:
    """Whether a tile's cache is whole (its raw per-building file is written last)."""
    return path.with_suffix(".buildings.parquet").exists()


def _read_per_building(paths: list[Path]) -> pd.DataFrame:
    """Raw per-building rows of every tile, concatenated (tile order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [t for t in (pq.read_table(p.with_suffix(".buildings.parquet")) for p in paths) if t.num_rows]
    if not tables:
        return pd.DataFrame()
    try:
        return pa.concat_tables(tables).to_pandas()
    except pa.ArrowInvalid:  # a column typed differently in some tile: let pandas unify
        return pd.concat([t.to_pandas() for t in tables])


def _merge_tile_layer(*args) -> tuple[Path | None, int]:
    """:func:`_merge_layer_files`, then the memory it used is handed back (a worker task)."""
    try:
        return _merge_layer_files(*args)
    finally:
        _release_memory()


def _merge_layer_files(files: list[Path], sort_key: str, version_dir: Path, name: str,
                      single: Path) -> tuple[Path | None, int]:
    """Concatenate the tiles' GeoParquet rows of a layer, sorted by ``sort_key``, without decoding them.

    Writes the published layer (partitioned by district when it has the column) and,
    when partitioned, one file for the catalog at ``single``. Returns the catalog file
    (``None`` when no tile had rows) and the row count. Rows are sorted by their id, so
    the layer is the same whatever the tiling.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import shapely

    tables = [pq.read_table(f) for f in files if f.exists()]
    if not tables:
        return None, 0
    geo = json.loads(tables[0].schema.metadata[b"geo"])
    table = pa.concat_tables(tables)
    del tables
    # Written in slices of the sorted order: the table is held once, never a sorted copy.
    order = pc.sort_indices(table[sort_key]).to_numpy()
    col = geo["primary_column"]
    step = 1 << 18
    bounds = np.concatenate([np.empty((0, 4))] + [  # decoded in slices: only the bounds are kept
        shapely.bounds(shapely.from_wkb(table[col].slice(i, step).to_numpy(zero_copy_only=False)))
        for i in range(0, table.num_rows, step)])

    def write(rows: np.ndarray, path: Path) -> None:
        meta = dict(geo, columns={col: dict(geo["columns"][col])})
        b = bounds[rows]
        meta["columns"][col]["bbox"] = ([float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()),
                                         float(b[:, 3].max())] if len(b) else [])
        pandas_meta = json.loads(table.schema.metadata[b"pandas"])
        pandas_meta["index_columns"] = [{"kind": "range", "name": None, "start": 0, "stop": len(rows),
                                         "step": 1}]
        schema = table.schema.with_metadata({b"geo": json.dumps(meta).encode(),
                                             b"pandas": json.dumps(pandas_meta).encode()})
        path.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(path, schema) as writer:
            for i in range(0, len(rows), step):
                writer.write_table(table.take(rows[i:i + step]).replace_schema_metadata(schema.metadata))

    base = version_dir / name
    if _OUTPUT_PARTITION not in table.column_names:
        write(order, base / "part-0.parquet")
        return base / "part-0.parquet", table.num_rows
    codes = table[_OUTPUT_PARTITION].to_numpy(zero_copy_only=False)[order]
    missing = pd.isna(codes)
    for code in sorted(set(codes[~missing])) + ([None] if missing.any() else []):
        rows = order[missing if code is None else codes == code]
        write(rows, base / f"{_OUTPUT_PARTITION}={code or 'none'}" / "part-0.parquet")
    write(order, single)
    return single, table.num_rows


def _write_results(version_dir: Path, work: Path, results: dict) -> dict[str, Path]:
    """Write result layers partitioned by district (outputs) and as one file each (catalog).

    Returns the single files, for :meth:`twin.store.TwinStore.commit`.
    """
    files = {}
    for name, gdf in results.items():
        base = version_dir / name
        if _OUTPUT_PARTITION in gdf.columns:
            for code, part in gdf.groupby(_OUTPUT_PARTITION, sort=True):
                d = base / f"{_OUTPUT_PARTITION}={code or 'none'}"
                d.mkdir(parents=True, exist_ok=True)
                part.to_parquet(d / "part-0.parquet", index=False, schema_version="1.1.0")
        else:
            base.mkdir(parents=True, exist_ok=True)
            gdf.to_parquet(base / "part-0.parquet", index=False, schema_version="1.1.0")
        single = work / "results" / f"{name}.parquet"
        single.parent.mkdir(parents=True, exist_ok=True)
        gdf.to_parquet(single, index=False, schema_version="1.1.0")
        files[name] = single
    return files


def _write_tables(version_dir: Path, tables: dict) -> None:
    tdir = version_dir / "tables"
    tdir.mkdir(exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(tdir / f"{name}.parquet", index=False)


def _publish(out: Path, version_dir: Path) -> None:
    """Atomically point ``out/current`` at ``version_dir``; then drop older versions."""
    link = out / "current"
    tmp = out / f".current-{uuid.uuid4().hex[:6]}"
    os.symlink(os.path.relpath(version_dir, out), tmp)
    os.replace(tmp, link)
    for old in (out / ".versions").iterdir():
        if old.resolve() != version_dir.resolve():
            shutil.rmtree(old, ignore_errors=True)


def read_output(out, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a published batch output (a partitioned layer or a table)."""
    base = Path(out) / "current"
    table = base / "tables" / f"{name}.parquet"
    if table.exists():
        return pd.read_parquet(table)
    files = sorted((base / name).rglob("*.parquet"))
    if not files:
        msg = f"no batch output {name!r} in {base}"
        raise FileNotFoundError(msg)
    parts = [gpd.read_parquet(f) for f in files]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

