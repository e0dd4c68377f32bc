"""Benchmark: `twin import osm` of a generated PBF with many buildings into Huzhou.

Usage: ``python benchmarks/osm_import.py [--quick] [--home DIR] [--n N] [--pbf FILE]``
(full: 500,000 buildings; --quick: 20,000; ``--pbf``: write the PBF there, or reuse it when
it exists). Writes a PBF with pyosmium (12 m square buildings on a 25 m grid around central
Huzhou; a third with ``height``, a third with ``building:levels``, a third with neither),
then runs ``twin import osm --layers buildings`` in a child process against a built Huzhou
twin (``--home``, default $TWIN_HOME; when there is none, Huzhou is built at a small scale
into a temporary folder, not timed).

Prints one JSON line: buildings written and mapped, seconds to write the PBF and to import
(wall), the import's CPU seconds (user + system of the child, which a loaded machine does
not inflate as it does the wall time), its peak memory (the child's max RSS), the 1-minute
load average before and after the import, and the import's own wall and CPU seconds per
stage (read the PBF and map tags, project and clip, schema gate, admin codes, write).

Target (issue 16): 500,000 buildings in under 2 minutes and under 4 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
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

import osmium  # noqa: E402

LON0, LAT0 = 120.10, 30.87
DLAT, DLON = 1 / 111_000, 1 / 95_300
USES = ("residential", "yes", "apartments", "commercial", "industrial", "school")


def write_pbf(path: Path, n: int, size_m: float = 12.0, step_m: float = 25.0) -> None:
    """Write ``n`` square buildings on a grid centred on central Huzhou."""
    side = math.ceil(math.sqrt(n))
    x0 = -side * step_m / 2
    head = osmium.io.Header()
    head.set("osmosis_replication_timestamp", "2026-12-01T00:00:00Z")
    Node, Way = osmium.osm.mutable.Node, osmium.osm.mutable.Way
    with osmium.SimpleWriter(str(path), header=head, overwrite=True) as w:
        nid = 1
        for k in range(n):
            x, y = x0 + (k % side) * step_m, x0 + (k // side) * step_m
            for dx, dy in ((0, 0), (size_m, 0), (size_m, size_m), (0, size_m)):
                w.add_node(Node(id=nid, location=(LON0 + (x + dx) * DLON, LAT0 + (y + dy) * DLAT)))
                nid += 1
        for k in range(n):
            tags = {"building": USES[k % len(USES)]}
            if k % 3 == 0:
                tags["height"] = str(6 + k % 60)
            elif k % 3 == 1:
                tags["building:levels"] = str(1 + k % 30)
            first = 1 + 4 * k
            w.add_way(Way(id=k + 1, nodes=[first, first + 1, first + 2, first + 3, first], tags=tags))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20,000 buildings instead of 500,000")
    ap.add_argument("--n", type=int, default=None, help="number of buildings (overrides --quick)")
    ap.add_argument("--home", default=os.environ.get("TWIN_HOME"), help="folder with a built Huzhou")
    ap.add_argument("--pbf", default=None, help="PBF to write (or to reuse when it exists)")
    args = ap.parse_args()
    n = args.n or (20_000 if args.quick else 500_000)
    with tempfile.TemporaryDirectory(prefix="osm-bench-") as tmp:
        if args.home is None:
            from shell.demo import build_city

            home = Path(tmp) / "home"
            build_city("huzhou", home=home, scale=3000)
        else:
            home = Path(args.home)
            if not (home / "huzhou").exists():
                raise SystemExit(f"{home}: no built Huzhou twin (run `twin demo --city huzhou` first)")
        work = Path(tmp) / "home-copy"
        shutil.copytree(home / "huzhou", work / "huzhou")
        pbf = Path(args.pbf) if args.pbf else Path(tmp) / "bench.osm.pbf"
        t0 = time.perf_counter()
        if not pbf.exists():
            write_pbf(pbf, n)
        t_write = time.perf_counter() - t0
        env = {**os.environ, "TWIN_HOME": str(work), "PYTHONPATH": str(ROOT)}
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "shell.cli", "import", "osm", str(pbf),
                               "--city", "huzhou", "--layers", "buildings", "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        t_import = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"import failed: {proc.stderr.strip()}")
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
        rep = doc["layers"]["buildings"]
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = usage.ru_maxrss / 1024
        print(json.dumps({
            "benchmark": "osm_import", "city": "huzhou", "n_buildings_written": n,
            "pbf_mb": round(pbf.stat().st_size / 2**20, 1), "read": rep["read"],
            "mapped": rep["mapped"], "dropped": rep["dropped"],
            "seconds_write_pbf": round(t_write, 2), "seconds_import": round(t_import, 2),
            "cpu_seconds_import": round(usage.ru_utime + usage.ru_stime, 2),
            "import_peak_rss_mb": round(peak_mb, 1),
            "load_avg_1min": [round(load0, 1), round(os.getloadavg()[0], 1)], "cpus": os.cpu_count(),
            "stages": doc.get("timings"),
        }))


if __name__ == "__main__":
    main()
