"""Benchmark of the PV yield engine: 1,000,000 facets x a full hourly year, horizon on.

Usage: ``python benchmarks/pv_engine.py [--quick] [--facets N] [--mc-sample K] [--details]``

Facets get random tilt (0-60°), azimuth (0-360°), pdc0 (1-20 kW) and a random 36-sector
horizon (0-30°); the weather is the Hangzhou CSWD EPW; Perez sky, physical IAM, SAPM
temperature. Reported: the first (compiling) call on a small batch, the timed call's
wall time, CPU time (the machine may be shared: compare with the load average) and facets
per second, the speed-up over pvlib's ModelChain measured here on
a sample of facets (without horizon), the largest relative AC error against ModelChain
on that sample, and peak memory. ``--details`` times the call as rooftop PV makes it
(``monthly=True, details=True``: monthly AC and POA, the loss cascade, sunshine hours).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

# benchmarks/ holds a coverage.py (another benchmark) that would shadow the `coverage`
# package numba imports; run with the repository root, not this folder, on the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pvlib  # noqa: E402

from engines.pv.weather import interval_middle, location_from_meta, read_epw  # noqa: E402
from engines.pv.yield_ import DEFAULTS, simulate_facets  # noqa: E402

EPW = Path(__file__).resolve().parents[1] / "data" / "real" / "weather" / (
    "CHN_Zhejiang.Hangzhou.584570_CSWD.epw")


def make_facets(n: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {
        "surface_tilt": rng.uniform(0.0, 60.0, n),
        "surface_azimuth": rng.uniform(0.0, 360.0, n),
        "pdc0_kw": rng.uniform(1.0, 20.0, n),
    }
    hz = rng.uniform(0.0, 30.0, (n, 36))
    for k in range(36):
        cols[f"horizon_elev_deg_{k * 10:03d}"] = hz[:, k]
    return pd.DataFrame(cols)


def modelchain_ac_kwh(row, weather, loc) -> float:
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
    pdc0_w = row["pdc0_kw"] * 1000.0
    array = pvlib.pvsystem.Array(
        pvlib.pvsystem.FixedMount(row["surface_tilt"], row["surface_azimuth"]),
        module_parameters={"pdc0": pdc0_w, "gamma_pdc": DEFAULTS["gamma_pdc"]},
        temperature_model_parameters=temp, albedo=0.25)
    system = pvlib.pvsystem.PVSystem(
        arrays=[array], inverter_parameters={"pdc0": pdc0_w / DEFAULTS["dc_ac_ratio"],
                                             "eta_inv_nom": DEFAULTS["eta_inv_nom"]})
    mc = pvlib.modelchain.ModelChain(
        system, loc, dc_model="pvwatts", ac_model="pvwatts", aoi_model="physical",
        spectral_model="no_loss", temperature_model="sapm", losses_model="pvwatts",
        transposition_model="perez")
    mc.run_model(weather.set_axis(interval_middle(weather.index)))
    return float(mc.results.ac.sum()) / 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50,000 facets instead of 1,000,000")
    ap.add_argument("--facets", type=int, default=None, help="number of facets")
    ap.add_argument("--mc-sample", type=int, default=20, help="facets run through ModelChain")
    ap.add_argument("--details", action="store_true",
                    help="time the call with monthly=True, details=True (as rooftop PV makes it)")
    args = ap.parse_args()
    n = args.facets or (50_000 if args.quick else 1_000_000)

    weather, meta = read_epw(EPW)
    loc = location_from_meta(meta)
    facets = make_facets(n)
    hcols = [c for c in facets.columns if c.startswith("horizon_")]
    load_before = os.getloadavg()[0]

    t0 = time.perf_counter()
    simulate_facets(facets.iloc[:1000], weather, loc)  # compiles (or loads cached) kernels
    simulate_facets(facets.iloc[:1000].drop(columns=hcols), weather, loc)
    first_call_s = time.perf_counter() - t0

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    extra = {"monthly": True, "details": True} if args.details else {}
    out = simulate_facets(facets, weather, loc, transposition_model="perez", **extra)
    wall_s = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)

    sample = facets.iloc[: args.mc_sample].drop(columns=hcols)
    t0 = time.perf_counter()
    mc_ac = np.array([modelchain_ac_kwh(row, weather, loc) for _, row in sample.iterrows()])
    mc_s_per_facet = (time.perf_counter() - t0) / len(sample)
    eng = simulate_facets(sample, weather, loc)["ac_kwh"].to_numpy()
    max_rel_err = float(np.max(np.abs(eng / mc_ac - 1.0)))

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "facets": n,
        "hours": len(weather),
        "daylight_hours": int(((weather[["ghi", "dni", "dhi"]] > 0).any(axis=1)).sum()),
        "horizon_sectors": len(hcols),
        "transposition_model": "perez",
        "details": bool(args.details),
        "first_call_compile_s": round(first_call_s, 3),
        "wall_s": round(wall_s, 3),
        "facets_per_s": round(n / wall_s, 1),
        "cpu_s": round(cpu_s, 3),
        "modelchain_s_per_facet": round(mc_s_per_facet, 4),
        "modelchain_sample": len(sample),
        "speedup_vs_modelchain": round(mc_s_per_facet * n / wall_s, 1),
        "max_rel_err_vs_modelchain": max_rel_err,
        "mean_specific_yield_kwh_per_kwp": round(float(out["specific_yield_kwh_per_kwp"].mean()),
                                                 2),
        "mean_shading_loss_fraction": round(float(out["shading_loss_fraction"].mean()), 4),
        "peak_rss_mb": round(peak_mb, 1),
        "numba_threads": numba.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_before": round(load_before, 2),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
