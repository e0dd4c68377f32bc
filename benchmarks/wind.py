"""Benchmark: distributed-wind exclusions, placement and energy for the whole of Hangzhou.

Usage: ``python benchmarks/wind.py [--quick] [--scale S] [--home DIR]``. Builds the twin
once into ``--home`` (not timed; default full scale, 2,000,000 buildings; --quick:
50,000), then times :func:`shell.runners.run_engine` (``wind``) on the whole city (read, exclusions,
placement, energy, totals, commit). Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engines.wind.screen import WindParams  # noqa: E402
from shell.demo import build_city  # noqa: E402
from shell.runners import run_engine  # noqa: E402
from twin.store import TwinStore  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 buildings (< 60 s)")
    ap.add_argument("--scale", default=None, help="twin scale (default: full, or 10000 with --quick)")
    ap.add_argument("--home", default="/tmp/carbon-twin-bench-wind", help="twin home (cached)")
    ap.add_argument("--cell", type=float, default=100.0, help="eligibility grid cell [m]")
    args = ap.parse_args(argv)
    scale = args.scale or ("10000" if args.quick else "full")
    home = Path(args.home) / str(scale)
    store = TwinStore("hangzhou", home)
    t0 = time.perf_counter()
    built = False
    if not store.exists():
        build_city("hangzhou", home=home, scale=int(scale) if scale.isdigit() else scale)
        built = True
    build_s = time.perf_counter() - t0
    n_buildings = int(store.layers().set_index("name").loc["buildings", "n_rows"])

    t0 = time.perf_counter()
    out = run_engine("wind", "hangzhou", home=home, params=WindParams(cell_m=args.cell), commit=True)
    total_s = time.perf_counter() - t0
    sites = out.results["wind_sites"]
    meta = out.meta["wind_screen"]
    doc = {
        "benchmark": "wind", "city": "hangzhou", "scale": scale, "n_buildings": n_buildings,
        "cell_m": args.cell, "build_s": round(build_s, 2) if built else None,
        "wind_total_s": round(total_s, 2), "steps_s": meta["timings_s"],
        "n_sites": len(sites), "capacity_mw": round(float(sites["capacity_mw"].sum()), 1),
        "mean_capacity_factor": round(float(sites["capacity_factor"].mean()), 4),
        "mean_wind_speed_hub_m_per_s": round(float(sites["wind_speed_hub_m_per_s"].mean()), 3),
        "n_exclusion_polygons": len(out.results["wind_exclusions"]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "limit_s": 120,
    }
    print(json.dumps(doc))
    return doc


if __name__ == "__main__":
    main()
