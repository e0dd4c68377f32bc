"""Steps 2 and 3 of a batch run: schedule the tasks on Dask and merge the PV tiles.

Whole-city engines go first, one task each, so they run beside the tiles rather than
after them. Tiles are submitted lazily, a bounded number in flight: the scheduler
never holds a task per tile of a big city, and workers read their own inputs from
disk. When the last tile is in (and none failed), the two PV layers are merged on the
workers while the driver sums the PV tables. A task that fails after its retries is
recorded with its error while the others finish; :func:`check_failures` then raises.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import shell.batch.tasks as tasks
from shell.batch.plan import BatchPlan, TilePlan
from twin.errors import TwinError
from twin.params import to_dict

__all__ = ["BatchError", "Outcome", "Schedule", "check_failures", "dask_client", "merge_pv"]

logger = logging.getLogger(__name__)

#: The PV layers merged from the tiles, and the id each is sorted by.
PV_LAYERS = (("pv_facets", "facet_id"), ("pv_buildings", "building_id"))


class BatchError(TwinError, RuntimeError):
    """Some tiles or stages failed; the message names them and their errors."""


@dataclass
class Outcome:
    """What the tasks produced: result files, tables, per-stage metadata, and failures."""

    results: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    stage_meta: dict[str, dict] = field(default_factory=dict)
    catalog_meta: dict = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    n_workers: int = 0


@contextlib.contextmanager
def dask_client(client=None, workers: int | None = None, scheduler: str | None = None,
                threads: int = 1) -> Iterator:
    """The client a run uses: ``client`` itself (left open), or one started here and closed after.

    Parameters
    ----------
    client : dask.distributed.Client, optional
        An open client to use.
    workers : int, optional
        Worker processes of a local cluster (default: CPU count).
    scheduler : str, optional
        Address of an existing scheduler instead.
    threads : int
        Threads per worker of a local cluster.

    Yields
    ------
    dask.distributed.Client
    """
    if client is not None:
        yield client
        return
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=threads,
                               processes=True, dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        yield client
    finally:
        _close(client, cluster)


class Schedule:
    """The tasks of one run on one client: submitted, then collected as they complete."""

    def __init__(self, plan: BatchPlan, client, progress: Callable[[int, int, str], None] | None = None):
        from dask.distributed import as_completed

        self.plan = plan
        self.client = client
        self.progress = progress
        self.outcome = Outcome(n_workers=len(client.scheduler_info()["workers"]))
        self.t_run = time.perf_counter()
        self.completed = as_completed()
        self.futures: dict = {}  # future -> ("stage", label), ("tile", Tile) or ("merge", layer)

    def submit(self, what: tuple, fn, *args, key: str) -> None:
        """Submit a task (with the run's retries) and collect it with the others."""
        fut = self.client.submit(fn, *args, retries=self.plan.retries, key=key, pure=False)
        self.futures[fut] = what
        self.completed.add(fut)

    def submit_whole_city(self) -> None:
        """Submit every whole-city engine as one task (first, so they run beside the tiles)."""
        p = self.plan
        for spec in p.whole_city:
            label = p.stage_label(spec)
            self.submit(("stage", label), tasks.whole_city_task, spec.name, p.city.id, str(p.store.home),
                        p.params[spec.name], p.threads_per_worker, str(p.version_dir), str(p.work),
                        key=f"{label}-{p.run_key}")

    def run(self, tiles: TilePlan) -> Outcome:
        """Run the tiles (a bounded number in flight), merge them, and collect every task.

        Returns
        -------
        Outcome
            Results, tables and metadata of the tasks that finished; failures of those
            that did not.
        """
        p, out = self.plan, self.outcome
        pv = "pv" in p.stages
        shared = None
        if pv:
            # Shared inputs go out as the result of a task holding them (not scattered): if a
            # worker dies, the scheduler can recompute them from the task itself.
            inp = p.rooftop_inputs
            terrain = str(tiles.terrain) if tiles.terrain is not None else None
            shared = self.client.submit(tasks.shared, inp.weather, inp.location, inp.scenarios, terrain,
                                        key=f"pv-shared-{p.run_key}", pure=False)
        total = len(tiles.tiles) + len(p.whole_city)
        done = tiles.resumed
        self._progress(done, total, "pv tiles")
        pending = iter(tiles.todo)

        def submit_next() -> None:
            item = next(pending, None)
            if item is None:
                return
            tile, files = item
            self.submit(("tile", tile), tasks.pv_tile_task, tile, files, tiles.crs, shared, p.params["pv"],
                        p.threads_per_worker, str(tiles.cache_path(tile)),
                        key=f"pv-{p.run_key}-{tile.tile_id}")

        tiles_left = len(tiles.todo)
        counts: dict[str, int] = {}
        for _ in range(max(2, 3 * out.n_workers)):
            submit_next()
        if pv and not tiles.todo:  # every tile resumed from the cache
            merge_pv(self, tiles)
        for fut in self.completed:
            kind, what = self.futures.pop(fut)
            name = f"pv:{what.tile_id}" if kind == "tile" else f"{kind}:{what}"
            if kind == "tile":
                submit_next()
                tiles_left -= 1
            if fut.status == "error":
                out.failures[name] = _describe_failure(fut)
                logger.error("%s failed after %d retries: %s", name, p.retries, out.failures[name])
            elif kind == "stage":
                res = fut.result()
                out.results.update(res["results"])
                out.tables.update(res["tables"])
                out.stage_meta[what] = _json_safe(res.get("meta", {}))
                out.catalog_meta.update(res.get("meta", {}))
                p.timings[what] = round(time.perf_counter() - self.t_run, 3)
            elif kind == "merge":
                single, counts[what] = fut.result()
                if single is not None:
                    out.results[what] = single
                if len(counts) == len(PV_LAYERS):
                    p.timings["pv"] = round(time.perf_counter() - tiles.t_start, 3)
            fut.release()
            if kind != "merge":
                done += 1
                self._progress(done, total, "pv tiles" if kind == "tile" else f"{what} stage")
            if kind == "tile" and tiles_left == 0:
                p.timings["pv_tiles"] = round(time.perf_counter() - tiles.t_start, 3)
                if not any(k.startswith("pv:") for k in out.failures):
                    merge_pv(self, tiles)
        if pv:
            pv_params = p.params["pv"]
            out.stage_meta["pv"] = {"tiles": len(tiles.tiles), "resumed_tiles": tiles.resumed,
                                    "n_facets": counts.get("pv_facets", 0),
                                    "n_buildings": counts.get("pv_buildings", 0)}
            out.catalog_meta["pv"] = {"scenario": pv_params.scenario,
                                      "weather_file": p.rooftop_inputs.weather_name,
                                      "shading": pv_params.shading, "params": to_dict(pv_params),
                                      "weather_check": p.rooftop_inputs.weather_check,
                                      "terrain_horizon": p.rooftop_inputs.terrain_note,
                                      "terrain_used": tiles.terrain is not None,
                                      "n_facets": out.stage_meta["pv"]["n_facets"],
                                      "n_buildings": out.stage_meta["pv"]["n_buildings"]}
        return out

    def _progress(self, done: int, total: int, what: str) -> None:
        if self.progress:
            self.progress(done, total, what)


def merge_pv(run: Schedule, tiles: TilePlan) -> None:
    """Merge the PV tiles: the two layers on the workers, side by side, while the driver sums the tables.

    Each layer's tile rows are merged sorted by id (:func:`shell.batch.tasks.merge_tile_layer`)
    into the version folder; the PV tables are computed from every tile's per-building
    rows (:func:`engines.pv.rooftop.rooftop_tables`), so neither depends on the tiling.
    """
    from engines.pv.rooftop import rooftop_tables

    p = run.plan
    t1 = time.perf_counter()
    paths = [tiles.cache_path(t) for t in tiles.tiles]
    for name, sort_key in PV_LAYERS:
        run.submit(("merge", name), tasks.merge_tile_layer,
                   [tasks.layer_cache_file(path, name) for path in paths], sort_key, p.version_dir, name,
                   p.work / "results" / f"{name}.parquet", key=f"merge-{name}-{p.run_key}")
    run.outcome.tables.update(rooftop_tables(p.rooftop_inputs, p.params["pv"], tiles.keys,
                                             tasks.read_per_building(paths)))
    p.timings["pv_tables"] = round(time.perf_counter() - t1, 3)


def check_failures(plan: BatchPlan, outcome: Outcome) -> None:
    """Raise :class:`BatchError` naming every failed task (the unpublished version is removed).

    Finished tiles stay cached under the run's work folder, so a rerun resumes from them.
    """
    if not outcome.failures:
        return
    items = sorted(outcome.failures.items())
    lines = "; ".join(f"{k}: {v}" for k, v in items[:20])
    if len(items) > 20:
        lines += f"; ... and {len(items) - 20} more (see the log)"
    msg = (f"{len(items)} task(s) failed after {plan.retries} retries, the others finished and are "
           f"cached for a rerun: {lines}")
    shutil.rmtree(plan.version_dir, ignore_errors=True)
    raise BatchError(msg)


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
    import json

    return json.loads(json.dumps(value, default=str))


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
