"""Deterministic, seeded generator of the synthetic layers of the demo city.

:func:`generate_city` takes the real district boundaries of a city and the
MODIS IGBP land-cover grid, and returns the synthetic layers of the twin
(townships, buildings, water, land cover, roads, charging stations, service
areas, bus stops, green space), every one in EPSG:4549 and conforming to
:data:`twin.schema.LAYERS`. Every feature carries ``is_synthetic=True`` and
``source="synthetic: carbon-twin generator v1, seed=<seed>"``. The same inputs
and seed give identical output.

Method (in order)
-----------------
1. **Big water**: MODIS water cells (IGBP 0) become lakes (named 千岛湖 in
   Chun'an 330127 and 太湖 in northern Huzhou), plus West Lake 西湖 (an ellipse
   of 6.4 km² at 30.243 N, 120.142 E), the Qiantang River and the Grand Canal as
   buffered approximate centre lines, and seeded reservoirs in mountain counties.
2. **Settlements**: per district a main centre, towns, industrial parks and
   villages (counts and building shares by district kind), sampled by rejection
   with weights by the MODIS class (built-up 1.0, cropland 0.7, forest 0.08,
   water 0) and a minimum spacing.
3. **Townships**: a seeded Voronoi tessellation of each district whose seeds
   are the main and town centres plus random points, clipped to the district.
4. **Green space**: city, community and pocket parks and green belts in
   settlements; country parks on forest cells of hill districts.
5. **Inter-settlement roads** (planned before the buildings): the Gabriel graph
   of all centres plus auxiliary junctions, kept where it lies inside the city;
   its minimum spanning tree plus extra loops; motorways along shortest paths
   between district main centres (and to the city's northern and eastern
   edges); trunks from towns to their main centre.
6. **Buildings**: each settlement has a rotated lot grid; a building is a
   rectangle inside its lot, so buildings never overlap; lots must lie inside
   the settlement's Voronoi cell (so settlements never overlap) and inside the
   district, and touch no water, park, road corridor or ``exclude`` area. Lots
   shrink in crowded districts so that they cover at most 35 % of dry land.
7. **Ponds**: clusters of rectangular fishery ponds (60-200 m x 40-150 m,
   dykes 6-12 m, 20-250 per cluster) in aquaculture districts, 0.03 ponds per
   building of the city, away from settlements and buildings, on cropland /
   mosaic / wetland cells first, then on urban / savanna cells of the plains
   (at 0.05° MODIS labels Hangzhou's peri-urban fish-pond belts urban or savanna).
8. **Street lattices** on the lot grid of each settlement (connected to its
   centre, avoiding water); all road segments are noded so that they meet only
   at shared end points, and only the largest connected network is kept.
9. **Points**: service areas every 40-60 km of motorway, charging stations
   near centres and at service areas, bus stops every ~400-550 m along
   primary/secondary/tertiary roads in settlements.
10. **Land cover**: each MODIS cell split into 4 x 4 patches of which at least
   11 (69 %) keep the cell's class; admixtures by class and district (bamboo,
   tea, wetland spots); forests get age class and growing stock.

The parameter tables (building mixes, speeds, growing stock) are in
``layers/_synth_tables.py`` with their references.

References
----------
.. [1] Friedl, M., Sulla-Menashe, D. (2015). MCD12C1 MODIS/Terra+Aqua Land Cover
   Type Yearly L3 Global 0.05Deg CMG V006. doi:10.5067/MODIS/MCD12C1.006
.. [2] GB 50352-2019 Uniform standard for design of civil buildings (storey heights).
.. [3] JTG B01-2014 Technical standard of highway engineering; CJJ 37-2012 Code for
   design of urban road engineering (design speeds).
.. [4] National Forestry and Grassland Administration (2019). China Forest Resources
   Report 2014-2018 (9th National Forest Inventory), growing stock 94.83 m³/ha.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from synth import tables as T
from synth.roads import gabriel_edges, lattice_edges, node_segments
from twin.errors import ConfigError, SchemaError
from twin.schema import FIELDS, LAYERS, ROAD_CLASSES

__all__ = ["GENERATOR_VERSION", "KINDS", "generate_city", "source_string"]

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "v1"
KINDS = ("dense_core", "new_town", "plains_village", "mountain_county")
CRS = "EPSG:4549"
_DISTRICT_COLUMNS = ("adcode", "name_zh", "name_en", "kind", "aquaculture", "is_urban")
_PONDS_PER_BUILDING = 0.03
#: largest share of a district's dry land covered by building lots, and the smallest lots [m]
_MAX_LOT_SHARE = 0.35
_MIN_CELL_M = {"core": 28.0, "newtown": 32.0, "industrial": 120.0, "county_town": 28.0,
               "town": 24.0, "village": 18.0}
#: pond sites: preferred IGBP codes (cropland, mosaic, wetland) and also allowed ones (urban
#: and savanna cells of the plains, which at 0.05 degree hide peri-urban fish-pond belts)
_POND_CODES = (11, 12, 14)
_POND_CODES_ALSO = (13, 9, 10)
#: smallest typical settlement [buildings] by role, used to cap counts at small n_buildings
_MIN_SIZE = {"town": 60, "industrial": 8, "village": 20}
_TAG = {"water": 1, "settle": 2, "town": 3, "pond": 4, "green": 5, "bldg": 6, "road": 7,
        "point": 8, "lc": 9}


def source_string(seed: int) -> str:
    """Return the ``source`` value of every generated feature for ``seed``."""
    return f"synthetic: carbon-twin generator {GENERATOR_VERSION}, seed={seed}"


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]])


def _polygonal(g):
    """Keep only the polygonal parts of a geometry (drop touching lines / points)."""
    if g is None or g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(parts) if parts else None


def _frame(layer: str, data: dict, geometry, seed: int) -> gpd.GeoDataFrame:
    """Build a layer frame with exactly the schema columns, dtypes and the common flags."""
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


def _locate(points, polys, codes, default=""):
    """Code of the polygon containing each point (nearest polygon when on no polygon)."""
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


def _rect_coords(cx, cy, w, d, theta):
    """Corner coordinates ``(n, 5, 2)`` of rotated rectangles (closed rings) [m]."""
    c, s = np.cos(theta), np.sin(theta)
    u = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    v = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    lu = w[:, None] * u[None, :]
    lv = d[:, None] * v[None, :]
    x = cx[:, None] + lu * np.asarray(c)[..., None] - lv * np.asarray(s)[..., None]
    y = cy[:, None] + lu * np.asarray(s)[..., None] + lv * np.asarray(c)[..., None]
    return np.stack([x, y], axis=-1)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    q = total * w / w.sum()
    base = np.floor(q).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        base[np.argsort(-(q - base), kind="stable")[:rest]] += 1
    return base


# ---------------------------------------------------------------------------------------
# MODIS grid
# ---------------------------------------------------------------------------------------


class _Grid:
    """MODIS IGBP grid with look-ups from EPSG:4549 coordinates."""

    def __init__(self, codes, transform, crs, class_map, bounds_4549):
        self.codes = np.asarray(codes)
        self.transform = transform
        self.inv = ~transform
        self.to_ll = pyproj.Transformer.from_crs(CRS, crs, always_xy=True)
        self.to_xy = pyproj.Transformer.from_crs(crs, CRS, always_xy=True)
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
        x, y = self.to_xy.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)

    def lonlat(self, x, y):
        lon, lat = self.to_ll.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon), np.asarray(lat)


def _class_weight(cls: np.ndarray) -> np.ndarray:
    w = np.array([T.CLASS_WEIGHT.get(c, T.FOREST_WEIGHT) for c in cls], dtype=float)
    return w


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------


def _validate(districts, landcover_codes, n_buildings):
    if not isinstance(districts, gpd.GeoDataFrame):
        msg = "generate_city: districts must be a GeoDataFrame (EPSG:4549)"
        raise ConfigError(msg)
    missing = [c for c in _DISTRICT_COLUMNS if c not in districts.columns]
    if missing:
        msg = (f"generate_city: districts lack columns {missing}; expected {list(_DISTRICT_COLUMNS)}"
               " (add them in the city config / builder)")
        raise SchemaError(msg)
    if districts.crs is None or pyproj.CRS(districts.crs).to_epsg() != 4549:
        msg = f"generate_city: districts CRS is {districts.crs}; reproject to EPSG:4549 first"
        raise SchemaError(msg)
    if len(districts) == 0:
        msg = "generate_city: districts is empty; pass at least one district polygon"
        raise ConfigError(msg)
    bad = districts.index[~districts["kind"].isin(KINDS)].tolist()
    if bad:
        msg = f"generate_city: districts rows {bad} have a kind not in {KINDS}; fix the 'kind' column"
        raise ConfigError(msg)
    codes = districts["adcode"].astype(str)
    badc = districts.index[~codes.str.fullmatch(r"\d{6}")].tolist()
    if badc:
        msg = f"generate_city: districts rows {badc} have an adcode that is not 6 digits"
        raise ConfigError(msg)
    if codes.duplicated().any():
        msg = f"generate_city: duplicate district adcodes {sorted(set(codes[codes.duplicated()]))}"
        raise ConfigError(msg)
    geom_bad = districts.index[districts.geometry.isna() | districts.geometry.is_empty
                               | ~districts.geom_type.isin(["Polygon", "MultiPolygon"])].tolist()
    if geom_bad:
        msg = f"generate_city: districts rows {geom_bad} have no polygon geometry"
        raise SchemaError(msg)
    if np.asarray(landcover_codes).ndim != 2:
        msg = "generate_city: landcover_codes must be a 2-D array of IGBP codes"
        raise ConfigError(msg)
    if int(n_buildings) < 0:
        msg = f"generate_city: n_buildings must be >= 0, got {n_buildings}"
        raise ConfigError(msg)


# ---------------------------------------------------------------------------------------
# main entry point
# ---------------------------------------------------------------------------------------


def generate_city(districts, landcover_codes, landcover_transform, landcover_crs, class_map, *,
                  n_buildings, seed=0, exclude=None, city_id="city"):
    """Generate the synthetic layers of a city inside its real district boundaries.

    Parameters
    ----------
    districts : geopandas.GeoDataFrame
        District polygons in EPSG:4549 with columns ``adcode`` (6-digit str),
        ``name_zh``, ``name_en``, ``kind`` (one of :data:`KINDS`), ``aquaculture``
        (bool) and ``is_urban`` (bool).
    landcover_codes : numpy.ndarray
        2-D uint8 MODIS IGBP codes (0.05° cells), 255 = fill.
    landcover_transform : affine.Affine
        Geotransform of ``landcover_codes``.
    landcover_crs : CRS-like
        CRS of the grid (EPSG:4326).
    class_map : dict of int to str
        IGBP code -> twin ``lc_class`` (``data/landcover/modis_igbp.csv``).
    n_buildings : int
        Total number of synthetic buildings [count].
    seed : int, default 0
        Seed; the same seed gives identical output.
    exclude : shapely geometry, optional
        Area (EPSG:4549) where no synthetic building may be placed.
    city_id : str, default "city"
        Prefix of the generated identifiers.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Layers ``townships`` (rows of the ``boundaries`` layer, level
        ``township``), ``buildings``, ``water``, ``landcover``, ``roads``,
        ``charging_stations``, ``service_areas``, ``bus_stops`` and
        ``green_space``, each in EPSG:4549 with exactly the schema columns of
        :data:`twin.schema.LAYERS` plus ``geometry``.

    Raises
    ------
    SchemaError, ConfigError
        When ``districts`` lacks columns, is not in EPSG:4549, has bad kinds or
        adcodes, or the land-cover array is not 2-D.
    """
    _validate(districts, landcover_codes, n_buildings)
    seed = int(seed)
    d = districts.sort_values("adcode").reset_index(drop=True)
    geoms = shapely.make_valid(np.asarray(d.geometry.values, dtype=object))
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    city = shapely.union_all(geoms)
    shapely.prepare(city)
    grid = _Grid(landcover_codes, landcover_transform, landcover_crs, class_map, city.bounds)
    ctx = _Ctx(d, geoms, city, grid, seed, city_id, exclude, int(n_buildings))
    ctx.run()
    return ctx.layers


class _Ctx:
    """State shared by the generation steps (private)."""

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
        self.layers = {}

    def rng(self, tag, k=0, j=0):
        return _rng(self.seed, _TAG[tag], k, j)

    def run(self):
        self._big_water()
        self._pools()
        self._settlements()
        self._townships()
        self._green()
        self._plan_links()
        self._buildings()
        self._ponds()
        self._roads()
        self._points()
        self._landcover()
        self._finish()

    # ----------------------------------------------------------------- big water
    def _big_water(self):
        g = self.grid
        rows = []  # (geometry, type, name, protected, drinking)
        wmask = g.cell_code == 0
        if wmask.any():
            lakes = shapely.union_all(g.cell_poly[wmask])
            for k, dist in enumerate(self.geoms):
                piece = _polygonal(shapely.intersection(lakes, dist))
                if piece is None:
                    continue
                for p in shapely.get_parts(piece):
                    if p.area < 1e4:
                        continue
                    _, lat = g.lonlat([p.centroid.x], [p.centroid.y])
                    name, drink = "", False
                    if self.adc[k] == "330127":
                        name, drink = "千岛湖 Qiandao Lake", True
                    elif self.adc[k].startswith("3305") and lat[0] > 30.85:
                        name = "太湖 Taihu"
                    rows.append((p, "lake", name, False, drink))
        (lon, lat), area = T.WEST_LAKE
        x, y = g.xy([lon], [lat])
        r = np.sqrt(area / np.pi)
        wl = shapely.affinity.scale(shapely.Point(x[0], y[0]).buffer(r, quad_segs=16), 0.92, 1 / 0.92)
        if self.city.contains(shapely.Point(x[0], y[0])):
            for dist in self.geoms:
                piece = _polygonal(shapely.intersection(wl, dist))
                if piece is not None and piece.area > 1e3:
                    rows.append((piece, "lake", "西湖 West Lake (approximate)", True, False))
        for name, wtype, half, pts in T.RIVERS:
            lon, lat = np.array(pts).T
            x, y = g.xy(lon, lat)
            band = shapely.LineString(np.column_stack([x, y])).buffer(half)
            for _k, dist in enumerate(self.geoms):
                piece = _polygonal(shapely.intersection(band, dist))
                if piece is None:
                    continue
                for ex in [r_[0] for r_ in rows]:
                    if piece.intersects(ex):
                        piece = _polygonal(piece.difference(ex))
                        if piece is None:
                            break
                if piece is not None and piece.area > 1e3:
                    rows.append((piece, wtype, name, False, False))
        self.big_water = rows
        # reservoirs in mountain counties
        for k, dist in enumerate(self.geoms):
            if self.kind[k] != "mountain_county":
                continue
            rng = self.rng("water", k)
            nres = int(rng.integers(2, 6))
            minx, miny, maxx, maxy = dist.bounds
            placed = 0
            for _ in range(400):
                if placed >= nres:
                    break
                px = rng.uniform(minx, maxx)
                py = rng.uniform(miny, maxy)
                a_m2 = rng.uniform(0.5e6, 4e6)
                if not dist.contains(shapely.Point(px, py)):
                    continue
                if g.class_at([px], [py])[0] not in T.FOREST_CLASSES + ("shrubland",):
                    continue
                rad = np.sqrt(a_m2 / np.pi)
                ang = np.linspace(0, 2 * np.pi, 25)[:-1]
                noise = np.convolve(rng.normal(0, 0.35, 24 + 4), np.ones(5) / 5, mode="valid")
                rr = rad * (1 + noise[:24])
                poly = shapely.Polygon(np.column_stack([px + rr * np.cos(ang),
                                                        py + rr * 0.6 * np.sin(ang)]))
                poly = shapely.affinity.rotate(poly, rng.uniform(0, 180), origin=(px, py))
                if not poly.is_valid or not dist.contains(poly):
                    continue
                if any(poly.distance(r_[0]) < 500 for r_ in rows):
                    continue
                placed += 1
                nm = f"{self.d['name_zh'][k]}合成水库{placed:02d} synthetic reservoir"
                rows.append((poly, "reservoir", nm, False, bool(rng.random() < 0.5)))
        self.big_water = rows
        polys = np.array([r_[0] for r_ in rows], dtype=object)
        self.water_tree = shapely.STRtree(polys)
        self.water_polys = polys
        self.water_union = [None] * len(self.geoms)
        for k, dist in enumerate(self.geoms):
            idx = self.water_tree.query(dist, predicate="intersects")
            u = shapely.union_all(polys[idx]) if len(idx) else shapely.Polygon()
            shapely.prepare(u)
            self.water_union[k] = u

    # ------------------------------------------------------------ candidate pools
    def _pools(self):
        """Per district: random candidate points inside, off water, with MODIS class."""
        self.pool = []
        for k, dist in enumerate(self.geoms):
            rng = self.rng("settle", k, 99)
            minx, miny, maxx, maxy = dist.bounds
            n = int(np.clip(self.area[k] / 2e4, 4000, 60000))
            fill = self.area[k] / ((maxx - minx) * (maxy - miny))
            m = int(n / max(fill, 0.05))
            x = rng.uniform(minx, maxx, m)
            y = rng.uniform(miny, maxy, m)
            ok = shapely.contains_xy(dist, x, y)
            if not self.water_union[k].is_empty:
                ok &= ~shapely.contains_xy(self.water_union[k], x, y)
            x, y = x[ok], y[ok]
            code = self.grid.code_at(x, y)
            cls = self.grid.lut[code]
            u = rng.random(len(x))
            self.pool.append({"x": x, "y": y, "code": code, "cls": cls, "w": _class_weight(cls),
                              "u": u})

    # -------------------------------------------------------------- settlements
    def _settlements(self):
        dens = np.array([T.KIND_DENSITY[k] for k in self.kind]) * self.area
        per_d = _largest_remainder(self.n, dens)
        self.n_district = per_d
        S = {"x": [], "y": [], "dist": [], "role": [], "stype": [], "k": [], "cell": [],
             "theta": [], "r0": []}
        for k, dist in enumerate(self.geoms):
            rng = self.rng("settle", k)
            kind = self.kind[k]
            plan = T.PLANS[kind]
            a_km2 = self.area[k] / 1e6
            p = self.pool[k]
            x, y, w, u = p["x"], p["y"], p["w"], p["u"]
            acc = u < w
            xs, ys = x[acc], y[acc]
            if len(xs) == 0:
                xs, ys = x, y
            if len(xs) == 0:
                rp = dist.representative_point()
                xs, ys = np.array([rp.x]), np.array([rp.y])
            # settlement list (roles, building targets, lot sizes, radii) before placement
            roles = ["main"]
            n_d = int(per_d[k])
            for role in ("town", "industrial", "village"):
                if role in plan:
                    _, sh, km2_per, lo, hi = plan[role]
                    cnt = int(np.clip(round(a_km2 / km2_per), lo, hi))
                    # at small n_buildings keep settlements of a plausible size
                    cnt = min(cnt, max(1, int(sh * n_d / _MIN_SIZE[role])))
                    roles += [role] * cnt
            roles = np.array(roles)
            share = np.zeros(len(roles))
            for role, (_st, sh, *_r) in plan.items():
                m = roles == role
                if m.any():
                    wr = rng.lognormal(0, 0.5, int(m.sum()))
                    share[m] = sh * wr / wr.sum()
            ks = _largest_remainder(n_d, share)
            stypes = np.array([plan[r][0] for r in roles])
            cell = np.array([T.SETTLEMENT_TYPES[s_]["cell_m"] for s_ in stypes])
            if kind == "dense_core" and n_d > 0:
                usable = self.area[k] - self.water_union[k].area
                c_core = float(np.clip(np.sqrt(0.45 * usable / n_d), 28.0, 110.0))
                cell[stypes == "core"] = c_core
            # crowded districts (large n_buildings): shrink the lots so that they cover at
            # most _MAX_LOT_SHARE of the district's dry land
            lot_area = float(np.sum(ks * cell**2))
            dry = self.area[k] - self.water_union[k].area
            if lot_area > _MAX_LOT_SHARE * dry > 0:
                f = max(np.sqrt(_MAX_LOT_SHARE * dry / lot_area), 0.5)
                floor = np.array([_MIN_CELL_M[s_] for s_ in stypes])
                cell = np.maximum(cell * f, np.minimum(cell, floor))
            r0 = np.sqrt(ks * cell**2 / (np.pi * 0.55))
            # main centre: best built-up / cropland point near the district's middle
            rp = dist.representative_point()
            cx0, cy0 = dist.centroid.x, dist.centroid.y
            if not dist.contains(shapely.Point(cx0, cy0)):
                cx0, cy0 = rp.x, rp.y
            wacc = _class_weight(self.grid.class_at(xs, ys))
            dn = np.hypot(xs - cx0, ys - cy0) / np.sqrt(self.area[k])
            im = int(np.argmax(wacc - 1.5 * dn))
            pos = np.full(len(roles), -1)
            pos[0] = im
            used = np.zeros(len(xs), dtype=bool)
            used[im] = True
            base = np.where(roles == "village", 600.0, 1500.0)
            if kind == "dense_core":
                base[:] = 0.6 * np.sqrt(self.area[k] / len(roles))
            fac = 1.0
            for _attempt in range(4):
                todo = np.flatnonzero(pos < 0)
                if len(todo) == 0:
                    break
                placed = np.flatnonzero(pos >= 0)
                px, py, pr = xs[pos[placed]], ys[pos[placed]], r0[placed]
                ti = 0
                for i in np.flatnonzero(~used):
                    if ti >= len(todo):
                        break
                    s_ = todo[ti]
                    gap = np.hypot(px - xs[i], py - ys[i]) - fac * (pr + r0[s_])
                    if gap.min() < fac * base[s_]:
                        continue
                    pos[s_] = i
                    used[i] = True
                    px = np.append(px, xs[i])
                    py = np.append(py, ys[i])
                    pr = np.append(pr, r0[s_])
                    ti += 1
                fac *= 0.5
            ok = pos >= 0
            if not ok.all():
                logger.info("settlements: district %s has room for %d of %d settlements",
                            self.adc[k], int(ok.sum()), len(ok))
                roles, stypes, cell, share = roles[ok], stypes[ok], cell[ok], share[ok]
                ks = _largest_remainder(n_d, share)
                r0 = np.sqrt(ks * cell**2 / (np.pi * 0.55))
            sel = pos[ok]
            base_theta = rng.uniform(0, np.pi / 2)
            theta = np.where(rng.random(len(sel)) < 0.5, base_theta + rng.normal(0, 0.05, len(sel)),
                             rng.uniform(0, np.pi / 2, len(sel)))
            S["x"].append(np.round(xs[sel], 2))
            S["y"].append(np.round(ys[sel], 2))
            S["dist"].append(np.full(len(sel), k))
            S["role"].append(roles)
            S["stype"].append(stypes)
            S["k"].append(ks)
            S["cell"].append(cell)
            S["theta"].append(theta)
            S["r0"].append(r0)
        self.S = {key: np.concatenate(v) for key, v in S.items()}
        self.S["id"] = np.arange(len(self.S["x"]))

    # ---------------------------------------------------------------- townships
    def _townships(self):
        S = self.S
        geoms, codes, nzh, nen, urban, dist_of = [], [], [], [], [], []
        for k, dist in enumerate(self.geoms):
            rng = self.rng("town", k)
            lo, hi = T.TOWNSHIP_RANGE[self.kind[k]]
            nt = int(rng.integers(lo, hi + 1))
            m = (S["dist"] == k) & np.isin(S["role"], ["main", "town"])
            sx, sy = list(S["x"][m][:nt]), list(S["y"][m][:nt])
            p = self.pool[k]
            order = rng.permutation(len(p["x"]))
            minsep = 0.4 * np.sqrt(self.area[k] / nt)
            for i in order:
                if len(sx) >= nt:
                    break
                if np.min(np.hypot(np.array(sx) - p["x"][i], np.array(sy) - p["y"][i])) < minsep:
                    continue
                sx.append(p["x"][i])
                sy.append(p["y"][i])
            pts = shapely.multipoints(np.column_stack([sx, sy]))
            if len(sx) == 1:
                cells = [dist]
            else:
                env = shapely.box(*dist.buffer(1000).bounds)
                vor = shapely.voronoi_polygons(pts, extend_to=env, ordered=True)
                cells = [_polygonal(shapely.intersection(c, dist)) for c in shapely.get_parts(vor)]
            name_zh = self.d["name_zh"][k]
            name_en = str(self.d["name_en"][k]).replace(" District", "").replace(" County", "")
            kept = 0
            for c in cells:
                if c is None or c.area < 1.0:
                    continue
                kept += 1
                geoms.append(c)
                codes.append(f"{self.adc[k]}{kept:03d}")
                nzh.append(f"{name_zh}合成街道{kept:02d}")
                nen.append(f"{name_en} synthetic township {kept:02d}")
                dist_of.append(k)
            # urban flag
            if self.kind[k] == "dense_core":
                urban.extend([True] * kept)
            elif self.kind[k] == "new_town":
                mm = (S["dist"] == k) & np.isin(S["role"], ["main", "town"])
                cpts = shapely.points(S["x"][mm], S["y"][mm])
                tc = np.array(geoms[-kept:], dtype=object)
                hit = np.zeros(kept, dtype=bool)
                _, j = shapely.STRtree(tc).query(cpts, predicate="intersects")
                hit[j] = True
                urban.extend(hit.tolist())
            else:
                urban.extend([False] * kept)
        self.t_geom = np.array(geoms, dtype=object)
        self.t_code = np.array(codes, dtype=object)
        self.t_urban = np.array(urban, dtype=bool)
        self.t_dist = np.array(dist_of)
        area = shapely.area(self.t_geom)
        self.layers["townships"] = _frame("boundaries", {
            "adcode": codes, "level": ["township"] * len(codes), "name_zh": nzh, "name_en": nen,
            "parent_adcode": [self.adc[k] for k in dist_of], "area_km2": area / 1e6,
            "is_urban": self.t_urban}, self.t_geom, self.seed)
        self.S["township"] = _locate(shapely.points(self.S["x"], self.S["y"]), self.t_geom,
                                     self.t_code)
        tu = dict(zip(self.t_code, self.t_urban, strict=True))
        self.S["urban"] = np.array([tu[c] for c in self.S["township"]], dtype=bool)

    # ------------------------------------------------------------------- ponds
    def _ponds(self):
        S = self.S
        aq = np.asarray(self.d["aquaculture"], dtype=bool)
        self.ponds = []  # (poly array, district, pit flag)
        if not aq.any() or self.n <= 0:
            self.pond_polys = np.empty(0, dtype=object)
            self.pond_pit = np.empty(0, dtype=bool)
            return
        total = int(round(_PONDS_PER_BUILDING * self.n))
        elig = []
        for k in range(len(self.geoms)):
            p = self.pool[k]
            e = np.isin(p["code"], _POND_CODES + _POND_CODES_ALSO)
            elig.append(e)
        w = np.array([elig[k].mean() * self.area[k] if aq[k] else 0.0
                      for k in range(len(self.geoms))])
        budget = _largest_remainder(total, w)
        skd = cKDTree(np.column_stack([S["x"], S["y"]]))
        bgeo = self.layers["buildings"].geometry.to_numpy()
        btree = shapely.STRtree(bgeo) if len(bgeo) else None
        gtree = shapely.STRtree(self.green_polys) if len(self.green_polys) else None
        out_p, out_d, out_pit = [], [], []
        for k, dist in enumerate(self.geoms):
            if budget[k] <= 0:
                continue
            rng = self.rng("pond", k)
            p = self.pool[k]
            cand = np.flatnonzero(elig[k])
            pref = np.isin(p["code"][cand], _POND_CODES)
            key = rng.random(len(cand)) + np.where(pref, 0.0, 0.5)  # preferred cells first
            cand = cand[np.argsort(key, kind="stable")]
            cx_l, cy_l, cr_l = [], [], []
            got = 0
            for i in cand:
                if got >= budget[k]:
                    break
                nx_, ny_ = int(rng.integers(5, 19)), int(rng.integers(4, 15))
                pw = 60 + 140 * rng.beta(1.2, 4.0)
                ph = 40 + 110 * rng.beta(1.2, 4.0)
                dyke = rng.uniform(6, 12)
                th = rng.uniform(0, np.pi / 2)
                ext = 0.5 * np.hypot(nx_ * (pw + dyke), ny_ * (ph + dyke))
                x0, y0 = p["x"][i], p["y"][i]
                if cx_l and np.min(np.hypot(np.array(cx_l) - x0, np.array(cy_l) - y0)
                                   - np.array(cr_l)) < ext:
                    continue
                dd, jj = skd.query([x0, y0], k=min(4, len(S["x"])))
                rf = np.array([self.lots.get(int(j), 0.0) for j in np.atleast_1d(jj)])
                if np.any(np.atleast_1d(dd) < 0.7 * rf + 30 + ext):
                    continue
                ii, kk = np.meshgrid(np.arange(nx_) - (nx_ - 1) / 2, np.arange(ny_) - (ny_ - 1) / 2)
                lu = ii.ravel() * (pw + dyke)
                lv = kk.ravel() * (ph + dyke)
                wj = pw * rng.uniform(0.85, 1.0, lu.size)
                hj = ph * rng.uniform(0.85, 1.0, lu.size)
                px = x0 + lu * np.cos(th) - lv * np.sin(th)
                py = y0 + lu * np.sin(th) + lv * np.cos(th)
                polys = shapely.polygons(_rect_coords(px, py, wj, hj, np.full(lu.size, th)))
                ok = shapely.contains(dist, polys)
                ok &= np.isin(self.grid.code_at(px, py), _POND_CODES + _POND_CODES_ALSO)
                if len(self.water_polys):
                    a_, _ = self.water_tree.query(polys, predicate="intersects")
                    ok[a_] = False
                if btree is not None:
                    a_, _ = btree.query(polys, predicate="dwithin", distance=10.0)
                    ok[a_] = False
                if gtree is not None:
                    a_, _ = gtree.query(polys, predicate="intersects")
                    ok[a_] = False
                polys = polys[ok]
                if len(polys) < 8:
                    continue
                polys = polys[: budget[k] - got]
                cx_l.append(x0)
                cy_l.append(y0)
                cr_l.append(ext)
                got += len(polys)
                out_p.append(polys)
                out_d.append(np.full(len(polys), k))
                out_pit.append(rng.random(len(polys)) < 0.05)
            if got < budget[k]:
                logger.info("ponds: district %s got %d of %d ponds (no more room on "
                            "cropland/wetland cells)", self.adc[k], got, budget[k])
        if out_p:
            self.pond_polys = np.concatenate(out_p)
            self.pond_dist = np.concatenate(out_d)
            self.pond_pit = np.concatenate(out_pit)
        else:
            self.pond_polys = np.empty(0, dtype=object)
            self.pond_dist = np.empty(0, dtype=np.int64)
            self.pond_pit = np.empty(0, dtype=bool)

    # ------------------------------------------------------------- green space
    def _green(self):
        S = self.S
        out = []  # (poly, type, tier, name, district)
        obst = list(self.water_polys)
        otree = shapely.STRtree(np.array(obst, dtype=object)) if obst else None
        for k, dist in enumerate(self.geoms):
            rng = self.rng("green", k)
            placed = []
            idx = np.flatnonzero((S["dist"] == k) & (S["role"] != "village"))
            for s in idx:
                role, st = S["role"][s], S["stype"][s]
                r0 = max(S["r0"][s], 150.0)
                specs = []
                if role == "main":
                    specs.append(("park", "city", rng.uniform(20e4, 60e4)))
                if st in ("core", "newtown", "county_town") or rng.random() < 0.6:
                    specs.append(("park", "community", rng.uniform(1e4, 8e4)))
                if st in ("core", "newtown", "county_town"):
                    specs += [("park", "pocket", rng.uniform(0.1e4, 1e4))
                              for _ in range(int(rng.integers(0, 4)))]
                    specs += [("green_space", "", rng.uniform(0.5e4, 3e4))
                              for _ in range(int(rng.integers(1, 3)))]
                for gtype, tier, a in specs:
                    for _try in range(4):
                        ang = rng.uniform(0, 2 * np.pi)
                        rr = rng.uniform(0.1, 0.7) * r0
                        px = S["x"][s] + rr * np.cos(ang)
                        py = S["y"][s] + rr * np.sin(ang)
                        asp = rng.uniform(1.0, 2.5) if gtype == "park" else rng.uniform(3, 8)
                        w = np.sqrt(a * asp)
                        h = a / w
                        poly = shapely.polygons(_rect_coords(np.array([px]), np.array([py]),
                                                             np.array([w]), np.array([h]),
                                                             np.array([S["theta"][s]])))[0]
                        if tier == "city":
                            poly = shapely.affinity.scale(shapely.Point(px, py).buffer(1.0), w / 2,
                                                          h / 2)
                        if not dist.contains(poly):
                            continue
                        if otree is not None and len(otree.query(poly, predicate="intersects")):
                            continue
                        if any(poly.intersects(q) for q in placed):
                            continue
                        placed.append(poly)
                        out.append((poly, gtype, tier, k))
                        break
            # country parks on forest cells of hill districts
            if self.kind[k] in ("mountain_county", "new_town"):
                ncp = int(rng.integers(2, 5)) if self.kind[k] == "mountain_county" else 1
                p = self.pool[k]
                fidx = np.flatnonzero(np.isin(p["cls"], T.FOREST_CLASSES))
                fidx = fidx[rng.permutation(len(fidx))][:200]
                skd = cKDTree(np.column_stack([S["x"], S["y"]]))
                got = 0
                for i in fidx:
                    if got >= ncp:
                        break
                    a = rng.uniform(100e4, 800e4)
                    rad = np.sqrt(a / np.pi)
                    dd, jj = skd.query([p["x"][i], p["y"][i]], k=3)
                    if np.any(dd < S["r0"][jj] * 1.5 + rad + 300):
                        continue
                    poly = shapely.Point(p["x"][i], p["y"][i]).buffer(rad, quad_segs=8)
                    poly = shapely.affinity.scale(poly, 1.3, 0.77)
                    if not dist.contains(poly):
                        continue
                    if otree is not None and len(otree.query(poly, predicate="intersects")):
                        continue
                    if any(poly.intersects(q) for q in placed):
                        continue
                    placed.append(poly)
                    out.append((poly, "park", "country", k))
                    got += 1
        self.green = out
        self.green_polys = np.array([o[0] for o in out], dtype=object)

    # --------------------------------------------------------------- buildings
    def _buildings(self):
        S = self.S
        obst = [*self.water_polys, *self.green_polys, *self.link_corridors]
        if self.exclude is not None and not shapely.is_empty(self.exclude):
            obst += list(shapely.get_parts(self.exclude))
        obst = np.array(obst, dtype=object)
        otree = shapely.STRtree(obst) if len(obst) else None
        self.otree, self.obst = otree, obst
        chunks = []
        self.lots = {}  # settlement -> (R_final)
        for k, dist in enumerate(self.geoms):
            idx = np.flatnonzero(S["dist"] == k)
            if len(idx) == 0 or self.n_district[k] == 0:
                continue
            rng = self.rng("bldg", k)
            if len(idx) == 1:
                cells = [shapely.box(*dist.bounds)]
            else:
                pts = shapely.multipoints(np.column_stack([S["x"][idx], S["y"][idx]]))
                env = shapely.box(*dist.buffer(1000).bounds)
                cells = list(shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=env,
                                                                        ordered=True)))
            self.vcell = getattr(self, "vcell", {})
            shrunk_d = {}
            cand, sat = {}, {}
            need = {s: int(S["k"][s]) for s in idx}
            todo = list(idx)
            for _round in range(4):
                for s in todo:
                    cellpoly = cells[int(np.flatnonzero(idx == s)[0])]
                    self.vcell[s] = cellpoly
                    c = float(S["cell"][s])
                    key = round(c, 1)
                    if key not in shrunk_d:
                        sd = dist.buffer(-0.71 * c, quad_segs=2)
                        shapely.prepare(sd)
                        shrunk_d[key] = sd
                    *cand[s], sat[s] = self._lots(s, cellpoly, shrunk_d[key], need[s], rng, otree,
                                                  obst)
                deficit = int(self.n_district[k]) - sum(len(cand[s][0]) for s in idx)
                todo = [s for s in idx if not sat[s] and need[s] > 0]
                if deficit <= 0 or not todo:
                    break
                ksum = sum(need[s] for s in todo)
                for s in todo:
                    need[s] += int(np.ceil(1.3 * deficit * need[s] / ksum)) + 1
            # allocate: own lots first, then the shortfall from spare lots of other settlements
            shortfall = sum(max(S["k"][s] - len(cand[s][0]), 0) for s in idx)
            take = {s: min(S["k"][s], len(cand[s][0])) for s in idx}
            if shortfall > 0:
                spare = [(cand[s][2][take[s]:], np.full(len(cand[s][0]) - take[s], s))
                         for s in idx]
                pr = np.concatenate([a for a, _ in spare]) if spare else np.empty(0)
                ow = np.concatenate([b for _, b in spare]) if spare else np.empty(0, int)
                extra = ow[np.argsort(pr, kind="stable")[:shortfall]]
                for s, c_ in zip(*np.unique(extra, return_counts=True), strict=True):
                    take[s] += int(c_)
                if len(extra) < shortfall:
                    logger.warning("buildings: district %s has room for %d fewer buildings than "
                                   "asked", self.adc[k], shortfall - len(extra))
            for s in idx:
                cx_, cy_, pr_ = cand[s]
                n_take = take[s]
                if n_take == 0:
                    self.lots[s] = 0.0
                    continue
                lx, ly = cx_[:n_take], cy_[:n_take]
                self.lots[s] = float(np.max(np.hypot(lx - S["x"][s], ly - S["y"][s])))
                chunks.append(self._make_buildings(s, lx, ly, rng, k))
        self._assemble_buildings(chunks)

    def _lots(self, s, cellpoly, shrunk_dist, k_s, rng, otree, obst):
        """Valid lot centres of settlement ``s`` sorted by priority (near the centre first)."""
        S = self.S
        c = float(S["cell"][s])
        cx, cy, th = S["x"][s], S["y"][s], S["theta"][s]
        shr = cellpoly.buffer(-0.71 * c, join_style="mitre")
        if shr.is_empty:
            return np.empty(0), np.empty(0), np.empty(0), True
        shapely.prepare(shr)
        vx, vy = shapely.get_coordinates(cellpoly).T
        rmax = float(np.max(np.hypot(vx - cx, vy - cy)))
        need = max(int(k_s), 1)
        r = max(float(S["r0"][s]), 1.5 * c)
        ct, st = np.cos(th), np.sin(th)
        while True:
            m = int(np.ceil(r / c)) + 1
            ii, jj = np.meshgrid(np.arange(-m, m), np.arange(-m, m), indexing="ij")
            lu = (ii.ravel() + 0.5) * c
            lv = (jj.ravel() + 0.5) * c
            dd = np.hypot(lu, lv)
            inside = dd <= r
            lu, lv, dd = lu[inside], lv[inside], dd[inside]
            x = cx + lu * ct - lv * st
            y = cy + lu * st + lv * ct
            ok = shapely.contains_xy(shr, x, y)
            ok[ok] = shapely.contains_xy(shrunk_dist, x[ok], y[ok])
            x, y, dd = x[ok], y[ok], dd[ok]
            if otree is not None and len(x):
                disk = shapely.Point(cx, cy).buffer(r + c, quad_segs=4)
                near = otree.query(disk, predicate="intersects")
                if len(near):
                    blocked = shapely.geometrycollections(shapely.intersection(obst[near], disk))
                    shapely.prepare(blocked)
                    sq = shapely.polygons(_rect_coords(x, y, np.full(len(x), c), np.full(len(x), c),
                                                       np.full(len(x), th)))
                    bad = shapely.intersects(blocked, sq)
                    x, y, dd = x[~bad], y[~bad], dd[~bad]
            if len(x) >= 1.05 * need or r >= rmax:
                break
            r = min(r * 1.5, rmax + c)
        pr = dd / max(r, 1.0) + rng.uniform(0, 0.15, len(dd))
        o = np.argsort(pr, kind="stable")
        return x[o], y[o], pr[o], bool(r >= rmax)

    def _make_buildings(self, s, x, y, rng, k):
        S = self.S
        st = S["stype"][s]
        c = float(S["cell"][s])
        mix = T.MIXES[st]
        n = len(x)
        shares = np.array([m[1] for m in mix])
        row = rng.choice(len(mix), size=n, p=shares / shares.sum())
        tab = np.array([m[2:9] for m in mix], dtype=float)
        flo, fhi, sto, wlo, whi, dlo, dhi = tab[row].T
        margin = max(2.0, (0.07 if st == "industrial" else 0.1) * c)
        room = c - 2 * margin
        w = np.minimum(rng.uniform(wlo, whi), room)
        dep = np.minimum(rng.uniform(dlo, dhi), room)
        shed = sto == 0
        if shed.any():
            need = 2000.0 / w[shed]
            dep[shed] = np.minimum(np.maximum(dep[shed], need), room)
        floors = rng.integers(flo.astype(np.int64), fhi.astype(np.int64) + 1)
        height = floors * sto
        height[shed] = rng.uniform(8.0, 15.0, int(shed.sum()))
        roofp = np.array([m[9] for m in mix], dtype=float)[row]
        ur = rng.random(n)
        roof_i = (ur > roofp[:, 0]).astype(int) + (ur > roofp[:, 0] + roofp[:, 1]).astype(int)
        roof = np.array(["flat", "gable", "hip"], dtype=object)[roof_i]
        # tall buildings have flat roofs
        roof[floors > 8] = "flat"
        ylo = np.array([m[10] for m in mix])[row]
        yhi = np.array([m[11] for m in mix])[row]
        year = rng.integers(ylo, yhi + 1)
        new = rng.random(n) < 0.03
        year[new] = rng.integers(2024, 2027, int(new.sum()))
        use = np.array([m[0] for m in mix], dtype=object)[row]
        public = np.isin(use, ["government", "education", "health", "public"]) & (
            rng.random(n) < 0.85)
        jx = (room - w) * rng.uniform(-0.5, 0.5, n)
        jy = (room - dep) * rng.uniform(-0.5, 0.5, n)
        th = S["theta"][s]
        bx = x + jx * np.cos(th) - jy * np.sin(th)
        by = y + jx * np.sin(th) + jy * np.cos(th)
        return {"x": bx, "y": by, "w": w, "d": dep, "theta": np.full(n, th), "floors": floors,
                "height": height, "roof": roof, "year": year, "new": new, "use": use,
                "public": public, "dist": np.full(n, k), "sett": np.full(n, s)}

    def _assemble_buildings(self, chunks):
        if chunks:
            b = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
        else:
            b = {key: np.empty(0) for key in ("x", "y", "w", "d", "theta", "floors", "height",
                                              "roof", "year", "new", "use", "public", "dist")}
        n = len(b["x"])
        geom = shapely.polygons(_rect_coords(b["x"], b["y"], b["w"], b["d"], b["theta"]))
        area = shapely.area(geom)
        floors = b["floors"].astype(np.int64)
        roof = b["roof"].astype(str)
        tw = _locate(shapely.points(b["x"], b["y"]), self.t_geom, self.t_code)
        dist = b["dist"].astype(np.int64)
        self.layers["buildings"] = _frame("buildings", {
            "building_id": [f"{self.cid}-b-{i:07d}" for i in range(n)],
            "height_m": np.round(b["height"].astype(float), 2),
            "name": [""] * n,
            "floors": floors,
            "use_class": b["use"].astype(str),
            "roof_type": roof,
            "year_built": b["year"].astype(np.int64),
            "gross_floor_area_m2": area * floors,
            "footprint_area_m2": area,
            "district_adcode": np.array(self.adc, dtype=object)[dist] if n else [],
            "township_code": tw,
            "height_source": ["synthetic"] * n,
            "cim_level": np.where(roof != "unknown", 3, 2),
            "is_new_build": b["new"].astype(bool),
            "is_public_institution": b["public"].astype(bool),
        }, geom, self.seed)

    # -------------------------------------------------------------------- roads
    def _roads(self):
        S = self.S
        rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
        P0, P1, RK, ONE = [], [], [], []
        rng = self.rng("road", 0)
        water = np.array([*self.water_polys, *self.pond_polys], dtype=object)
        wtree = shapely.STRtree(water) if len(water) else None
        # street lattices
        for s in range(len(S["x"])):
            rf = self.lots.get(s, 0.0)
            if rf <= 0:
                continue
            k = S["dist"][s]
            dist = self.geoms[k]
            st = S["stype"][s]
            c = float(S["cell"][s])
            sp = c * T.SETTLEMENT_TYPES[st]["block"]
            m = int(np.ceil((rf + c) / sp)) + 1
            ii, jj = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij")
            th = S["theta"][s]
            x = np.round(S["x"][s] + sp * (ii * np.cos(th) - jj * np.sin(th)), 2)
            y = np.round(S["y"][s] + sp * (ii * np.sin(th) + jj * np.cos(th)), 2)
            x[m, m], y[m, m] = S["x"][s], S["y"][s]
            ok = np.hypot(ii, jj) * sp <= rf + sp
            ok &= shapely.contains_xy(self.vcell[s], x, y)
            ok &= shapely.contains_xy(dist, x, y)
            a, b, axis = lattice_edges(ok)
            if len(a) == 0:
                continue
            xf, yf = x.ravel(), y.ravel()
            lines = shapely.linestrings(np.stack([np.column_stack([xf[a], yf[a]]),
                                                  np.column_stack([xf[b], yf[b]])], axis=1))
            good = shapely.contains(dist, lines)
            if wtree is not None:
                wa, _ = wtree.query(lines, predicate="intersects")
                good[wa] = False
            a, b, axis = a[good], b[good], axis[good]
            nn = ok.size
            g = coo_matrix((np.ones(len(a)), (a, b)), shape=(nn, nn))
            _, lab = connected_components(g, directed=False)
            centre = m * (2 * m + 1) + m
            keep = lab[a] == lab[centre]
            a, b, axis = a[keep], b[keep], axis[keep]
            if len(a) == 0:
                continue
            fi, fj = ii.ravel(), jj.ravel()
            line_idx = np.where(axis == 0, fj[a], fi[a])  # index of the lattice line
            major = st in ("core", "newtown", "county_town")
            cls = np.full(len(a), rank["residential"])
            if st == "industrial":
                cls[:] = rank["service"]
            cls[line_idx % 4 == 0] = rank["tertiary"]
            cls[line_idx == 0] = rank["secondary"] if major else rank["tertiary"]
            P0.append(np.column_stack([xf[a], yf[a]]))
            P1.append(np.column_stack([xf[b], yf[b]]))
            RK.append(cls)
            one = np.zeros(len(a), dtype=bool)
            if st == "core":
                one = (cls >= rank["tertiary"]) & (rng.random(len(a)) < 0.25)
            ONE.append(one)
        # inter-settlement network (planned before the buildings, which keep clear of it)
        P0 += self.link_p[0]
        P1 += self.link_p[1]
        RK += self.link_p[2]
        ONE += self.link_p[3]
        p0 = np.concatenate(P0) if P0 else np.empty((0, 2))
        p1 = np.concatenate(P1) if P1 else np.empty((0, 2))
        rk = np.concatenate(RK) if RK else np.empty(0, np.int64)
        one = np.concatenate(ONE) if ONE else np.empty(0, bool)
        q0, q1, src = node_segments(np.round(p0, 2), np.round(p1, 2), rk)
        # keep the largest connected component
        if len(q0):
            keys = np.concatenate([q0, q1])
            _, inv = np.unique(np.round(keys * 100).astype(np.int64), axis=0, return_inverse=True)
            inv = inv.ravel()
            a, b = inv[: len(q0)], inv[len(q0):]
            nn = int(inv.max()) + 1
            _, lab = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(nn, nn)),
                                          directed=False)
            big = np.bincount(lab[a]).argmax()
            keep = lab[a] == big
            if (~keep).any():
                logger.warning("roads: dropped %d segments not connected to the main network",
                               int((~keep).sum()))
            q0, q1, src = q0[keep], q1[keep], src[keep]
        lines = shapely.linestrings(np.stack([q0, q1], axis=1)) if len(q0) else np.empty(0, object)
        cls = np.array(ROAD_CLASSES, dtype=object)[rk[src]] if len(q0) else np.empty(0, object)
        mid = shapely.points((q0 + q1) / 2) if len(q0) else np.empty(0, object)
        dcode = _locate(mid, self.geoms, self.adc)
        n = len(lines)
        self.layers["roads"] = _frame("roads", {
            "road_id": [f"{self.cid}-r-{i:07d}" for i in range(n)],
            "road_class": cls,
            "name": [""] * n,
            "speed_kmh": [T.SPEED_KMH[c] for c in cls],
            "is_oneway": one[src] if n else [],
            "length_m": shapely.length(lines) if n else [],
            "district_adcode": dcode,
        }, lines, self.seed)

    def _plan_links(self):
        """Plan the inter-settlement roads; buildings keep clear of their corridors."""
        rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
        P0, P1, RK, ONE = [], [], [], []
        self._links(P0, P1, RK, ONE, rank, self.rng("road", 1))
        self.link_p = (P0, P1, RK, ONE)
        if P0:
            lines = shapely.linestrings(np.stack([P0[0], P1[0]], axis=1))
            half = np.array([15.0, 12.0, 9.0, 7.0, 6.0, 4.0, 4.0])[RK[0]]
            self.link_corridors = list(shapely.buffer(lines, half, quad_segs=1))
        else:
            self.link_corridors = []

    def _links(self, P0, P1, RK, ONE, rank, rng):
        S = self.S
        ns = len(S["x"])
        city = self.city
        a_km2 = city.area
        g = float(np.clip(np.sqrt(a_km2 / 1500), 1500, 4000))
        minx, miny, maxx, maxy = city.bounds
        gx, gy = np.meshgrid(np.arange(minx + g / 2, maxx, g), np.arange(miny + g / 2, maxy, g))
        ax = gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * g
        ay = gy.ravel() + rng.uniform(-0.3, 0.3, gy.size) * g
        ok = shapely.contains_xy(city, ax, ay)
        ax, ay = ax[ok], ay[ok]
        if ns:
            dd, _ = cKDTree(np.column_stack([S["x"], S["y"]])).query(np.column_stack([ax, ay]))
            ax, ay = ax[dd > 0.35 * g], ay[dd > 0.35 * g]
        # exits toward neighbouring cities: the northern- and eastern-most points of the city
        ext = shapely.get_coordinates(shapely.get_exterior_ring(
            max(shapely.get_parts(city), key=lambda p: p.area)))
        cxy = np.array([city.centroid.x, city.centroid.y])
        exits = []
        for i in (np.argmax(ext[:, 1]), np.argmax(ext[:, 0])):
            p = ext[i]
            v = cxy - p
            for f in (300.0, 1000.0, 3000.0):
                q = p + v / np.linalg.norm(v) * f
                if city.contains(shapely.Point(*q)):
                    exits.append(q)
                    break
        ex = np.array(exits).reshape(-1, 2)
        X = np.round(np.concatenate([S["x"], ax, ex[:, 0]]), 2)
        Y = np.round(np.concatenate([S["y"], ay, ex[:, 1]]), 2)
        kind = np.concatenate([S["role"], np.full(len(ax), "aux"), np.full(len(ex), "exit")])
        xy = np.column_stack([X, Y])
        _, uniq = np.unique(xy, axis=0, return_index=True)
        e = gabriel_edges(xy)
        e = e[np.isin(e[:, 0], uniq) & np.isin(e[:, 1], uniq)]
        lines = shapely.linestrings(np.stack([xy[e[:, 0]], xy[e[:, 1]]], axis=1))
        cov = shapely.covers(city, lines)
        e = e[cov]
        ln = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
        G = nx.Graph()
        G.add_nodes_from(range(len(xy)))
        for (i, j), L in zip(e.tolist(), ln.tolist(), strict=True):
            G.add_edge(i, j, weight=L)
        comp = max(nx.connected_components(G), key=lambda c: sum(1 for v in c if v < ns))
        lost = [v for v in range(ns) if v not in comp]
        if lost:
            # link each to the nearest reachable node by a straight road inside the city
            members = np.array(sorted(comp))
            ctree = cKDTree(xy[members])
            unlinked = 0
            for v in lost:
                _, jj = ctree.query(xy[v], k=min(40, len(members)))
                cands = members[np.atleast_1d(jj)]
                segs = shapely.linestrings(np.stack([np.broadcast_to(xy[v], (len(cands), 2)),
                                                     xy[cands]], axis=1))
                okc = np.flatnonzero(shapely.covers(city, segs))
                if len(okc) == 0:
                    unlinked += 1
                    continue
                u = int(cands[okc[0]])
                G.add_edge(v, u, weight=float(np.hypot(*(xy[v] - xy[u]))))
            comp = max(nx.connected_components(G), key=lambda c: sum(1 for v in c if v < ns))
            if unlinked:
                logger.warning("roads: %d settlements cannot be linked inside the city", unlinked)
        H = G.subgraph(comp).copy()
        T_ = nx.minimum_spanning_tree(H, weight="weight")
        # prune auxiliary leaves
        leaves = [v for v in T_.nodes if T_.degree(v) <= 1 and kind[v] == "aux"]
        while leaves:
            T_.remove_nodes_from(leaves)
            leaves = [v for v in T_.nodes if T_.degree(v) <= 1 and kind[v] == "aux"]
        net = nx.Graph(T_.edges(data=True))
        net.add_nodes_from(T_.nodes)
        for i, j, dat in H.edges(data=True):
            if i < ns and j < ns and not net.has_edge(i, j) and rng.random() < 0.3:
                net.add_edge(i, j, **dat)
        cls = {}
        # motorways: shortest paths in H between main centres (MST over mains) and to exits
        mains = [v for v in range(ns) if kind[v] == "main" and v in comp]
        mains += [v for v in range(ns, len(xy)) if kind[v] == "exit" and v in comp]
        if len(mains) >= 2:
            dist_m, path_m = {}, {}
            for v in mains:
                dl, pl = nx.single_source_dijkstra(H, v, weight="weight")
                dist_m[v], path_m[v] = dl, pl
            K = nx.Graph()
            for i in mains:
                for j in mains:
                    if i < j and j in dist_m[i]:
                        K.add_edge(i, j, weight=dist_m[i][j])
            for i, j in nx.minimum_spanning_tree(K).edges():
                pth = path_m[i][j]
                for u, v in zip(pth[:-1], pth[1:], strict=True):
                    net.add_edge(u, v, weight=H[u][v]["weight"])
                    cls[(min(u, v), max(u, v))] = "motorway"
        # trunks: from towns to their district's main centre along the network
        for k in range(len(self.geoms)):
            mk = [v for v in range(ns) if S["dist"][v] == k and kind[v] == "main" and v in net]
            if not mk:
                continue
            _, pl = nx.single_source_dijkstra(net, mk[0], weight="weight")
            for v in range(ns):
                if S["dist"][v] == k and kind[v] == "town" and v in pl:
                    pth = pl[v]
                    for u, w in zip(pth[:-1], pth[1:], strict=True):
                        cls.setdefault((min(u, w), max(u, w)), "trunk")
        major = {"main", "town", "industrial", "exit"}
        p0, p1, rk = [], [], []
        for u, v in net.edges():
            key = (min(u, v), max(u, v))
            c = cls.get(key)
            if c is None:
                ku, kv = kind[u], kind[v]
                if ku in major and kv in major:
                    c = "primary"
                elif ku == "village" and kv == "village":
                    c = "tertiary"
                else:
                    c = "secondary"
            p0.append(xy[key[0]])
            p1.append(xy[key[1]])
            rk.append(rank[c])
        if p0:
            P0.append(np.array(p0))
            P1.append(np.array(p1))
            RK.append(np.array(rk, dtype=np.int64))
            ONE.append(np.zeros(len(p0), dtype=bool))

    # ------------------------------------------------------------------ points
    def _points(self):
        S = self.S
        rng = self.rng("point", 0)
        roads = self.layers["roads"]
        geoms = np.asarray(roads.geometry.values, dtype=object)
        rcls = roads["road_class"].to_numpy(dtype=object)
        # service areas on motorways
        sa_pts, sa_ch = [], []
        mw = geoms[rcls == "motorway"]
        if len(mw):
            merged = shapely.line_merge(shapely.union_all(mw))
            for line in shapely.get_parts(merged):
                L = line.length
                pos = rng.uniform(15e3, 30e3)
                while pos < L - 5e3:
                    sa_pts.append(line.interpolate(pos))
                    sa_ch.append(bool(rng.random() < 0.9))
                    pos += rng.uniform(40e3, 60e3)
        sa_pts = np.array(sa_pts, dtype=object)
        nsa = len(sa_pts)
        sa_d = _locate(sa_pts, self.geoms, self.adc)
        self.layers["service_areas"] = _frame("service_areas", {
            "service_area_id": [f"{self.cid}-sa-{i:04d}" for i in range(nsa)],
            "name": [f"合成服务区{i + 1:02d} synthetic service area" for i in range(nsa)],
            "has_charger": np.array(sa_ch, dtype=bool),
            "district_adcode": sa_d}, sa_pts, self.seed)
        # charging stations
        px, py, pub, site, piles, power = [], [], [], [], [], []
        for s in range(len(S["x"])):
            role, st = S["role"][s], S["stype"][s]
            urban = bool(S["urban"][s])
            if role == "main":
                n = int(rng.integers(6, 16)) if st in ("core", "newtown") else int(rng.integers(3, 7))
            elif st in ("core", "newtown"):
                n = int(rng.integers(2, 6))
            elif role in ("town", "industrial"):
                n = int(rng.integers(1, 4))
            else:
                n = int(rng.random() < 0.15)
            k = S["dist"][s]
            rad = max(self.lots.get(s, 0.0), 100.0)
            for _ in range(n):
                for f in (0.8, 0.4, 0.1, 0.0):
                    ang = rng.uniform(0, 2 * np.pi)
                    rr = rng.uniform(0, 1) * rad * f
                    x, y = S["x"][s] + rr * np.cos(ang), S["y"][s] + rr * np.sin(ang)
                    if self.geoms[k].contains(shapely.Point(x, y)):
                        break
                private = rng.random() < 0.15
                np_ = int(rng.integers(4, 41)) if urban else int(rng.integers(2, 13))
                dc = rng.random() < (0.7 if urban else 0.5)
                kw = (120.0 if rng.random() < 0.4 else 60.0) if dc else 7.0
                px.append(x)
                py.append(y)
                pub.append(not private)
                site.append("private" if private else ("urban_public" if urban else "rural_public"))
                piles.append(np_)
                power.append(np_ * kw)
        for p, ch in zip(sa_pts, sa_ch, strict=True):
            if ch:
                np_ = int(rng.integers(4, 17))
                px.append(p.x)
                py.append(p.y)
                pub.append(True)
                site.append("highway_service_area")
                piles.append(np_)
                power.append(np_ * 120.0)
        pts = shapely.points(px, py) if px else np.empty(0, object)
        n = len(pts)
        self.layers["charging_stations"] = _frame("charging_stations", {
            "station_id": [f"{self.cid}-cs-{i:05d}" for i in range(n)],
            "is_public": np.array(pub, dtype=bool), "piles": np.array(piles, dtype=np.int64),
            "name": [""] * n, "power_kw": np.array(power, dtype=float), "site_type": site,
            "district_adcode": _locate(pts, self.geoms, self.adc),
            "township_code": _locate(pts, self.t_geom, self.t_code)}, pts, self.seed)
        # bus stops along primary/secondary/tertiary roads inside settlements
        sel = np.isin(rcls, ["primary", "secondary", "tertiary"])
        lines = geoms[sel]
        bx, by = [], []
        if len(lines) and len(S["x"]):
            mids = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.5,
                                                                          normalized=True))
            dd, jj = cKDTree(np.column_stack([S["x"], S["y"]])).query(mids)
            rad = np.array([self.lots.get(int(j), 0.0) for j in jj])
            inside = (dd <= rad * 1.1 + 50) & (rad > 0)
            spacing = np.where(S["stype"][jj] == "core", 400.0, 520.0)
            L = shapely.length(lines)
            cnt = np.floor(L / spacing + rng.random(len(L))).astype(np.int64) * inside
            li = np.repeat(np.arange(len(lines)), cnt)
            frac = rng.uniform(0.05, 0.95, len(li))
            pts = shapely.line_interpolate_point(lines[li], frac, normalized=True)
            c = shapely.get_coordinates(pts)
            bx, by = c[:, 0], c[:, 1]
        pts = shapely.points(bx, by) if len(bx) else np.empty(0, object)
        if len(pts):
            pts = pts[shapely.contains_xy(self.city, bx, by)]
        n = len(pts)
        self.layers["bus_stops"] = _frame("bus_stops", {
            "stop_id": [f"{self.cid}-bs-{i:06d}" for i in range(n)],
            "name": [""] * n,
            "district_adcode": _locate(pts, self.geoms, self.adc),
            "township_code": _locate(pts, self.t_geom, self.t_code)}, pts, self.seed)

    # --------------------------------------------------------------- land cover
    def _landcover(self):
        g = self.grid
        rng = self.rng("lc", 0)
        inter = shapely.STRtree(g.cell_poly).query(self.city, predicate="intersects")
        inter = np.sort(inter)
        rows, cols, codes = g.rows[inter], g.cols[inter], g.cell_code[inter]
        ncell = len(inter)
        K = 4
        sub = g.quads(rows, cols, K).reshape(ncell, K * K)
        base = g.lut[codes]
        cls = np.repeat(base[:, None], K * K, axis=1).astype(object)
        cx, cy = shapely.get_coordinates(shapely.centroid(g.cell_poly[inter])).T
        lon, lat = g.lonlat(cx, cy)
        dcell = _locate(shapely.points(cx, cy), self.geoms, np.arange(len(self.geoms)), default=-1)
        dcell = dcell.astype(np.int64)
        for i in range(ncell):
            c0 = base[i]
            if c0 == "":
                continue
            adc = self.adc[dcell[i]] if dcell[i] >= 0 else ""
            admix = dict(T.ADMIX.get(c0, T.DEFAULT_ADMIX))
            admix.pop(c0, None)
            nmix = int(rng.integers(0, 6))
            if adc in T.TEA_ADCODES and c0 in (*T.FOREST_CLASSES, "shrubland", "cropland"):
                admix["tea_garden"] = 0.35 * sum(admix.values())
            bamboo = False
            if adc in T.BAMBOO_ADCODES and c0 in T.FOREST_CLASSES:
                side = T.BAMBOO_ADCODES[adc]
                k = dcell[i]
                west = cx[i] < self.geoms[k].centroid.x
                bamboo = (side is None or west) and rng.random() < 0.75
            if bamboo:
                nmix = 5
            pos = rng.permutation(K * K)[:nmix]
            if nmix:
                names = list(admix)
                p = np.array([admix[n_] for n_ in names])
                pick = rng.choice(names, size=nmix, p=p / p.sum())
                if bamboo:
                    pick = np.where(rng.random(nmix) < 0.8, "bamboo_forest", pick)
                cls[i, pos] = pick
            for wl_lon, wl_lat in T.WETLAND_SPOTS:
                if abs(lon[i] - wl_lon) < 0.025 and abs(lat[i] - wl_lat) < 0.025 and c0 != "water":
                    free = [q for q in range(K * K) if cls[i, q] == c0]
                    take = max(0, min(3, len(free) - 11))
                    cls[i, free[:take]] = "wetland"
        cell_i = np.repeat(np.arange(ncell), K * K)
        polys = sub.ravel()
        cls = cls.ravel()
        keep = cls != ""
        polys, cls, cell_i = polys[keep], cls[keep], cell_i[keep]
        # clip to districts
        tree = shapely.STRtree(polys)
        out_g, out_i, out_d = [], [], []
        for k, dist in enumerate(self.geoms):
            cand = tree.query(dist, predicate="intersects")
            if len(cand) == 0:
                continue
            inside = shapely.contains(dist, polys[cand])
            out_g.append(polys[cand[inside]])
            out_i.append(cand[inside])
            out_d.append(np.full(int(inside.sum()), k))
            bd = cand[~inside]
            if len(bd):
                clipped = shapely.intersection(polys[bd], dist)
                clipped = np.array([_polygonal(c) for c in clipped], dtype=object)
                ok = np.array([c is not None and c.area > 1.0 for c in clipped], dtype=bool)
                out_g.append(clipped[ok])
                out_i.append(bd[ok])
                out_d.append(np.full(int(ok.sum()), k))
        geom = np.concatenate(out_g) if out_g else np.empty(0, object)
        src = np.concatenate(out_i) if out_i else np.empty(0, np.int64)
        dk = np.concatenate(out_d) if out_d else np.empty(0, np.int64)
        lc = cls[src]
        area = shapely.area(geom)
        ci = cell_i[src]
        # enforce dominance of the cell class (>= 60 % of the cell's area in the city)
        base_cls = base[ci]
        df = pd.DataFrame({"cell": ci, "own": (lc == base_cls) * area, "a": area})
        agg = df.groupby("cell").sum()
        weak = agg.index[agg["own"] < 0.6 * agg["a"]].to_numpy()
        fix = np.isin(ci, weak)
        lc = np.where(fix, base_cls, lc)
        # order: by cell then patch for stable ids
        order = np.lexsort((src, dk))
        geom, lc, ci, dk, area = geom[order], lc[order], ci[order], dk[order], area[order]
        n = len(geom)
        forest = np.isin(lc, [c for c in T.FOREST_CLASSES if c != "bamboo_forest"])
        age = np.full(n, "", dtype=object)
        stock = np.full(n, np.nan)
        nf = int(forest.sum())
        ages = rng.choice(len(T.AGE_CLASSES), size=nf, p=T.AGE_P)
        age[forest] = np.array(T.AGE_CLASSES, dtype=object)[ages]
        lo = np.array([T.STOCK_RANGE[a][0] for a in T.AGE_CLASSES])[ages]
        hi = np.array([T.STOCK_RANGE[a][1] for a in T.AGE_CLASSES])[ages]
        stock[forest] = np.round(rng.uniform(lo, hi), 1)
        reps = shapely.point_on_surface(geom) if n else np.empty(0, object)
        self.layers["landcover"] = _frame("landcover", {
            "landcover_id": [f"{self.cid}-lc-{i:06d}" for i in range(n)],
            "lc_class": lc, "source_scheme": ["modis_igbp"] * n,
            "source_class": codes[ci].astype(str) if n else [],
            "area_m2": area, "forest_age_class": age, "growing_stock_m3_per_ha": stock,
            "district_adcode": np.array(self.adc, dtype=object)[dk] if n else [],
            "township_code": _locate(reps, self.t_geom, self.t_code)}, geom, self.seed)
        self.lc_cell = np.stack([rows[ci], cols[ci]], axis=1) if n else np.empty((0, 2))

    # ------------------------------------------------------------------- finish
    def _finish(self):
        # water layer: big water + ponds
        rows = self.big_water
        geoms = [r[0] for r in rows] + list(self.pond_polys)
        wtype = [r[1] for r in rows] + ["pit_pond" if p else "pond" for p in
                                        getattr(self, "pond_pit", [])]
        name = [r[2] for r in rows] + [""] * len(self.pond_polys)
        prot = [r[3] for r in rows] + [False] * len(self.pond_polys)
        drink = [r[4] for r in rows] + [False] * len(self.pond_polys)
        aq = [False] * len(rows) + [True] * len(self.pond_polys)
        geoms = np.array(geoms, dtype=object)
        n = len(geoms)
        reps = shapely.point_on_surface(geoms) if n else np.empty(0, object)
        self.layers["water"] = _frame("water", {
            "water_id": [f"{self.cid}-w-{i:06d}" for i in range(n)],
            "water_type": wtype, "name": name, "area_m2": shapely.area(geoms) if n else [],
            "is_protected": prot, "is_drinking_source": drink, "is_aquaculture": aq,
            "district_adcode": _locate(reps, self.geoms, self.adc),
            "township_code": _locate(reps, self.t_geom, self.t_code)}, geoms, self.seed)
        gr = self.green
        geoms = np.array([o[0] for o in gr], dtype=object)
        n = len(geoms)
        tier_zh = {"city": "市级", "community": "社区", "pocket": "口袋", "country": "郊野"}
        names = [f"合成{tier_zh[o[2]]}公园 synthetic {o[2]} park" if o[1] == "park" else ""
                 for o in gr]
        reps = shapely.point_on_surface(geoms) if n else np.empty(0, object)
        self.layers["green_space"] = _frame("green_space", {
            "green_id": [f"{self.cid}-g-{i:05d}" for i in range(n)],
            "green_type": [o[1] for o in gr], "name": names, "park_tier": [o[2] for o in gr],
            "area_m2": shapely.area(geoms) if n else [],
            "district_adcode": [self.adc[o[3]] for o in gr],
            "township_code": _locate(reps, self.t_geom, self.t_code)}, geoms, self.seed)
        order = ["townships", "buildings", "water", "landcover", "roads", "charging_stations",
                 "service_areas", "bus_stops", "green_space"]
        self.layers = {k: self.layers[k] for k in order}
