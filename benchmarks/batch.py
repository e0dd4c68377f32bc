"""Benchmark of ``twin build``: full regeneration of a city on a local Dask cluster.

Builds (once, cached in --home) the synthetic Hangzhou at the chosen size, then

1. runs every stage (pv, water, ground, wind, sinks, coverage) on 2 workers and reports
   wall time per stage, tiles, bytes per tile, and the peak memory of each worker;
2. runs the tiled pv stage alone on 1 and on 2 workers (fresh output folders) and
   reports the speed-up.

    python benchmarks/batch.py            # full scale: about 2 million buildings
    python benchmarks/batch.py --quick    # 20,000 buildings

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run(city, home, out, stages, workers, tile_m):
    from dask.distributed import Client, LocalCluster

    from shell.batch import run_batch

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=50, memory_limit=0) as cluster, \
            Client(cluster) as client:
        t0 = time.perf_counter()
        res = run_batch(city, home=home, stages=stages, out=out, tile_m=tile_m, client=client)
        wall = time.perf_counter() - t0
        worker_peaks = sorted(client.run(_peak_rss_mb).values())
    return res, wall, worker_peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 buildings instead of the full city")
    parser.add_argument("--home", default=os.path.join(tempfile.gettempdir(), "carbon-twin-bench-batch"))
    parser.add_argument("--tile-m", type=float, default=5000.0)
    parser.add_argument("--skip-speedup", action="store_true")
    parser.add_argument("--speedup-only", action="store_true",
                        help="only the 1-vs-2-worker runs of the tiled pv stage")
    args = parser.parse_args()

    from shell.demo import build_city

    scale = 20_000 if args.quick else "full"
    home = Path(args.home) / ("quick" if args.quick else "full")
    city = "hangzhou"
    t0 = time.perf_counter()
    marker = home / f"{city}.built"
    if not marker.exists():
        build_city(city, home=home, scale=scale)
        marker.write_text("ok")
    build_s = time.perf_counter() - t0

    result = {"benchmark": "batch", "quick": args.quick, "city": city, "twin_build_s": round(build_s, 1)}
    if not args.speedup_only:
        out_all = home / "out-all"
        shutil.rmtree(out_all, ignore_errors=True)
        res, wall_all, peaks = _run(city, home, out_all, None, 2, args.tile_m)
        m = res.manifest
        result.update({
            "buildings": m["stages_meta"]["pv"]["n_buildings"],
            "facets": m["stages_meta"]["pv"]["n_facets"],
            "all_layers_2_workers_s": round(wall_all, 1),
            "stage_timings_s": m["timings_s"], "tiles": m["tile_count"],
            "bytes_per_tile": m["bytes_per_tile"], "worker_peak_rss_mb": [round(p) for p in peaks],
        })
    if not args.skip_speedup:
        times = {}
        for workers in (1, 2):
            out = home / f"out-pv-{workers}"
            shutil.rmtree(out, ignore_errors=True)
            _res, wall, peaks = _run(city, home, out, ["pv"], workers, args.tile_m)
            times[workers] = wall
            result[f"pv_{workers}_worker_peak_rss_mb"] = [round(p) for p in peaks]
        result["pv_1_worker_s"] = round(times[1], 1)
        result["pv_2_workers_s"] = round(times[2], 1)
        result["speedup_1_to_2_workers"] = round(times[1] / times[2], 2)
    result["driver_peak_rss_mb"] = round(_peak_rss_mb())
    result["cpu_count"] = os.cpu_count()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
