"""Benchmark: district and township sink accounting over a 10 m land-cover raster of Hangzhou.

Builds a small Hangzhou twin (for the real district and synthetic township
boundaries) in a temporary folder, synthesises a deterministic 10 m land-cover
GeoTIFF over the city's bounding box window by window (cells outside the city
are nodata; about 170 million cells are inside), then times, in a fresh child
process, the windowed zonal accounting (2 threads) plus the ledger and the
indicators. Prints one JSON object on the last line.

Usage: ``benchmarks/sinks_raster.py [--quick] [--res M] [--threads N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# benchmarks/ holds modules (e.g. coverage.py) that would shadow installed packages
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

#: Synthetic scheme: code k (1-based) -> twin class; 255 = nodata; 200 = an unmapped code.
CLASSES = ("mixed_forest", "evergreen_needleleaf_forest", "evergreen_broadleaf_forest",
           "bamboo_forest", "tea_garden", "cropland", "built_up", "water", "wetland",
           "shrubland", "grassland", "orchard")
WEIGHTS = (0.40, 0.10, 0.06, 0.06, 0.02, 0.10, 0.12, 0.05, 0.01, 0.04, 0.02, 0.02)


def synthesise(path: Path, bounds, res: float, crs: str, city_geom, rows_per_block: int = 1024):
    """Write a deterministic uint8 land-cover GeoTIFF (window by window)."""
    import numpy as np
    import rasterio
    import rasterio.features
    from rasterio.transform import from_origin

    x0, y0, x1, y1 = bounds
    width, height = int(np.ceil((x1 - x0) / res)), int(np.ceil((y1 - y0) / res))
    tr = from_origin(x0, y1, res, res)
    cum = np.cumsum(WEIGHTS) / np.sum(WEIGHTS)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8",
               "crs": crs, "transform": tr, "nodata": 255, "tiled": True, "blockxsize": 512,
               "blockysize": 512}
    block = max(1, int(round(500 / res)))  # 500 m patches
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, height, rows_per_block):
            h = min(rows_per_block, height - r0)
            rng = np.random.default_rng(r0)
            rows = (np.arange(r0, r0 + h) // block)[:, None]
            cols = (np.arange(width) // block)[None, :]
            u = ((rows * 7919 + cols * 104729) % 1000003) / 1000003.0  # patch-level pseudo-random
            u = (u * 97.0) % 1.0
            cls = (np.searchsorted(cum, u) + 1).astype("uint8")
            noise = rng.random((h, width)) < 0.05
            cls[noise] = rng.integers(1, len(CLASSES) + 1, int(noise.sum()), dtype="uint8")
            cls[rng.random((h, width)) < 1e-5] = 200  # a code the class table does not know
            win = rasterio.windows.Window(0, r0, width, h)
            inside = rasterio.features.geometry_mask([city_geom], out_shape=(h, width),
                                                     transform=dst.window_transform(win),
                                                     invert=True)
            cls[~inside] = 255
            dst.write(cls, 1, window=win)
    return width, height


def _child(raster, townships_path, table_path, threads, queue):
    import geopandas as gpd

    from engines.sinks.accounting import raster_ledger
    from engines.sinks.factors import read_factors
    from engines.sinks.indicators import compute_indicators
    from layers.landcover import read_class_table

    t0 = time.perf_counter()
    zones_all = gpd.read_parquet(townships_path)
    tship = zones_all.loc[zones_all["level"] == "township"].reset_index(drop=True)
    factors = read_factors()
    table = read_class_table(table_path)
    t1 = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ledger, mapped, unknown, zc = raster_ledger(raster, tship, table, factors, threads=threads)
    t2 = time.perf_counter()
    import pandas as pd

    z = pd.DataFrame({"adcode": zones_all["adcode"], "level": zones_all["level"],
                      "name_zh": zones_all["name_zh"],
                      "parent_adcode": zones_all["parent_adcode"].fillna(""),
                      "zone_area_m2": zones_all.geometry.area})
    tm = z["level"] == "township"
    z.loc[tm, "zone_area_m2"] = z.loc[tm, "adcode"].map(mapped).fillna(0.0)
    ind = compute_indicators(ledger, z, None, input_kind="raster")
    t3 = time.perf_counter()
    city = ind.loc[(ind["level"] == "city")].set_index("indicator")["value"]
    queue.put({
        "setup_s": t1 - t0, "zonal_s": t2 - t1, "indicators_s": t3 - t2, "total_s": t3 - t1,
        "cells_in_zones": int(zc.table["n_pixels"].sum()), "windows": zc.n_windows,
        "unknown_px": int(unknown["n_pixels"].sum()) if len(unknown) else 0,
        "forest_coverage_pct": float(city["forest_coverage_pct"]),
        "carbon_stock_t_c": float(city["carbon_stock_t_c"]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    })


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 m raster (about 10 M cells inside)")
    ap.add_argument("--res", type=float, default=None, help="pixel size [m] (default 10)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="work folder to keep (reused)")
    args = ap.parse_args(argv)
    res = args.res or (40.0 if args.quick else 10.0)
    work = args.keep or Path(tempfile.mkdtemp(prefix="sinks-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    from shell.demo import build_city
    from twin.store import TwinStore

    t0 = time.perf_counter()
    store = TwinStore("hangzhou", work / "home")
    if not store.exists():
        build_city("hangzhou", home=work / "home", scale=500)
    b = store.read_layer("boundaries")
    tpath = work / "zones.parquet"
    b.to_parquet(tpath)
    city_geom = b.loc[b["level"] == "city"].geometry.union_all()
    table_path = work / "bench_scheme.csv"
    table_path.write_text("source_code,lc_class\n" + "".join(
        f"{k},{c}\n" for k, c in enumerate(CLASSES, start=1)) + "255,\n", encoding="utf-8")
    raster = work / f"lc_{int(res)}m.tif"
    if not raster.exists():
        w, h = synthesise(raster, tuple(b.total_bounds), res, "EPSG:4549", city_geom)
    else:
        import rasterio

        with rasterio.open(raster) as src:
            w, h = src.width, src.height
    prep_s = time.perf_counter() - t0

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(str(raster), str(tpath), str(table_path), args.threads, q))
    p.start()
    result = None
    while result is None:
        try:
            result = q.get(timeout=5)
        except Exception:  # queue.Empty: check that the child is still alive
            if not p.is_alive():
                print(json.dumps({"benchmark": "sinks_raster", "error":
                                  f"child exited with {p.exitcode}"}))
                return 1
    p.join()
    result.update({
        "benchmark": "sinks_raster", "quick": args.quick, "res_m": res, "threads": args.threads,
        "raster_width": w, "raster_height": h, "raster_cells": w * h, "prep_s": round(prep_s, 1),
        "cpu_count": os.cpu_count(),
    })
    for k in ("setup_s", "zonal_s", "indicators_s", "total_s"):
        result[k] = round(result[k], 3)
    result["peak_rss_mb"] = round(result["peak_rss_mb"], 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
