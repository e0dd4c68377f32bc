"""Benchmark: water-surface PV screening of every water body of full-scale synthetic Hangzhou.

Usage: ``python benchmarks/water_pv.py [--quick] [--ponds N]``.

The water layer is the generator's (:mod:`synth.water`): its big water (lakes, West
Lake, Qiantang River, Grand Canal, mountain reservoirs; :func:`synth.water.big_water`) plus
fishery-pond fields made the way the generator makes them (clusters of 4-16 x 4-12
rectangular ponds of 60-200 m x 40-150 m with 6-12 m dykes, 5 % pit-ponds) on
non-forest, non-water MODIS cells of the four aquaculture districts, until the
full-scale count of 0.03 ponds per building x 2,000,000 buildings = 60,000 ponds is
reached. With ``--twin-home`` the water layer of a built Hangzhou twin is screened
instead: the full-scale twin (``twin demo --city hangzhou --scale full``, as built by
``benchmarks/batch.py``) holds about 56,000 generator ponds.

Timed: :func:`engines.pv.water.screen_water` (type, protection, pond-field clustering,
minimum area, shoreline setback, capacity) and :func:`engines.pv.water.site_yield`
(the rooftop yield engine, one facet per class) and :func:`district_totals`; the weather
file is read before the clock starts. Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pvlib
import shapely

ROOT = Path(__file__).resolve().parents[1]
# drop benchmarks/ (the script's folder) from the path: benchmarks/coverage.py would shadow
# the 'coverage' package that numba imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from engines.pv.water import district_totals, load_site_params, screen_water, site_yield  # noqa: E402
from engines.pv.weather import read_epw  # noqa: E402
from synth.context import locate, make_context, rect_coords, source_string  # noqa: E402
from synth.water import big_water as generator_big_water  # noqa: E402
from twin.config import load_city  # noqa: E402

# benchmarks/generator.py's district table, loaded by path
_spec = importlib.util.spec_from_file_location("_bench_generator", ROOT / "benchmarks" / "generator.py")
_bg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bg)
AQUACULTURE, load_hangzhou = _bg.AQUACULTURE, _bg.load_hangzhou

# MODIS IGBP savannas, wetland, cropland, urban, cropland/natural mosaic. The generator
# uses 11, 12, 14 only, but the 0.05° MODIS grid labels the plains of Xiaoshan, Linping
# and Qiantang (where the fishery ponds are) savannas (9) or urban (13), so it finds room
# for ~1,700 ponds, in Yuhang alone; with 9 added there is room for ~33,000. 9 and 13 are
# added here to reach the full-scale count (a performance benchmark, not a pond map).
POND_CODES = (9, 11, 12, 13, 14)


def big_water(seed: int):
    """The generator's big water of Hangzhou, and its district polygons."""
    d, codes, transform, crs, cmap = load_hangzhou()
    ctx = make_context(d, codes, transform, crs, cmap, n_buildings=2_000_000, seed=seed,
                       city_id="hangzhou")
    return ctx.d, ctx.geoms, ctx.grid, generator_big_water(ctx)


def pond_fields(d, geoms, grid, water, n_ponds: int, seed: int):
    """Pond polygons, district index and pit flag, about ``n_ponds`` of them."""
    rng = np.random.default_rng([seed, 4])
    aq = [k for k, a in enumerate(d["adcode"]) if a in AQUACULTURE]
    # candidate cluster centres: uniform in each district, on pond cells, area-weighted
    cand = []
    for k in aq:
        minx, miny, maxx, maxy = geoms[k].bounds
        m = max(int(geoms[k].area / 1e6 * 100), 1000)
        x, y = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(geoms[k], x, y) & np.isin(grid.code_at(x, y), POND_CODES)
        cand.append(np.column_stack([x[ok], y[ok], np.full(ok.sum(), k)]))
    cand = np.concatenate(cand)
    cand = cand[rng.permutation(len(cand))]
    out_p, out_d = [], []
    got = 0
    centres = []
    for x0, y0, kf in cand:
        if got >= n_ponds:
            break
        k = int(kf)
        nx_, ny_ = int(rng.integers(4, 16)), int(rng.integers(4, 13))
        pw = 60 + 140 * rng.beta(1.5, 3.0)
        ph = 40 + 110 * rng.beta(1.5, 3.0)
        dyke = rng.uniform(6, 12)
        th = rng.uniform(0, np.pi / 2)
        ext = 0.5 * np.hypot(nx_ * (pw + dyke), ny_ * (ph + dyke))
        if centres:
            c = np.asarray(centres)
            if np.any(np.hypot(c[:, 0] - x0, c[:, 1] - y0) < c[:, 2] + ext + 15):
                continue
        ii, kk = np.meshgrid(np.arange(nx_) - (nx_ - 1) / 2, np.arange(ny_) - (ny_ - 1) / 2)
        lu, lv = ii.ravel() * (pw + dyke), kk.ravel() * (ph + dyke)
        px = x0 + lu * np.cos(th) - lv * np.sin(th)
        py = y0 + lu * np.sin(th) + lv * np.cos(th)
        wj = pw * rng.uniform(0.85, 1.0, lu.size)
        hj = ph * rng.uniform(0.85, 1.0, lu.size)
        polys = shapely.polygons(rect_coords(px, py, wj, hj, np.full(lu.size, th)))
        ok = shapely.contains(geoms[k], polys) & np.isin(grid.code_at(px, py), POND_CODES)
        if len(water.polys):
            a_, _ = water.tree.query(polys, predicate="intersects")
            ok[a_] = False
        polys = polys[ok][: n_ponds - got]
        if len(polys) < 8:
            continue
        centres.append((x0, y0, ext))
        out_p.append(polys)
        out_d.append(np.full(len(polys), k))
        got += len(polys)
    if got < 0.99 * n_ponds:
        print(f"pond fields: placed {got} of {n_ponds} ponds", file=sys.stderr)
    polys = np.concatenate(out_p)
    return polys, np.concatenate(out_d), rng.random(len(polys)) < 0.05


def water_layer(n_ponds: int, seed: int) -> gpd.GeoDataFrame:
    d, geoms, grid, water = big_water(seed)
    polys, dist, pit = pond_fields(d, geoms, grid, water, n_ponds, seed)
    big = water.rows
    geom = np.array([r[0] for r in big] + list(polys), dtype=object)
    adc = d["adcode"].astype(str).to_numpy()
    reps = shapely.point_on_surface(geom[: len(big)])
    big_adc = locate(reps, geoms, adc) if len(big) else []
    n = len(geom)
    return gpd.GeoDataFrame({
        "water_id": [f"hangzhou-w-{i:06d}" for i in range(n)],
        "water_type": [r[1] for r in big] + np.where(pit, "pit_pond", "pond").tolist(),
        "name": [r[2] for r in big] + [""] * len(polys),
        "is_protected": [r[3] for r in big] + [False] * len(polys),
        "is_drinking_source": [r[4] for r in big] + [False] * len(polys),
        "is_aquaculture": [False] * len(big) + [True] * len(polys),
        "district_adcode": list(big_adc) + adc[dist].tolist(),
        "township_code": [""] * n,
        "is_synthetic": True,
        "source": source_string(seed) + " (ponds: benchmarks/water_pv.py)",
    }, geometry=geom, crs="EPSG:4549")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="5,000 ponds instead of 60,000")
    ap.add_argument("--ponds", type=int, default=None, help="number of ponds to synthesise")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--twin-home", type=Path, default=None,
                    help="screen the water layer of the Hangzhou twin built there (e.g. the "
                         "full-scale twin of benchmarks/batch.py) instead of synthesising ponds")
    args = ap.parse_args()
    n_ponds = args.ponds or (5_000 if args.quick else 60_000)
    t0 = time.perf_counter()
    if args.twin_home is not None:
        from twin.store import TwinStore

        water = TwinStore("hangzhou", args.twin_home).read_layer("water")
    else:
        water = water_layer(n_ponds, args.seed)
    t_gen = time.perf_counter() - t0
    city = load_city("hangzhou")
    weather, _ = read_epw(city.weather_path)
    location = pvlib.location.Location(city.latitude, city.longitude, tz=city.timezone,
                                       altitude=city.altitude_m)
    params = load_site_params()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t1 = time.perf_counter()
    screened, repairs = screen_water(water, latitude_deg=city.latitude, params=params)
    t2 = time.perf_counter()
    sites = screened.loc[screened["site_exclusion_reason"] == ""].copy()
    y = site_yield(sites, weather, location, params)
    sites = sites.join(y)
    t3 = time.perf_counter()
    totals = district_totals(sites, storage=params["storage"])
    t4 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    allrow = totals.loc[totals["site_category"] == "all"]
    out = {
        "benchmark": "water_pv", "city": "hangzhou", "seed": args.seed,
        "water_bodies": len(water), "ponds": int(water["water_type"].isin(["pond", "pit_pond"]).sum()),
        "sites": len(sites), "exclusions": screened["site_exclusion_reason"].value_counts()
        .drop("", errors="ignore").to_dict(),
        "yield_classes": int(sites[["mounting", "surface_tilt", "surface_azimuth", "albedo"]]
                             .drop_duplicates().shape[0]),
        "capacity_mwp": round(float(allrow["capacity_mwp"].sum()), 1),
        "energy_gwh_per_yr": round(float(allrow["pv_energy_mwh_per_yr"].sum()) / 1000, 1),
        "seconds_synthesis": round(t_gen, 2),
        "seconds_screen": round(t2 - t1, 2), "seconds_yield": round(t3 - t2, 2),
        "seconds_totals": round(t4 - t3, 3), "seconds_total": round(t4 - t1, 2),
        "peak_rss_mb": round(peak, 1), "rss_before_screen_mb": round(rss0, 1),
        "repairs": len(repairs),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
