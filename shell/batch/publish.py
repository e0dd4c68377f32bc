"""Step 4 of a batch run: publish (tables, manifest, catalog commit, atomic ``current`` swap).

The version folder already holds the result layers (written by the tasks); this step
writes the tables beside them, commits results and tables to the catalog in one
transaction, writes the manifest, and then points ``<out>/current`` at the version
with one atomic rename. A run killed before the swap leaves the previous outputs whole.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.io.parquet import read_partitioned, write_parquet
from shell.batch.plan import BatchPlan, TilePlan, versions
from shell.batch.schedule import Outcome
from twin.fsutil import atomic_write_text

__all__ = ["BatchResult", "publish", "read_output", "swap_current", "write_tables"]


@dataclass
class BatchResult:
    """What a batch run did."""

    status: str  # "done" or "unchanged"
    run_key: str
    out: Path
    manifest: dict = field(default_factory=dict)


def publish(plan: BatchPlan, tiles: TilePlan, outcome: Outcome) -> BatchResult:
    """Write the tables and manifest, commit to the catalog, and swap ``current`` to the new version.

    Parameters
    ----------
    plan : BatchPlan
        The run.
    tiles : TilePlan
        Its PV tiles (for the manifest).
    outcome : Outcome
        What its tasks produced (no failures).

    Returns
    -------
    BatchResult
        ``status="done"`` with the manifest.
    """
    timings = plan.timings
    t0 = time.perf_counter()
    manifest = {
        "run_key": plan.run_key,
        "city": plan.city.id,
        "stages": plan.stages,
        "inputs": plan.hashes,
        "config": plan.config | {"tile_m": plan.tile_m, "halo_m": plan.halo_m, "retries": plan.retries},
        "versions": versions(),
        "tile_count": len(tiles.tiles),
        "workers": outcome.n_workers,
        "scheduler": plan.scheduler or "local",
        "bytes_per_tile": _stats(tiles.bytes_per_tile),
        "stages_meta": outcome.stage_meta,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    write_tables(plan.version_dir, outcome.tables)
    timings["write_outputs"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    outcome.catalog_meta["batch"] = {k: manifest[k] for k in ("run_key", "stages", "tile_count", "workers",
                                                                "versions")}
    plan.store.commit(results=outcome.results, tables=outcome.tables, meta=outcome.catalog_meta)
    timings["commit_catalog"] = round(time.perf_counter() - t0, 3)
    timings["total"] = round(time.perf_counter() - plan.t_start, 3)
    manifest["timings_s"] = timings
    atomic_write_text(plan.version_dir / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    swap_current(plan.out, plan.version_dir)
    shutil.rmtree(plan.work, ignore_errors=True)
    return BatchResult("done", plan.run_key, plan.out, manifest)


def write_tables(version_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write each table to ``<version_dir>/tables/<name>.parquet`` (atomically, no index)."""
    (version_dir / "tables").mkdir(exist_ok=True)
    for name, df in tables.items():
        write_parquet(df, version_dir / "tables" / f"{name}.parquet")


def swap_current(out: Path, version_dir: Path) -> None:
    """Atomically point ``out/current`` at ``version_dir``; then drop older versions."""
    link = out / "current"
    tmp = out / f".current-{uuid.uuid4().hex[:6]}"
    os.symlink(os.path.relpath(version_dir, out), tmp)
    os.replace(tmp, link)
    for old in (out / ".versions").iterdir():
        if old.resolve() != version_dir.resolve():
            shutil.rmtree(old, ignore_errors=True)


def read_output(out, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a published batch output (a partitioned layer or a table).

    Parameters
    ----------
    out : path-like
        The run's output folder (holding ``current``).
    name : str
        A result layer (``pv_buildings``) or a table (``pv_districts``).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        A layer's rows from every district file (:func:`layers.io.parquet.read_partitioned`),
        or the table.

    Raises
    ------
    FileNotFoundError
        No output of that name.
    """
    base = Path(out) / "current"
    table = base / "tables" / f"{name}.parquet"
    if table.exists():
        return pd.read_parquet(table)
    if not (base / name).is_dir():
        msg = f"no batch output {name!r} in {base}"
        raise FileNotFoundError(msg)
    return read_partitioned(base / name)


def _stats(values: list[int]) -> dict:
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    return {"n": len(values), "mean": int(a.mean()), "max": int(a.max()), "total": int(a.sum())}
