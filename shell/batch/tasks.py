"""The tasks a batch run sends to Dask workers, and the files they write.

Tasks are top-level functions (picklable), pure apart from reading their arguments'
files and writing their own outputs: a tile's rows to the resume cache, a whole-city
stage's layers into the version folder, a merged PV layer. Only a few numbers (or
small tables) cross the wire back to the driver.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.io.parquet import merge_sorted, write_parquet, write_partitioned
from shell.batch.tiles import Tile, read_terrain_window, read_tile_inputs

__all__ = [
    "layer_cache_file",
    "merge_tile_layer",
    "pv_tile_task",
    "read_per_building",
    "release_memory",
    "shared",
    "tile_cache_complete",
    "whole_city_task",
    "write_results",
    "write_tile_cache",
]


def pv_tile_task(tile: Tile, files: list[str], crs, shared: tuple, params, threads: int, cache: str):
    """Rooftop PV for the buildings whose representative point is in ``tile``.

    Reads the tile's buildings and its halo from ``files`` (see
    :func:`shell.batch.tiles.read_tile_inputs`) and writes its rows of the
    ``pv_buildings`` and ``pv_facets`` layers (and the raw per-building rows) to the
    resume cache ``cache`` itself, so only a few numbers cross the wire. ``shared`` is
    ``(weather, location, scenarios, terrain)``: ``terrain`` is the driver's DEM file
    in the metric CRS (:func:`shell.batch.tiles.write_terrain`) or None; the tile reads
    the window its core buildings' terrain rays reach (their bounds plus
    :data:`engines.pv.rooftop.TERRAIN_RADIUS_M`), so its horizons equal ``twin pv``'s.

    Returns
    -------
    tuple
        ``(tile id, facets, buildings)``: the tile and its row counts.
    """
    from engines.pv.rooftop import TERRAIN_RADIUS_M, rooftop_potential

    _limit_threads(threads)
    weather, location, scenarios, terrain_file = shared
    buildings = read_tile_inputs(tile, files, crs)
    weather = weather.copy(deep=True)  # arrives on a read-only buffer; engines may write in place
    core = buildings.loc[buildings["_core"]].drop(columns="_core")
    obstacles = buildings.drop(columns="_core")
    terrain = None
    if terrain_file is not None and params.shading and len(core):
        terrain = read_terrain_window(terrain_file, tuple(core.total_bounds), TERRAIN_RADIUS_M)
    facets, per_building = rooftop_potential(core, weather, location, scenarios, radius_m=params.radius_m,
                                             shading=params.shading, obstacles=obstacles,
                                             model=params.options(), economics=params.economics,
                                             facet_params=params.layout.facet_options(),
                                             samples_per_sector=params.layout.samples_per_sector,
                                             row_shading=params.layout.row_shading,
                                             temperature_by_roof=params.layout.temperature_by_roof(),
                                             terrain=terrain)
    write_tile_cache(Path(cache), facets, per_building, core, params.scenario, scenarios)
    return tile.tile_id, len(facets), len(per_building)


def whole_city_task(name: str, city_id: str, home: str, params, threads: int, version_dir: str,
                    work: str) -> dict:
    """Run a whole-city engine (:func:`shell.runners.run_engine`, no commit) and write its layers here.

    Returns
    -------
    dict
        ``{"results": name -> single GeoParquet file, "tables": ..., "meta": ...}``.
    """
    from shell.runners import run_engine

    _limit_threads(threads)
    extra = {"threads": threads} if name == "sinks" else {}
    res = run_engine(name, city_id, home=home, params=params, commit=False, **extra)
    out = {"results": write_results(Path(version_dir), Path(work), res.results), "tables": res.tables,
           "meta": res.meta}
    del res
    release_memory()
    return out


def shared(*values):
    """The values themselves, as a task result workers fetch once and share."""
    return values


def merge_tile_layer(files: list[Path], sort_key: str, version_dir: Path, name: str,
                     single: Path) -> tuple[Path | None, int]:
    """Merge the tiles' rows of a PV layer into its published folder (a worker task).

    :func:`layers.io.parquet.merge_sorted`: rows sorted by ``sort_key``, so the layer
    is the same whatever the tiling; partitioned by district when it has the column,
    with one file for the catalog at ``single``. Then the memory it used is handed back.

    Returns
    -------
    path : pathlib.Path or None
        The catalog file (None when no tile had rows).
    rows : int
        The row count.
    """
    try:
        return merge_sorted(files, sort_key, Path(version_dir) / name, single=single)
    finally:
        release_memory()


def write_results(version_dir: Path, work: Path, results: dict) -> dict[str, Path]:
    """Write result layers partitioned by district (outputs) and as one file each (catalog).

    Returns
    -------
    dict
        Result name -> its single file, for :meth:`twin.store.TwinStore.commit`.
    """
    return {name: write_partitioned(gdf, version_dir / name, single=work / "results" / f"{name}.parquet")
            for name, gdf in results.items()}


def layer_cache_file(cache: Path, layer: str) -> Path:
    """A tile's cache file of ``layer`` (``pv_facets`` or ``pv_buildings``), from its cache path."""
    return cache if layer == "pv_facets" else cache.with_suffix(f".{layer}.parquet")


def write_tile_cache(path: Path, facets: pd.DataFrame, per_building: pd.DataFrame,
                     buildings: gpd.GeoDataFrame, primary: str, scenarios) -> None:
    """Write a tile's rows: layer rows (``pv_facets``, ``pv_buildings``) and the raw per-building rows.

    The raw per-building file is written last, so its presence marks a whole cache.
    """
    from engines.pv.rooftop import rooftop_rows

    if len(per_building):
        pb, fc = rooftop_rows(buildings, facets, per_building, primary, scenarios)
        write_parquet(fc, layer_cache_file(path, "pv_facets"), use_dictionary=_text_columns(fc))
        write_parquet(pb, layer_cache_file(path, "pv_buildings"), use_dictionary=_text_columns(pb))
    write_parquet(per_building, path.with_suffix(".buildings.parquet"), index=True,
                  use_dictionary=_text_columns(per_building, index=True))


def _text_columns(frame: pd.DataFrame, *, index: bool = False) -> list[str]:
    """Columns worth Parquet dictionary encoding: the text ones (ids, codes, classes).

    Arrow tries a dictionary for every column by default and gives it up, page by page, on
    the float columns (yields, losses, horizons: nearly all values distinct): most of a
    tile's write time for no smaller file (the values and the file read back unchanged).
    """
    cols = [str(c) for c in frame.columns
            if pd.api.types.is_string_dtype(frame[c].dtype) or frame[c].dtype == object]
    if index:
        cols += [str(n) for n in frame.index.names if n is not None]
    return cols


def tile_cache_complete(path: Path) -> bool:
    """Whether a tile's cache is whole (its raw per-building file is written last)."""
    return path.with_suffix(".buildings.parquet").exists()


def read_per_building(paths: list[Path]) -> pd.DataFrame:
    """Raw per-building rows of every tile, concatenated (tile order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [t for t in (pq.read_table(p.with_suffix(".buildings.parquet")) for p in paths) if t.num_rows]
    if not tables:
        return pd.DataFrame()
    try:
        return pa.concat_tables(tables).to_pandas()
    except pa.ArrowInvalid:  # a column typed differently in some tile: let pandas unify
        return pd.concat([t.to_pandas() for t in tables])


def release_memory() -> None:
    """Hand freed memory back to the OS after a big task (glibc and Arrow keep it otherwise).

    A worker that ran a whole-city stage would else carry that stage's high-water mark
    into the tile and merge tasks it runs next.
    """
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(Exception):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _limit_threads(threads: int) -> None:
    with contextlib.suppress(Exception):
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
