"""Wall and CPU seconds of each step of the coverage engine on a built twin; one JSON line.

Runs coverage's ``load`` and pure ``compute`` as ``twin coverage`` and a ``twin build``
worker do (nothing is committed) and reports, per progress step (``read layers``,
``network``, ``demand``, ``drive times``, ``walking distances``, ``isochrones``, ...),
the wall time and the process CPU time (``time.process_time``), the sizes
(buildings, demand points, nodes, edges) and the load average::

    nice python benchmarks/coverage_profile.py --home /tmp/twin-x --city hangzhou
    nice python benchmarks/coverage_profile.py --home H --save /tmp/cov-a   # keep the results
    python benchmarks/coverage_profile.py --compare /tmp/cov-a /tmp/cov-b     # equal?

``--save DIR`` writes the summary table and the per-point columns of the demand and the
area cells (no geometry) as Parquet, and the isochrone areas; ``--compare A B`` says which
of them differ (bitwise, and the largest difference of float columns).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd


def _save(out: dict, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    res, tab = out.results, out.tables
    tab["coverage_summary"].to_parquet(path / "summary.parquet")
    for name in ("coverage_demand", "coverage_cells"):
        pd.DataFrame(res[name].drop(columns="geometry")).to_parquet(path / f"{name}.parquet")
    iso = res["coverage_isochrones"]
    pd.DataFrame(iso.drop(columns="geometry")).to_parquet(path / "isochrones.parquet")
    res["coverage_sites"].drop(columns="geometry").to_parquet(path / "sites.parquet")


def _compare(a: Path, b: Path) -> dict:
    out = {}
    for f in sorted(p.name for p in a.glob("*.parquet")):
        x, y = pd.read_parquet(a / f), pd.read_parquet(b / f)
        if x.equals(y):
            out[f] = "equal"
            continue
        diff = {}
        for c in x.columns:
            if c not in y.columns or len(x) != len(y):
                diff[c] = "missing or other length"
            elif not x[c].equals(y[c]):
                if pd.api.types.is_float_dtype(x[c]):
                    xv, yv = x[c].to_numpy(float), y[c].to_numpy(float)
                    both = np.isfinite(xv) & np.isfinite(yv)
                    diff[c] = {"max_abs_diff": float(np.abs(xv[both] - yv[both]).max(initial=0.0)),
                               "rows_differ": int((~((xv == yv) | (np.isnan(xv) & np.isnan(yv)))).sum())}
                else:
                    diff[c] = {"rows_differ": int((x[c] != y[c]).sum())}
        out[f] = diff
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", help="TWIN_HOME of a built twin")
    ap.add_argument("--city", default="hangzhou")
    ap.add_argument("--save", help="folder for the results (to --compare later)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two --save folders")
    ap.add_argument("--profile", help="write a cProfile of compute to this file")
    args = ap.parse_args(argv)
    if args.compare:
        res = {"benchmark": "coverage_compare", **_compare(Path(args.compare[0]), Path(args.compare[1]))}
        print(json.dumps(res))
        return res
    if not args.home:
        ap.error("--home is required (or --compare)")

    from engines.coverage import city as coverage
    from engines.coverage.params import CoverageParams
    from shell.runners import StoreSource
    from twin.config import load_city
    from twin.store import TwinStore

    steps: list[dict] = []
    clock = [time.perf_counter(), time.process_time()]

    def step(name: str) -> None:
        w, c = time.perf_counter(), time.process_time()
        steps.append({"step": name, "wall_s": round(w - clock[0], 2), "cpu_s": round(c - clock[1], 2)})
        clock[:] = [w, c]

    w0, c0 = time.perf_counter(), time.process_time()
    source = StoreSource(TwinStore(args.city, args.home), load_city(args.city))
    params = CoverageParams()
    clock[:] = [time.perf_counter(), time.process_time()]
    inputs = coverage.load(source, params, progress=step)
    n_buildings = len(inputs.layers["buildings"])
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    out = coverage.compute(inputs, params, progress=step)
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    meta = out.meta["coverage"]
    res = {"benchmark": "coverage_profile", "city": args.city, "buildings": n_buildings,
           "demand_points": meta["n_demand"], "nodes": meta["n_nodes"], "edges": meta["n_edges"],
           "public_stations": meta["n_public_stations"],
           "total_wall_s": round(time.perf_counter() - w0, 2),
           "total_cpu_s": round(time.process_time() - c0, 2), "steps": steps,
           "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}
    if args.save:
        _save(out, Path(args.save))
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
