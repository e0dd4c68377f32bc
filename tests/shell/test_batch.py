"""Batch regeneration on Dask: identical whatever the cluster, resumable, idempotent, honest."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

import shell.batch as batch
from shell.batch import BatchError, read_output, run_batch, tasks
from shell.batch import tiles as tiling
from twin.store import TwinStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(twin_home, tmp_path_factory):
    h = tmp_path_factory.mktemp("batch-home")
    shutil.copytree(twin_home / "huzhou", h / "huzhou")
    return h


def _pv(out):
    pb = read_output(out, "pv_buildings").sort_values("building_id").reset_index(drop=True)
    return pb.drop(columns="geometry"), read_output(out, "pv_districts")


@pytest.fixture(scope="module")
def reference(home, tmp_path_factory):
    """One worker, 10 km tiles, pv and coverage: the run every other run must equal."""
    out = tmp_path_factory.mktemp("ref-out")
    res = run_batch("huzhou", home=home, stages=["pv", "coverage"], out=out, workers=1, tile_m=10_000)
    return out, res


def test_two_workers_and_other_tiles_give_identical_results(reference, home, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "two"
    res = run_batch("huzhou", home=home, stages=["pv", "coverage"], out=out, workers=2, tile_m=4_000)
    assert res.manifest["workers"] == 2 and res.manifest["tile_count"] > ref.manifest["tile_count"]
    a, ad = _pv(ref_out)
    b, bd = _pv(out)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(ad, bd, check_exact=True)
    pd.testing.assert_frame_equal(read_output(ref_out, "coverage_summary"),
                                  read_output(out, "coverage_summary"), check_exact=True)
    assert res.run_key == ref.run_key  # tiles and workers are not part of the inputs


def test_outputs_partitioned_by_district_and_in_catalog(reference, home):
    out, res = reference
    parts = sorted(p.name for p in (out / "current" / "pv_buildings").iterdir())
    assert parts and all(p.startswith("district_adcode=") for p in parts)
    with TwinStore("huzhou", home).connect() as con:
        n = con.execute("SELECT count(*) FROM pv_buildings").fetchone()[0]
    assert n == len(read_output(out, "pv_buildings"))


def test_manifest(reference):
    out, res = reference
    m = json.loads((out / "current" / "manifest.json").read_text())
    assert m["run_key"] == res.run_key and m["city"] == "huzhou"
    assert m["stages"] == ["pv", "coverage"] and m["tile_count"] > 0 and m["workers"] == 1
    assert {"layer:buildings", "layer:roads", "config:city", "config:pv/scenarios.toml"} <= set(m["inputs"])
    assert all(len(h) == 64 for h in m["inputs"].values())
    assert {"pv", "coverage", "total"} <= set(m["timings_s"])
    assert m["versions"]["carbon-twin"] and m["versions"]["pvlib"]
    assert m["config"]["tile_m"] == 10_000 and m["config"]["halo_m"] > m["config"]["radius_m"]
    assert m["bytes_per_tile"]["n"] == m["tile_count"]


def test_rerun_with_unchanged_inputs_does_nothing(reference, home):
    out, res = reference
    again = run_batch("huzhou", home=home, stages=["pv", "coverage"], out=out, workers=1, tile_m=10_000)
    assert again.status == "unchanged" and again.run_key == res.run_key


def test_failing_tile_is_reported_while_the_others_finish(home, tmp_path, monkeypatch):
    from dask.distributed import Client, LocalCluster

    out = tmp_path / "fail"
    real = tasks.pv_tile_task
    buildings = TwinStore("huzhou", home).read_layer("buildings")
    bad = tiling.tile_inputs(buildings, 10_000, 500)[0][0].tile_id

    def flaky(tile, *args, **kwargs):
        if tile.tile_id == bad:
            msg = "disk on fire"
            raise RuntimeError(msg)
        return real(tile, *args, **kwargs)

    monkeypatch.setattr(tasks, "pv_tile_task", flaky)
    expected = rf"1 task\(s\) failed after 1 retries.*pv:{re.escape(bad)}: RuntimeError: disk on fire"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client, \
            pytest.raises(BatchError, match=expected):
        run_batch("huzhou", home=home, stages=["pv"], out=out, tile_m=10_000, retries=1, client=client)
    cached = list((out / ".work").rglob("*.buildings.parquet"))
    assert len(cached) >= 1  # the others finished and were cached
    assert not (out / "current").exists()  # nothing half-published
    monkeypatch.setattr(tasks, "pv_tile_task", real)
    res = run_batch("huzhou", home=home, stages=["pv"], out=out, tile_m=10_000, workers=1)
    assert res.status == "done" and res.manifest["stages_meta"]["pv"]["resumed_tiles"] == len(cached)


def test_killed_run_resumes_and_leaves_previous_outputs(reference, home, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "kill"
    shutil.copytree(ref_out / ".versions", out / ".versions", symlinks=True)
    os.symlink(os.readlink(ref_out / "current"), out / "current")
    before = (out / "current" / "manifest.json").read_text()
    env = dict(os.environ, TWIN_HOME=str(home))
    cmd = [sys.executable, "-m", "shell.cli", "build", "--city", "huzhou", "--layers", "pv",
           "--out", str(out), "--workers", "1", "--tile-size", "3000"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / ".work").rglob("*.buildings.parquet"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    cached = len(list((out / ".work").rglob("*.buildings.parquet")))
    assert cached >= 2
    assert (out / "current" / "manifest.json").read_text() == before  # previous outputs whole
    res = run_batch("huzhou", home=home, stages=["pv"], out=out, workers=1, tile_m=3000)
    assert res.status == "done" and res.manifest["stages_meta"]["pv"]["resumed_tiles"] >= cached
    a, ad = _pv(ref_out)
    b, bd = _pv(out)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_worker_killed_mid_run_loses_nothing(reference, home, tmp_path):
    from dask.distributed import Client, LocalCluster

    ref_out, _ = reference
    out = tmp_path / "workerkill"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())

        def killer():
            time.sleep(3.0)
            os.kill(pids[0], signal.SIGKILL)

        t = threading.Thread(target=killer)
        t.start()
        res = run_batch("huzhou", home=home, stages=["pv"], out=out, tile_m=3000, client=client)
        t.join()
    assert res.status == "done"
    a, _ = _pv(ref_out)
    b, _ = _pv(out)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_bad_options(home):
    from twin.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown stage"):
        run_batch("huzhou", home=home, stages=["pv", "solar_wind"])
    with pytest.raises(ConfigError, match="not both"):
        run_batch("huzhou", home=home, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="tile size"):
        run_batch("huzhou", home=home, tile_m=0)


@pytest.mark.parametrize("tile_m", [10_000, 1_500, 400])
def test_tile_inputs_read_by_workers_equal_the_cut_of_the_layer(home, tmp_path, tile_m):
    """What a tile task reads from the tile files is exactly its core plus every halo neighbour."""
    buildings = TwinStore("huzhou", home).read_layer("buildings")
    tiles, owner, neighbours = tiling.tile_inputs(buildings, tile_m, 500)
    sizes = tiling.write_tile_inputs(buildings, owner, tiles, tmp_path)
    assert len(sizes) == len(tiles) and (sizes > 0).all()
    reference = tiling.tile_rows(buildings, tile_m, 500)
    assert [t for t, _, _ in reference] == tiles
    for (tile, rows, core), near in zip(reference, neighbours, strict=True):
        expected = buildings.iloc[rows].copy()
        expected["_core"] = core
        files = [str(tmp_path / f"{tiles[i].tile_id}.parquet") for i in near]
        got = tiling.read_tile_inputs(tile, files, buildings.crs)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_tiles_are_stable():
    ix, iy = batch.assign_tiles(np.array([0.0, 1999.9, 2000.0, -0.1]), np.array([0, 0, 0, 0]), 2000)
    assert ix.tolist() == [0, 0, 1, -1]
    tiles = batch.tile_grid(ix, iy, 2000, 500)
    assert [(t.ix, t.iy) for t in tiles] == [(-1, 0), (0, 0), (1, 0)]
    assert tiles[1].tile_id == "t+00000+00000"
    assert tiles[1].bounds == (0.0, 0.0, 2000.0, 2000.0)
    assert tiles[1].halo_bounds == (-500.0, -500.0, 2500.0, 2500.0)


def test_tile_cache_dictionary_columns_are_the_text_ones():
    """Only text columns (and a named index) get Parquet dictionaries in the tile cache."""
    from shell.batch.tasks import _text_columns

    frame = pd.DataFrame({"facet_id": pd.array(["a", "b"], dtype="str"), "roof": ["x", "y"],
                          "ac_kwh": [1.0, 2.0], "n": [1, 2]},
                         index=pd.Index(["p", "q"], name="building_id"))
    assert _text_columns(frame) == ["facet_id", "roof"]
    assert _text_columns(frame, index=True) == ["facet_id", "roof", "building_id"]
