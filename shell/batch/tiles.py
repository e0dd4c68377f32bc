"""Tiles of a city for the tiled rooftop PV stage, and the tile input files workers read.

A building belongs to (is core in) the tile holding its representative point. Tiles are
squares aligned to multiples of the tile size in the metric CRS, so tile ids are stable;
a tile's halo reaches ``halo_m`` beyond it (the shading radius plus :data:`HALO_MARGIN_M`).
The driver writes each tile's own buildings to a small Parquet file once; a tile task
reads its file and its neighbours', keeping the buildings that meet its halo.

With a DEM, the driver writes it once reprojected to the metric CRS on the very grid a
single run uses (:func:`write_terrain`, :func:`engines.pv.rooftop.read_terrain`); a tile
reads only the window its buildings' terrain rays can reach (:func:`read_terrain_window`),
so its terrain horizons equal the single run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "HALO_MARGIN_M",
    "Tile",
    "assign_tiles",
    "read_terrain_window",
    "read_tile_inputs",
    "tile_grid",
    "tile_inputs",
    "tile_rows",
    "write_terrain",
    "write_tile_inputs",
]

#: Extra halo beyond the shading radius: how far a facet centroid may sit from its
#: building's representative point (half the diagonal of a 280 m shed) [m].
HALO_MARGIN_M = 200.0


@dataclass(frozen=True)
class Tile:
    """A square tile of the city: its core (where its buildings are) and its halo box."""

    tile_id: str
    ix: int
    iy: int
    bounds: tuple[float, float, float, float]
    halo_bounds: tuple[float, float, float, float]


def assign_tiles(x: np.ndarray, y: np.ndarray, tile_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Tile indices of points: ``floor(x / tile_m)``, ``floor(y / tile_m)``."""
    return (np.floor(np.asarray(x) / tile_m).astype("int64"),
            np.floor(np.asarray(y) / tile_m).astype("int64"))


def tile_grid(ix: np.ndarray, iy: np.ndarray, tile_m: float, halo_m: float) -> list[Tile]:
    """The non-empty tiles for points with tile indices ``ix``, ``iy``, sorted by id."""
    pairs = sorted(set(zip(ix.tolist(), iy.tolist(), strict=True)))
    tiles = []
    for i, j in pairs:
        b = (i * tile_m, j * tile_m, (i + 1) * tile_m, (j + 1) * tile_m)
        h = (b[0] - halo_m, b[1] - halo_m, b[2] + halo_m, b[3] + halo_m)
        tiles.append(Tile(f"t{i:+06d}{j:+06d}", i, j, b, h))
    return tiles



def tile_rows(buildings: gpd.GeoDataFrame, tile_m: float, halo_m: float):
    """Tiles with the rows they need: ``[(tile, rows, is_core), ...]``, sorted by tile.

    A building belongs to (is core in) the tile holding its representative point; a
    tile's rows are its core buildings plus every building meeting its halo box.
    """
    import shapely

    pts = buildings.geometry.representative_point()
    ix, iy = assign_tiles(pts.x.to_numpy(), pts.y.to_numpy(), tile_m)
    tiles = tile_grid(ix, iy, tile_m, halo_m)
    boxes = shapely.box(*np.array([t.halo_bounds for t in tiles]).T)
    tree = shapely.STRtree(buildings.geometry.values)
    tile_idx, bld_idx = tree.query(boxes, predicate="intersects")
    order = np.argsort(tile_idx, kind="stable")
    tile_idx, bld_idx = tile_idx[order], bld_idx[order]
    splits = np.searchsorted(tile_idx, np.arange(len(tiles) + 1))
    key = {(t.ix, t.iy): k for k, t in enumerate(tiles)}
    own = np.array([key[(a, b)] for a, b in zip(ix.tolist(), iy.tolist(), strict=True)], dtype="int64")
    own_order = np.argsort(own, kind="stable")
    own_splits = np.searchsorted(own[own_order], np.arange(len(tiles) + 1))
    out = []
    for k, tile in enumerate(tiles):
        rows = np.union1d(bld_idx[splits[k]:splits[k + 1]], own_order[own_splits[k]:own_splits[k + 1]])
        out.append((tile, rows, own[rows] == k))
    return out


def tile_inputs(buildings: gpd.GeoDataFrame, tile_m: float, halo_m: float):
    """Tiles, the building rows each owns, and the tiles each must read for its halo.

    A building is owned by the tile holding its representative point. A tile's halo
    (``halo_m`` around it) can only meet buildings owned by tiles within ``k`` tiles of
    it, where ``k = 1 + (reach + halo_m) // tile_m`` and ``reach`` is the farthest any
    footprint extends from its representative point.

    Returns
    -------
    tiles : list of Tile
        Sorted by id.
    owner : numpy.ndarray
        Index into ``tiles`` of each building's tile.
    neighbours : list of numpy.ndarray
        For each tile, the indices of the tiles (itself first) whose buildings it reads.
    """
    import shapely

    geoms = buildings.geometry.values
    pts = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    ix, iy = assign_tiles(x, y, tile_m)
    pairs, owner = np.unique(np.stack([ix, iy], axis=1), axis=0, return_inverse=True)
    tiles = tile_grid(ix, iy, tile_m, halo_m)
    assert [(t.ix, t.iy) for t in tiles] == [tuple(p) for p in pairs.tolist()]
    bounds = shapely.bounds(geoms)
    reach = float(np.max(np.abs(bounds - np.stack([x, y, x, y], axis=1)), initial=0.0))
    k = 1 + int((reach + halo_m) // tile_m)
    index = {p: n for n, p in enumerate(map(tuple, pairs.tolist()))}
    neighbours = []
    for t in tiles:
        near = [index[(t.ix + di, t.iy + dj)] for di in range(-k, k + 1) for dj in range(-k, k + 1)
                if (di or dj) and (t.ix + di, t.iy + dj) in index]
        neighbours.append(np.array([index[(t.ix, t.iy)], *sorted(near)], dtype="int64"))
    return tiles, owner.ravel(), neighbours


def write_tile_inputs(buildings: gpd.GeoDataFrame, owner: np.ndarray, tiles: list[Tile],
                       folder: Path) -> np.ndarray:
    """Write each tile's own buildings to ``folder/<tile id>.parquet``; return the file sizes.

    The files are plain Parquet (geometry as WKB, the frame's index and each row's
    position in ``_row``); files already there (a resumed run) are kept.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    from twin.fsutil import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{t.tile_id}.parquet" for t in tiles]
    if not all(p.exists() for p in paths):
        frame = pd.DataFrame(buildings)
        frame[buildings.geometry.name] = shapely.to_wkb(buildings.geometry.values)  # same place
        frame["_row"] = np.arange(len(frame), dtype="int64")
        order = np.argsort(owner, kind="stable")
        table = pa.Table.from_pandas(frame.iloc[order], preserve_index=True)
        del frame
        splits = np.searchsorted(owner[order], np.arange(len(tiles) + 1))
        for k, path in enumerate(paths):
            if not path.exists():
                with atomic_path(path) as tmp:
                    pq.write_table(table.slice(splits[k], splits[k + 1] - splits[k]), tmp)
    return np.array([p.stat().st_size for p in paths], dtype="int64")


def read_tile_inputs(tile: Tile, files: list[str], crs, geometry: str = "geometry") -> gpd.GeoDataFrame:
    """The buildings a tile task needs: its own (``_core``) and every other meeting its halo.

    ``files[0]`` holds the tile's own buildings, the rest its neighbours'. Rows come
    back in their order in the city's layer, exactly as ``buildings.iloc[rows]``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    tables = [pq.read_table(f) for f in files]
    n_own = tables[0].num_rows
    frame = pa.concat_tables(tables).to_pandas()
    geoms = shapely.from_wkb(frame[geometry].to_numpy())
    core = np.arange(len(frame)) < n_own
    keep = core | shapely.intersects(geoms, shapely.box(*tile.halo_bounds))
    frame = frame.loc[keep]
    frame[geometry] = geoms[keep]
    frame["_core"] = core[keep]
    frame = frame.sort_values("_row", kind="stable").drop(columns="_row")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def write_terrain(dem: np.ndarray, transform, crs, path: Path) -> Path:
    """Write a DEM already reprojected to the metric CRS as a tiled GeoTIFF (float64, lossless).

    Written once by the driver (kept when already there: a resumed run); tiles read
    windows of it with :func:`read_terrain_window`. NaN marks no data.
    """
    import rasterio

    from twin.fsutil import atomic_path

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        block = 256 if min(dem.shape) >= 256 else None
        opts = {"tiled": True, "blockxsize": block, "blockysize": block} if block else {}
        with atomic_path(path) as tmp, rasterio.open(
                tmp, "w", driver="GTiff", height=dem.shape[0], width=dem.shape[1], count=1,
                dtype="float64", crs=crs, transform=transform, nodata=np.nan, compress="deflate",
                **opts) as dst:
            dst.write(np.asarray(dem, dtype="float64"), 1)
    return path


def read_terrain_window(path: str | Path, bounds: tuple[float, float, float, float], margin_m: float):
    """The cells of the driver's terrain file (:func:`write_terrain`) a tile's rays can reach.

    The window covers ``bounds`` (the tile's buildings) grown by ``margin_m`` (the terrain
    rays' length) and one more cell on each side, cut to the raster; cells are exactly
    those of the whole file, so horizons equal a whole-city run's.

    Returns
    -------
    (ndarray, affine.Affine) or None
        Elevations [m] (NaN = no data) and the window's transform; None when the window
        misses the raster.
    """
    import math

    import rasterio
    from rasterio.windows import Window, from_bounds

    with rasterio.open(path) as src:
        x0, y0, x1, y1 = bounds
        win = from_bounds(x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m,
                          transform=src.transform)
        c0, r0 = math.floor(win.col_off) - 1, math.floor(win.row_off) - 1
        c1 = math.ceil(win.col_off + win.width) + 1
        r1 = math.ceil(win.row_off + win.height) + 1
        c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, src.width), min(r1, src.height)
        if c1 <= c0 or r1 <= r0:
            return None
        window = Window(c0, r0, c1 - c0, r1 - r0)
        arr = src.read(1, window=window).astype("float64", copy=False)
        return arr, src.window_transform(window)
