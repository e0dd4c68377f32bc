"""Benchmark: generate synthetic Hangzhou from the real district boundaries.

Usage: ``python benchmarks/generator.py [--quick]`` (full scale: 2,000,000 buildings;
--quick: 50,000). Prints seconds per step, counts per layer and peak memory as one
JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import rasterio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import synth.city  # noqa: E402
from synth import generate_city  # noqa: E402

BOUNDARIES = ROOT / "data/real/boundaries/hangzhou_huzhou_admin_amap_wgs84.geojson"
MODIS = ROOT / "data/real/landcover/mcd12c1_2019_igbp_hangzhou_huzhou.tif"
CLASSES = ROOT / "data/landcover/modis_igbp.csv"

# District kinds used for the benchmark (the lead's city config is authoritative).
KIND = {"330102": "dense_core", "330105": "dense_core", "330106": "dense_core",
        "330108": "dense_core", "330109": "new_town", "330110": "new_town",
        "330113": "new_town", "330114": "new_town", "330111": "mountain_county",
        "330112": "mountain_county", "330122": "mountain_county", "330127": "mountain_county",
        "330182": "mountain_county"}
AQUACULTURE = {"330109", "330110", "330113", "330114"}


def load_hangzhou():
    g = gpd.read_file(BOUNDARIES)
    g = g[(g["level"] == "district") & g["adcode"].astype(str).isin(KIND)].to_crs(4549)
    adc = g["adcode"].astype(str).to_numpy()
    d = gpd.GeoDataFrame({
        "adcode": adc, "name_zh": g["district_name"].to_numpy(), "name_en": adc,
        "kind": [KIND[a] for a in adc], "aquaculture": [a in AQUACULTURE for a in adc],
        "is_urban": [KIND[a] == "dense_core" for a in adc]}, geometry=g.geometry.to_numpy(),
        crs=4549)
    with rasterio.open(MODIS) as r:
        codes, transform, crs = r.read(1), r.transform, r.crs
    cm = pd.read_csv(CLASSES)
    cmap = {int(a): b for a, b in zip(cm["source_code"], cm["lc_class"], strict=True)
            if isinstance(b, str)}
    return d, codes, transform, crs, cmap


class _Timer:
    """Wrap the generation steps that synth.city calls, to time them."""

    STEPS = ("big_water", "candidate_pools", "settlements", "townships", "green_space",
             "plan_links", "buildings", "ponds", "roads", "points", "landcover", "water_layer",
             "green_layer")

    def __init__(self):
        self.times = {}

    def install(self):
        for name in self.STEPS:
            orig = getattr(synth.city, name)

            def wrapped(*args, _orig=orig, _name=name, **kw):
                t0 = time.perf_counter()
                out = _orig(*args, **kw)
                self.times[_name] = round(time.perf_counter() - t0, 3)
                return out

            setattr(synth.city, name, wrapped)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="50,000 buildings instead of 2,000,000")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = 50_000 if args.quick else 2_000_000
    d, codes, transform, crs, cmap = load_hangzhou()
    timer = _Timer()
    timer.install()
    t0 = time.perf_counter()
    layers = generate_city(d, codes, transform, crs, cmap, n_buildings=n, seed=args.seed,
                           city_id="hangzhou")
    total = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "benchmark": "generator", "city": "hangzhou", "n_buildings_requested": n,
        "seed": args.seed, "seconds_total": round(total, 2), "seconds_per_step": timer.times,
        "counts": {k: len(v) for k, v in layers.items()},
        "ponds": int(layers["water"]["is_aquaculture"].sum()),
        "peak_rss_mb": round(peak_mb, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
