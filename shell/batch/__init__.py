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

The run is four named steps, one module each:

1. **plan** (:mod:`shell.batch.plan`): validate the options, resolve every engine's
   parameters, import new inputs, hash the inputs and key the run; then (once the
   whole-city tasks are submitted, so they run meanwhile) cut the PV tiles and write
   their input files.
2. **schedule** (:mod:`shell.batch.schedule`, tasks in :mod:`shell.batch.tasks`):
   whole-city engine tasks, bounded tile tasks, results and failures collected.
3. **merge** (:func:`shell.batch.schedule.merge_pv`): the PV layers merged on the
   workers, sorted by id; the PV tables summed on the driver.
4. **publish** (:mod:`shell.batch.publish`): tables, catalog commit, manifest, atomic
   ``current`` swap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from engines.registry import STAGES
from shell.batch.plan import make_plan, plan_tiles
from shell.batch.publish import BatchResult, publish, read_output
from shell.batch.schedule import BatchError, Schedule, check_failures, dask_client
from shell.batch.tiles import HALO_MARGIN_M, Tile, assign_tiles, tile_grid

__all__ = [
    "HALO_MARGIN_M",
    "STAGES",
    "BatchError",
    "BatchResult",
    "Tile",
    "assign_tiles",
    "read_output",
    "run_batch",
    "tile_grid",
]

logger = logging.getLogger(__name__)


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
    plan = make_plan(city_id, home=home, stages=stages, inputs=inputs, out=out, workers=workers,
                     scheduler=scheduler, client=client, tile_m=tile_m, params=params,
                     threads_per_worker=threads_per_worker, retries=retries)
    if plan.previous is not None:
        logger.info("inputs and configuration unchanged (run key %s): nothing to do", plan.run_key)
        return BatchResult("unchanged", plan.run_key, plan.out, plan.previous)
    with dask_client(client, workers, scheduler, threads_per_worker) as dask:
        run = Schedule(plan, dask, progress)
        run.submit_whole_city()
        tiles = plan_tiles(plan)
        outcome = run.run(tiles)  # merges the PV tiles (merge_pv) as soon as the last is in
    check_failures(plan, outcome)
    return publish(plan, tiles, outcome)
