"""The state shared by the generation steps of :mod:`synth`, and their small helpers.

:class:`Context` holds the inputs every step reads (the district polygons, the
city outline, the MODIS grid, the seed, the building count) and hands out the
seeded random streams: ``ctx.rng(tag, k, j)`` is a fresh generator keyed by the
seed, the step's tag (:data:`TAG`) and up to two integers (a district, a
sub-step), so that a step's draws do not depend on what other steps drew.
:class:`Grid` looks MODIS IGBP codes and twin land-cover classes up from
EPSG:4549 coordinates. :func:`frame` builds a layer with exactly the schema
columns of :data:`twin.schema.LAYERS` and the synthetic flags.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

import synth.tables as T
from twin.schema import FIELDS, LAYERS

__all__ = ["CRS", "GENERATOR_VERSION", "KINDS", "TAG", "Context", "Grid", "class_weight", "frame",
           "largest_remainder", "locate", "make_context", "polygonal", "rect_coords", "seeded_rng",
           "source_string"]

GENERATOR_VERSION = "v1"
KINDS = ("dense_core", "new_town", "plains_village", "mountain_county")
CRS = "EPSG:4549"
#: random-stream tag of each generation step
TAG = {"water": 1, "settle": 2, "town": 3, "pond": 4, "green": 5, "bldg": 6, "road": 7,
       "point": 8, "lc": 9}


def source_string(seed: int) -> str:
    """Return the ``source`` value of every generated feature for ``seed``."""
    return f"synthetic: carbon-twin generator {GENERATOR_VERSION}, seed={seed}"


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------


def seeded_rng(seed: int, *keys: int) -> np.random.Generator:
    """Return a random generator keyed by ``seed`` (its low 32 bits) and integer ``keys``."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]])


def polygonal(g):
    """Keep only the polygonal parts of a geometry (drop touching lines / points)."""
    if g is None or g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(parts) if parts else None


def frame(layer: str, data: dict, geometry, seed: int) -> gpd.GeoDataFrame:
    """Build a layer frame with exactly the schema columns, dtypes and the common flags.

    Parameters
    ----------
    layer : str
        Layer name in :data:`twin.schema.LAYERS`.
    data : dict of str to array-like
        Column values; schema columns not given get the layer's default.
    geometry : array-like of shapely geometries
        One geometry per row, in EPSG:4549.
    seed : int
        Seed of the generator (for the ``source`` column).

    Returns
    -------
    geopandas.GeoDataFrame
        The layer, with ``is_synthetic=True`` and ``source`` set on every row.
    """
    cols = LAYERS[layer].columns
    n = len(geometry)
    data = dict(data)
    data["is_synthetic"] = np.ones(n, dtype=bool)
    data["source"] = [source_string(seed)] * n
    out = {}
    for c in cols:
        dtype = FIELDS[c].dtype
        if c not in data:
            default = LAYERS[layer].defaults.get(c, "" if dtype in ("string", "category") else 0)
            data[c] = [default] * n
        v = data[c]
        if dtype in ("string", "category"):
            out[c] = pd.array(np.asarray(v, dtype=object).astype(str), dtype="str")
        elif dtype == "float64":
            out[c] = np.asarray(v, dtype=np.float64)
        elif dtype == "int64":
            out[c] = np.asarray(v, dtype=np.int64)
        elif dtype == "bool":
            out[c] = np.asarray(v, dtype=bool)
        else:  # pragma: no cover - schema uses only the dtypes above
            out[c] = v
    df = pd.DataFrame(out, index=pd.RangeIndex(n))
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(np.asarray(geometry, dtype=object),
                                                       crs=CRS, index=df.index))


def locate(points, polys, codes, default=""):
    """Code of the polygon containing each point (nearest polygon when on no polygon).

    Parameters
    ----------
    points : ndarray of shapely.Point
        Points to locate.
    polys : array-like of shapely geometries
        Polygons, one per code.
    codes : array-like
        Code of each polygon.
    default : object, default ""
        Code of points on no polygon; with the default ``""`` such points get the
        code of the nearest polygon instead.

    Returns
    -------
    ndarray of object
        One code per point.
    """
    out = np.full(len(points), default, dtype=object)
    if len(points) == 0 or len(polys) == 0:
        return out
    polys = np.asarray(polys, dtype=object)
    codes = np.asarray(codes, dtype=object)
    tree = shapely.STRtree(polys)
    ip, jp = tree.query(points)  # bounding boxes; then exact, one polygon at a time
    xy = shapely.get_coordinates(points)
    found = np.zeros(len(points), dtype=bool)
    order = np.argsort(jp, kind="stable")
    ip, jp = ip[order], jp[order]
    bounds = np.flatnonzero(np.diff(np.concatenate([[-1], jp, [len(polys)]])))
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        j = jp[a]
        pts = ip[a:b]
        pts = pts[~found[pts]]
        if len(pts) == 0:
            continue
        shapely.prepare(polys[j])
        hit = pts[shapely.intersects_xy(polys[j], xy[pts, 0], xy[pts, 1])]
        out[hit] = codes[j]
        found[hit] = True
    miss = np.flatnonzero(~found) if default == "" else np.empty(0, int)
    if len(miss):
        _, jn = tree.query_nearest(points[miss], return_distance=False, all_matches=False)
        out[miss] = codes[jn]
    return out


def rect_coords(cx, cy, w, d, theta):
    """Corner coordinates ``(n, 5, 2)`` of rotated rectangles (closed rings) [m]."""
    c, s = np.cos(theta), np.sin(theta)
    u = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    v = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    lu = w[:, None] * u[None, :]
    lv = d[:, None] * v[None, :]
    x = cx[:, None] + lu * np.asarray(c)[..., None] - lv * np.asarray(s)[..., None]
    y = cy[:, None] + lu * np.asarray(s)[..., None] + lv * np.asarray(c)[..., None]
    return np.stack([x, y], axis=-1)


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split the integer ``total`` in proportion to ``weights`` (largest-remainder rounding)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    q = total * w / w.sum()
    base = np.floor(q).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        base[np.argsort(-(q - base), kind="stable")[:rest]] += 1
    return base


def class_weight(cls: np.ndarray) -> np.ndarray:
    """Settlement weight of twin land-cover classes (:data:`synth.tables.CLASS_WEIGHT`)."""
    w = np.array([T.CLASS_WEIGHT.get(c, T.FOREST_WEIGHT) for c in cls], dtype=float)
    return w


# ---------------------------------------------------------------------------------------
# MODIS grid
# ---------------------------------------------------------------------------------------


class Grid:
    """MODIS IGBP grid with look-ups from EPSG:4549 coordinates.

    Parameters
    ----------
    codes : numpy.ndarray
        2-D IGBP codes, 255 = fill.
    transform : affine.Affine
        Geotransform of ``codes``.
    crs : CRS-like
        CRS of the grid.
    class_map : dict of int to str
        IGBP code -> twin ``lc_class``.
    bounds_4549 : tuple of float
        Bounds of the city in the metric CRS; the cells over them are listed in
        ``rows``, ``cols``, ``cell_code`` and ``cell_poly``.
    metric_crs : CRS-like, default EPSG:4549
        The city's metric CRS (a CGCS2000 Gauss-Kruger zone), in which the generator works.
    """

    def __init__(self, codes, transform, crs, class_map, bounds_4549, metric_crs=CRS):
        self.codes = np.asarray(codes)
        self.transform = transform
        self.inv = ~transform
        self.to_ll = pyproj.Transformer.from_crs(metric_crs, crs, always_xy=True)
        self.to_xy = pyproj.Transformer.from_crs(crs, metric_crs, always_xy=True)
        lut = np.full(256, "", dtype=object)
        for k, v in class_map.items():
            if 0 <= int(k) < 256 and isinstance(v, str):
                lut[int(k)] = v
        self.lut = lut
        # cells intersecting the city bounds
        x0, y0, x1, y1 = bounds_4549
        xs = np.array([x0, x1, x0, x1])
        ys = np.array([y0, y0, y1, y1])
        lon, lat = self.to_ll.transform(xs, ys)
        cols, rows = self.inv @ (np.asarray(lon), np.asarray(lat))
        nr, nc = self.codes.shape
        r0 = max(int(np.floor(np.min(rows))) - 1, 0)
        r1 = min(int(np.ceil(np.max(rows))) + 1, nr)
        c0 = max(int(np.floor(np.min(cols))) - 1, 0)
        c1 = min(int(np.ceil(np.max(cols))) + 1, nc)
        rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        code = self.codes[rr, cc]
        ok = code != 255
        self.rows, self.cols, self.cell_code = rr[ok], cc[ok], code[ok].astype(np.int64)
        self.cell_poly = self.quads(self.rows, self.cols, 1)[:, 0, 0]

    def quads(self, rows, cols, k):
        """Polygons (n, k, k) of the k x k sub-cells of cells (rows, cols), in EPSG:4549."""
        f = np.arange(k + 1) / k
        cc = cols[:, None, None] + f[None, None, :]
        rr = rows[:, None, None] + f[None, :, None]
        cc, rr = np.broadcast_arrays(cc, rr)
        lon, lat = self.transform @ (cc, rr)
        x, y = self.to_xy.transform(np.asarray(lon).ravel(), np.asarray(lat).ravel())
        x = np.asarray(x).reshape(cc.shape)
        y = np.asarray(y).reshape(cc.shape)
        ring = np.stack([
            np.stack([x[:, :-1, :-1], y[:, :-1, :-1]], -1),
            np.stack([x[:, :-1, 1:], y[:, :-1, 1:]], -1),
            np.stack([x[:, 1:, 1:], y[:, 1:, 1:]], -1),
            np.stack([x[:, 1:, :-1], y[:, 1:, :-1]], -1),
            np.stack([x[:, :-1, :-1], y[:, :-1, :-1]], -1),
        ], axis=-2)
        return shapely.polygons(ring)

    def code_at(self, x, y):
        """IGBP code at EPSG:4549 points (255 outside the grid)."""
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            return np.empty(0, dtype=np.int64)
        lon, lat = self.to_ll.transform(x, np.asarray(y, dtype=float))
        c, r = self.inv @ (np.asarray(lon), np.asarray(lat))
        c = np.floor(c).astype(np.int64)
        r = np.floor(r).astype(np.int64)
        nr, nc = self.codes.shape
        ok = (r >= 0) & (r < nr) & (c >= 0) & (c < nc)
        out = np.full(len(x), 255, dtype=np.int64)
        out[ok] = self.codes[r[ok], c[ok]]
        return out

    def class_at(self, x, y):
        """Twin land-cover class at EPSG:4549 points ('' outside / fill)."""
        return self.lut[self.code_at(x, y)]

    def xy(self, lon, lat):
        """EPSG:4549 coordinates of points given in the grid's CRS."""
        x, y = self.to_xy.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)

    def lonlat(self, x, y):
        """Coordinates in the grid's CRS of EPSG:4549 points."""
        lon, lat = self.to_ll.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon), np.asarray(lat)


# ---------------------------------------------------------------------------------------
# context
# ---------------------------------------------------------------------------------------


class Context:
    """Inputs shared by the generation steps: districts, city outline, MODIS grid, seed.

    Parameters
    ----------
    d : geopandas.GeoDataFrame
        Districts sorted by ``adcode`` with a fresh index.
    geoms : ndarray of shapely geometries
        The (valid, polygonal) district polygons, in the order of ``d``.
    city : shapely geometry
        Union of ``geoms``.
    grid : Grid
        The MODIS land-cover grid.
    seed : int
        Seed of every random stream.
    city_id : str
        Prefix of the generated identifiers.
    exclude : shapely geometry or None
        Area where no synthetic building may be placed.
    n_buildings : int
        Total number of synthetic buildings.
    """

    def __init__(self, d, geoms, city, grid, seed, city_id, exclude, n_buildings):
        self.d = d
        self.geoms = geoms
        for g in geoms:
            shapely.prepare(g)
        self.city = city
        self.grid = grid
        self.seed = seed
        self.cid = city_id
        self.exclude = exclude
        self.n = n_buildings
        self.adc = d["adcode"].astype(str).tolist()
        self.kind = d["kind"].astype(str).tolist()
        self.area = shapely.area(geoms)

    def rng(self, tag: str, k: int = 0, j: int = 0) -> np.random.Generator:
        """Random stream of step ``tag`` (a key of :data:`TAG`) for keys ``k`` and ``j``."""
        return seeded_rng(self.seed, TAG[tag], k, j)


def make_context(districts, landcover_codes, landcover_transform, landcover_crs, class_map, *,
                 n_buildings, seed=0, exclude=None, city_id="city") -> Context:
    """Build the :class:`Context` of a city from the (validated) inputs of ``generate_city``.

    Sorts the districts by ``adcode``, makes their polygons valid and polygonal,
    unions them into the city and reads the MODIS cells over the city.

    Parameters
    ----------
    districts, landcover_codes, landcover_transform, landcover_crs, class_map
        As for :func:`synth.generate_city`.
    n_buildings : int
        Total number of synthetic buildings.
    seed : int, default 0
        Seed.
    exclude : shapely geometry, optional
        Area where no synthetic building may be placed.
    city_id : str, default "city"
        Prefix of the generated identifiers.

    Returns
    -------
    Context
        The shared state of the generation steps.
    """
    seed = int(seed)
    d = districts.sort_values("adcode").reset_index(drop=True)
    geoms = shapely.make_valid(np.asarray(d.geometry.values, dtype=object))
    geoms = np.array([polygonal(g) for g in geoms], dtype=object)
    city = shapely.union_all(geoms)
    shapely.prepare(city)
    grid = Grid(landcover_codes, landcover_transform, landcover_crs, class_map, city.bounds,
                metric_crs=districts.crs if districts.crs is not None else CRS)
    return Context(d, geoms, city, grid, seed, city_id, exclude, int(n_buildings))
