"""Profile of rooftop PV (the ``twin pv`` path) per stage, in CPU seconds of one core.

Runs the steps of :func:`engines.pv.rooftop.rooftop_potential` and
:func:`engines.pv.rooftop.compute` one by one on a built twin's buildings, with numba
on one thread (as a batch worker runs it), and reports the CPU time of each stage
(``time.process_time``: the machine may be shared, wall time would measure the load),
per million facets:

* ``read_twin``: the engine's ``load`` (buildings layer, weather files, DEM);
* ``facets``: :func:`~engines.pv.facets.roof_facets`;
* ``obstacles``: building heights, footprint edges packed for the kernel
  (:func:`~engines.pv.shading.obstacles_from_polygons`), own-building lookup and row masks;
* ``sun_table``: the site's sun table for horizon matching (cached per site);
* ``horizon_grid``: the uniform grid index of the blocks and the visiting order;
* ``horizon_kernel``: the compiled walk (sampled horizons matched to the sun);
* ``terrain``: DEM ray marching (0 without a DEM);
* ``solar_position``: sun, airmass, sky terms per hour (cached per weather and site);
* ``yield``: :func:`~engines.pv.rooftop.simulate_by_roof` (kernel, per-facet inputs, frame);
* ``economics``: panels, reference yield, viability, scenarios, per-building sums, screener columns;
* ``tables``: district, township and city totals, targets, weather variability;
* ``write``: a batch tile's rows (:func:`~engines.pv.rooftop.rooftop_rows`) written as Parquet
  (:func:`shell.batch.tasks.write_tile_cache`).

Usage::

    python benchmarks/rooftop_profile.py [--home /tmp/demo-base] [--city hangzhou] [--repeat 1]

Compiles (or loads the numba cache) first on a small slice. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _work(inputs, params, facets: pd.DataFrame, hours: dict, tmp: Path) -> dict[str, float]:
    """What each stage has to do: blocks and edges within reach of a facet, facet-hours, bytes written."""
    import shapely

    b = inputs.buildings
    tree = shapely.STRtree(b.geometry.values)
    pts = shapely.points(facets["x_m"].to_numpy(), facets["y_m"].to_numpy())
    pi, bi = tree.query(pts, predicate="dwithin", distance=params.radius_m)
    own = facets["building_id"].to_numpy()[pi] == b["building_id"].to_numpy()[bi]
    pi, bi = pi[~own], bi[~own]
    n_edges = shapely.get_num_coordinates(b.geometry.values) - shapely.get_num_geometries(b.geometry.values)
    n = len(facets)
    return {"blocks_within_radius_per_facet": round(len(pi) / n, 1),
            "edges_within_radius_per_facet": round(float(n_edges[bi].sum()) / n, 1),
            "daylight_hours": len(hours["cz"]),
            "bytes_written_per_facet": round(sum(f.stat().st_size for f in tmp.iterdir()) / n, 1)}


def _stages(inputs, params, tmp: Path) -> tuple[dict[str, float], int, dict]:
    from engines.pv import shading, yield_
    from engines.pv.economics import panel_count
    from engines.pv.facets import building_heights, roof_facets
    from engines.pv.rooftop import (
        TERRAIN_RADIUS_M,
        VIABLE_FRACTION_OF_REFERENCE,
        _per_building,
        _reference_yield,
        _sun_table,
        rooftop_tables,
        screener_columns,
        simulate_by_roof,
        weather_variability,
    )
    from engines.pv.scenarios import apply_scenario
    from shell.batch.tasks import write_tile_cache

    t: dict[str, float] = {}
    clock = [time.process_time()]

    def lap(name: str) -> None:
        now = time.process_time()
        t[name] = t.get(name, 0.0) + now - clock[0]
        clock[0] = now

    buildings, weather, location = inputs.buildings, inputs.weather, inputs.location
    layout = params.layout
    model = params.options()
    samples = layout.samples_per_sector
    yield_._SUN_CACHE.clear()
    shading._sun_table_cached.cache_clear()
    clock[0] = time.process_time()

    facets = roof_facets(buildings, latitude_deg=location.latitude, **layout.facet_options())
    lap("facets")
    heights, _ = building_heights(buildings, 10.0, 3.0)
    obstacles = shading.obstacles_from_polygons(buildings.geometry.values, heights)
    pos = pd.Series(np.arange(len(buildings)), index=buildings["building_id"].astype(str).to_numpy())
    own = pos.to_numpy()[pos.index.get_indexer(facets["building_id"].astype(str).to_numpy())]
    pts = facets[["x_m", "y_m", "height_m"]].to_numpy(dtype="float64")
    rows = shading.row_masking_angles(facets) if layout.row_shading else None
    lap("obstacles")
    sun = _sun_table(location, 36, samples)
    lap("sun_table")
    shading._grid_index(pts, obstacles, params.radius_m, None)
    lap("horizon_grid")
    row_az = None if rows is None else facets["surface_azimuth"].to_numpy()
    elev = shading.horizon_profiles(pts, obstacles, radius_m=params.radius_m, exclude=own,
                                    samples_per_sector=samples, row_masking_deg=rows,
                                    row_azimuth_deg=row_az, sun=sun)
    lap("horizon_kernel")
    t["horizon_kernel"] -= t["horizon_grid"]  # horizon_profiles builds the grid again
    if inputs.terrain is not None:
        dem, tr = inputs.terrain
        np.maximum(elev, shading.horizon_from_dem(pts, dem, tr, radius_m=TERRAIN_RADIUS_M), out=elev)
    lap("terrain")
    facets = facets.join(pd.DataFrame(elev, index=facets.index, columns=shading.horizon_columns(36)))
    hours, _, _ = yield_._hourly_inputs(
        weather, location, label="start", transposition_model=model["transposition_model"],
        temperature_model=model["temperature_model"],
        temperature_model_parameters=model.get("temperature_model_parameters"), albedo=model.get("albedo"),
        nsec=36)
    lap("solar_position")
    facets = facets.join(simulate_by_roof(facets, weather, location, model, layout.temperature_by_roof()))
    lap("yield")
    econ = params.economics
    facets["panel_count"] = panel_count(facets["module_area_m2"], facets["pdc0_kw"], econ.panel)
    hcols = [c for c in facets.columns if c.startswith("horizon_elev_deg_")]
    facets[hcols] = facets[hcols].astype("float32")
    ref_model = dict(model)
    tbr = layout.temperature_by_roof()
    if tbr and model.get("temperature_model", "sapm") == "sapm":
        ref_model["temperature_model_parameters"] = tbr.get("flat")
    ref = _reference_yield(weather, location, layout.facet_options().get("flat_tilt_deg", 20.0), ref_model)
    facets["is_viable"] = facets["specific_yield_kwh_per_kwp"] >= VIABLE_FRACTION_OF_REFERENCE * ref
    for name, scen in inputs.scenarios.items():
        facets[f"adopted_ratio_{name}"] = apply_scenario(facets, buildings, scen).to_numpy()
    per_building = _per_building(facets, inputs.scenarios)
    per_building = per_building.join(screener_columns(facets, per_building, buildings, econ, len(weather)))
    lap("economics")
    keys = buildings[[c for c in ("building_id", "district_adcode", "township_code", "is_synthetic")
                      if c in buildings.columns]]
    rooftop_tables(inputs, params, keys, per_building)
    weather_variability(facets, inputs, params, own_yields=True)  # as compute() calls it
    lap("tables")
    write_tile_cache(tmp / "tile.parquet", facets, per_building, buildings, params.scenario, inputs.scenarios)
    lap("write")
    return t, len(facets), _work(inputs, params, facets, hours, tmp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=os.environ.get("TWIN_HOME", "/tmp/demo-base"))
    ap.add_argument("--city", default="hangzhou")
    ap.add_argument("--repeat", type=int, default=1, help="runs; the fastest per stage is kept")
    ap.add_argument("--threads", type=int, default=1, help="numba threads (a batch worker: 1)")
    args = ap.parse_args()
    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))

    from engines.pv import rooftop
    from engines.pv.params import RooftopParams
    from shell.runners import StoreSource, load_city
    from twin.store import TwinStore

    params = RooftopParams()
    city = load_city(args.city)
    t0 = time.process_time()
    inputs = rooftop.load(StoreSource(TwinStore(city.id, args.home), city), params)
    read_s = time.process_time() - t0

    small = rooftop.RooftopInputs(**{**inputs.__dict__, "buildings": inputs.buildings.iloc[:200]})
    with tempfile.TemporaryDirectory() as tmp:
        _stages(small, params, Path(tmp))  # compile or load the numba cache
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            times, n, work = _stages(inputs, params, Path(tmp))
            best = {k: min(v, best.get(k, np.inf)) for k, v in times.items()}
    total = sum(best.values())
    per_m = {k: round(v * 1e6 / n, 1) for k, v in best.items()}
    result = {
        "benchmark": "rooftop_profile", "city": args.city, "buildings": len(inputs.buildings),
        "facets": n, "numba_threads": numba.get_num_threads(), "read_twin_cpu_s": round(read_s, 2),
        "stage_cpu_s": {k: round(v, 3) for k, v in best.items()}, "total_cpu_s": round(total, 2),
        "cpu_s_per_million_facets": per_m, "total_cpu_s_per_million_facets": round(total * 1e6 / n, 1),
        "work": work, "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    for k, v in per_m.items():
        print(f"{k:>16}: {v:8.1f} s per million facets ({100 * best[k] / total:5.1f} %)", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
