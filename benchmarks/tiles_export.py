"""Benchmark: `twin export tiles` of a full-scale synthetic Hangzhou (about 2 million buildings).

Usage: ``python benchmarks/tiles_export.py [--quick] [--home DIR] [--keep]``.
Builds Hangzhou with the project's generator (``shell.demo.build_city``, full scale:
the config's ``full_scale_buildings``; --quick: 100,000 buildings) into ``--home`` (a
temporary folder by default; an existing full-scale twin there is reused, not rebuilt),
then runs ``twin export tiles`` (every default layer, z8-z16) in a child process and
prints one JSON line: buildings, seconds to build (not the target) and to export, the
export's CPU seconds (user + system) and peak memory (the child's max RSS), the load
average before and after (the machine is shared), tiles, archive size, largest tile,
tiles thinned to fit the 500 KB budget.

Target (issue 18): the export in at most 5 minutes on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUICK_BUILDINGS = 100_000

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from shell.tiles import export_tiles
t = time.perf_counter()
r = export_tiles("hangzhou", {out!r}, home={home!r})
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"export_s": round(wall, 1), "cpu_s": round(u.ru_utime + u.ru_stime, 1),
                  "peak_rss_gb": round(u.ru_maxrss / 1e6, 2), "layers": r.layers, "n_tiles": r.n_tiles,
                  "archive_mb": round(r.bytes / 1e6, 1), "max_tile_kb": round(r.max_tile_bytes / 1e3, 1),
                  "n_thinned": len(r.thinned), "n_over_budget": len(r.over_budget)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_BUILDINGS:,} buildings instead of full scale")
    ap.add_argument("--home", type=Path, default=None, help="twin home to build into or reuse")
    ap.add_argument("--keep", action="store_true", help="keep the temporary home and the archive")
    args = ap.parse_args()

    from shell.demo import build_city
    from twin.config import load_city
    from twin.store import TwinStore

    home = args.home or Path(tempfile.mkdtemp(prefix="tiles-bench-"))
    city = load_city("hangzhou")
    want = QUICK_BUILDINGS if args.quick else city.full_scale_buildings
    store = TwinStore("hangzhou", home)
    have = int(store.layers().set_index("name").loc["buildings", "n_rows"]) if store.exists() else 0
    build_s = 0.0
    if have < 0.9 * want:
        t = time.perf_counter()
        build_city("hangzhou", home=home, scale=want)
        build_s = time.perf_counter() - t
        have = int(store.layers().set_index("name").loc["buildings", "n_rows"])
    out = home / "bench.pmtiles"
    load0 = os.getloadavg()
    res = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), out=str(out), home=str(home))],
                         capture_output=True, text=True, check=False)
    load1 = os.getloadavg()
    if res.returncode:
        sys.stderr.write(res.stderr)
        raise SystemExit(res.returncode)
    child = json.loads(res.stdout.strip().splitlines()[-1])
    peak_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(json.dumps({"benchmark": "tiles_export", "quick": args.quick, "buildings": have,
                      "build_s": round(build_s, 1), "build_peak_rss_gb": round(peak_build, 2), **child,
                      "cpu_count": os.cpu_count(), "loadavg_before": [round(v, 1) for v in load0],
                      "loadavg_after": [round(v, 1) for v in load1], "target_s": 300,
                      "meets_target": child["export_s"] <= 300}))
    if not args.keep and args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
