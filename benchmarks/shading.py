"""Benchmark: horizon profiles of ~1,000,000 roof facets in a synthetic city.

The city: rectangular buildings on a jittered grid (40 m pitch), footprints 12-30 m by
9-18 m rotated by up to ±20 °, heights 60 % low-rise (6-18 m), 30 % mid-rise
(18-50 m), 10 % high-rise (50-120 m); roofs 70 % hip, 20 % gable, 10 % flat. Facets
come from :func:`engines.pv.facets.roof_facets` with every facet kept (no azimuth
or area exclusion), ~3.3 per building; the first N are used. Horizons: 36 sectors,
300 m radius, own building excluded; by default 10 exact samples per sector matched to
Hangzhou's sun, with row masks on the flat roofs (as the rooftop engine runs);
``--samples 0`` gives the exact sector maxima (the mode before sampling).

Usage: ``python benchmarks/shading.py [--quick] [--facets N] [--radius M] [--samples S]``.
Prints one JSON object on its last line; ``horizon_cpu_s`` and ``facets_per_cpu_s`` count
CPU time of every thread (``time.process_time``), which a loaded machine changes less than
the wall time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import geopandas as gpd
import shapely

from engines.pv.facets import roof_facets
from engines.pv.shading import horizon_profiles, obstacles_from_polygons, row_masking_angles, sun_table

FACETS_PER_BUILDING = 0.7 * 4 + 0.2 * 2 + 0.1 * 1
PITCH_M = 40.0


def synthetic_city(n_buildings: int, seed: int = 42) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = int(math.ceil(math.sqrt(n_buildings)))
    ii, jj = np.divmod(np.arange(n_buildings), side)
    cx = 500_000.0 + ii * PITCH_M + rng.uniform(-5, 5, n_buildings)
    cy = 3_340_000.0 + jj * PITCH_M + rng.uniform(-5, 5, n_buildings)
    length = rng.uniform(12, 30, n_buildings)
    width = np.minimum(rng.uniform(9, 18, n_buildings), length * 0.9)
    ang = np.radians(rng.uniform(-20, 20, n_buildings))
    ux, uy = np.cos(ang), np.sin(ang)
    corners = []
    for su, sv in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
        x = cx + su * length / 2 * ux - sv * width / 2 * uy
        y = cy + su * length / 2 * uy + sv * width / 2 * ux
        corners.append(np.column_stack([x, y]))
    geom = shapely.polygons(np.stack(corners, axis=1))
    tier = rng.uniform(size=n_buildings)
    height = np.where(tier < 0.6, rng.uniform(6, 18, n_buildings),
                      np.where(tier < 0.9, rng.uniform(18, 50, n_buildings),
                               rng.uniform(50, 120, n_buildings)))
    rt = rng.uniform(size=n_buildings)
    roof = np.where(rt < 0.7, "hip", np.where(rt < 0.9, "gable", "flat"))
    return gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(n_buildings)], "height_m": height,
         "roof_type": roof}, geometry=geom, crs=4549)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 facets")
    ap.add_argument("--facets", type=int, default=None, help="number of facets")
    ap.add_argument("--radius", type=float, default=300.0, help="search radius [m]")
    ap.add_argument("--sectors", type=int, default=36)
    ap.add_argument("--samples", type=int, default=10,
                    help="horizon samples per sector matched to the sun (0: exact sector maxima)")
    args = ap.parse_args()
    n_facets = args.facets or (20_000 if args.quick else 1_000_000)
    n_buildings = int(math.ceil(n_facets / FACETS_PER_BUILDING * 1.02))

    t0 = time.perf_counter()
    city = synthetic_city(n_buildings)
    t_city = time.perf_counter() - t0

    t0 = time.perf_counter()
    facets = roof_facets(city, latitude_deg=30.25, exclude_azimuth_range=None,
                         min_installable_area_m2=0.0, keep_excluded=True)
    t_facets = time.perf_counter() - t0
    facets = facets.iloc[:n_facets]

    t0 = time.perf_counter()
    obstacles = obstacles_from_polygons(city.geometry.values, city["height_m"].to_numpy())
    own = city.reset_index().set_index("building_id").loc[facets["building_id"], "index"]
    pts = facets[["x_m", "y_m", "height_m"]].to_numpy()
    t_prep = time.perf_counter() - t0

    kw: dict = {}
    if args.samples:  # as the rooftop engine: Hangzhou's sun, row masks on flat roofs
        rows = row_masking_angles(facets)
        kw = {"samples_per_sector": args.samples, "row_masking_deg": rows,
              "row_azimuth_deg": facets["surface_azimuth"].to_numpy(),
              "sun": sun_table(args.sectors, args.samples, latitude_deg=30.25, longitude_deg=120.2,
                               utc_offset_h=8.0)}
    first = {k: (v[:10] if k.startswith("row_") else v) for k, v in kw.items()}

    t0 = time.perf_counter()  # compile (or load the numba cache) on a tiny input
    horizon_profiles(pts[:10], obstacles, n_sectors=args.sectors, radius_m=args.radius,
                     exclude=own.to_numpy()[:10], **first)
    t_warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    c0 = time.process_time()
    elev = horizon_profiles(pts, obstacles, n_sectors=args.sectors, radius_m=args.radius,
                            exclude=own.to_numpy(), **kw)
    t_hor = time.perf_counter() - t0
    c_hor = time.process_time() - c0

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "benchmark": "shading.horizon_profiles",
        "quick": args.quick,
        "n_buildings": n_buildings,
        "n_facets": len(facets),
        "n_sectors": args.sectors,
        "samples_per_sector": args.samples,
        "radius_m": args.radius,
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
        "city_s": round(t_city, 2),
        "roof_facets_s": round(t_facets, 2),
        "prep_s": round(t_prep, 2),
        "compile_or_cache_s": round(t_warm, 2),
        "horizon_s": round(t_hor, 2),
        "total_s": round(t_city + t_facets + t_prep + t_warm + t_hor, 2),
        "facets_per_s": round(len(facets) / t_hor, 1),
        "horizon_cpu_s": round(c_hor, 2),
        "facets_per_cpu_s": round(len(facets) / c_hor, 1),
        "mean_horizon_deg": round(float(elev.mean()), 3),
        "share_sectors_obstructed": round(float((elev > 0).mean()), 4),
        "peak_rss_mib": round(peak_mib, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
