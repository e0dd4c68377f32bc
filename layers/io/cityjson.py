"""CityJSON 2.0 export and import of the buildings layer (CIM2 = LOD1, CIM3 = LOD2).

:func:`buildings_to_cityjson` turns the twin's buildings (footprint + ``height_m`` +
``roof_type``) into a CityJSON 2.0 document that cjio, QGIS, ninja and the 3D BAG
tools read: one ``Building`` per row, keyed by ``building_id``, with

* an **LOD1** block (``"lod": "1"``): the footprint extruded from z = 0 to
  ``height_m``, holes included, one wall quad per ring edge, semantic surfaces
  ``GroundSurface`` / ``WallSurface`` / ``RoofSurface``;
* an **LOD2** roof (``"lod": "2"``, i.e. Biljecki's LOD2.0: roof form without
  superstructures or overhangs) for ``gable`` and ``hip`` roofs whose footprint is
  a single ring that fills at least ``min_rect_ratio`` (0.95) of its minimum
  rotated rectangle. The LOD2 solid is built on that rectangle, not on the raw
  footprint: the ridge runs along the rectangle's long axis at ``height_m``; the
  eaves lie at ``height_m - rise`` with ``rise = (width / 2) * tan(roof_pitch_deg)``
  (default pitch 25°, an assumed typical pitch: no measured roof pitches are available
  for the pilot cities, so pass ``roof_pitch_deg`` from local data). When that rise would
  exceed half of ``height_m`` it is capped there (the roof is then flatter than the
  nominal pitch). A gable roof has two sloped roof planes and two pentagonal gable
  walls; a hip roof has two trapezoidal and two triangular roof planes (a pyramid
  for a square). Buildings that fail these tests get LOD1 only.

Every solid is closed and 2-manifold (each edge is used by exactly two faces, in
opposite directions) and every face is oriented outwards (the outer ring is
counter-clockwise seen from outside, as CityJSON requires). Vertices are stored
once, as integers on a 1 mm grid (``transform.scale`` = 0.001).

MultiPolygon footprints become a ``MultiSolid`` (one closed solid per part). A
``CompositeSolid`` would claim that its solids share faces, which disjoint parts
do not; ``MultiSolid`` carries no such topological promise, and cjio reads both
the same way.

:func:`cityjson_to_buildings` is the inverse: it reads ``Building`` objects (and
the geometry of their ``BuildingPart`` children), takes each building's lowest
LOD, and rebuilds the footprint (its ``GroundSurface``, or the faces at the lowest
z), ``height_m`` (max z - min z; for LOD2 and above the ``height_m`` attribute when
present) and the schema columns from the attributes.

References
----------
.. [1] CityJSON 2.0 specification, https://www.cityjson.org/specs/2.0.0/
.. [2] Biljecki, F., Ledoux, H., Stoter, J. (2016). An improved LOD specification
   for 3D building models. Computers, Environment and Urban Systems 59, 25-37.
   https://doi.org/10.1016/j.compenvurbsys.2016.04.005
"""

from __future__ import annotations

import json
import logging
import math
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from twin.crs import parse_crs, require_projected
from twin.errors import CRSWarning, SchemaError, SourceError, listing, require_columns
from twin.fsutil import atomic_write_text
from twin.schema import FIELDS, LAYERS

__all__ = [
    "CITYJSON_VERSION",
    "DEFAULT_ROOF_PITCH_DEG",
    "MIN_RECT_RATIO",
    "SCALE",
    "buildings_to_cityjson",
    "cityjson_to_buildings",
    "read_cityjson",
    "write_cityjson",
]

logger = logging.getLogger(__name__)

#: CityJSON version written and read.
CITYJSON_VERSION = "2.0"
#: Vertex grid [m]: ``transform.scale`` of every exported file (1 mm).
SCALE = 0.001
#: Default roof pitch of LOD2 gable and hip roofs [°].
DEFAULT_ROOF_PITCH_DEG = 25.0
#: Minimum footprint area / minimum-rotated-rectangle area for an LOD2 roof [-].
MIN_RECT_RATIO = 0.95

_SPEC = LAYERS["buildings"]
_SEMANTICS = [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}]
_GROUND, _WALL, _ROOF = 0, 1, 2
_SOLID_TYPES = ("Solid", "MultiSolid", "CompositeSolid")
_SURFACE_TYPES = ("MultiSurface", "CompositeSurface")
_EPSG_RE = re.compile(r"EPSG(?:/\d+/|::|:)(\d+)\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------


class _Vertices:
    """Integer vertices on the 1 mm grid, deduplicated."""

    def __init__(self, translate):
        self.translate = translate
        self.index: dict[tuple[int, int, int], int] = {}
        self.coords: list[list[int]] = []

    def add(self, x: float, y: float, z: float) -> int:
        tx, ty, tz = self.translate
        key = (round((x - tx) / SCALE), round((y - ty) / SCALE), round((z - tz) / SCALE))
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.coords)
            self.coords.append(list(key))
        return i

    def ring(self, points) -> list[int]:
        return [self.add(*p) for p in points]


def _rings_ccw(poly: Polygon):
    """Exterior counter-clockwise, holes clockwise (seen from above), without closing point."""
    poly = orient(poly, sign=1.0)
    rings = [poly.exterior, *poly.interiors]
    return [list(r.coords)[:-1] for r in rings]


def _lod1_shell(poly: Polygon, height: float, verts: _Vertices):
    """Faces (list of rings of vertex ids) and semantic values of one extruded polygon."""
    rings = _rings_ccw(poly)
    faces, values = [], []
    # floor seen from below: every ring reversed
    faces.append([verts.ring([(x, y, 0.0) for x, y in reversed(r)]) for r in rings])
    values.append(_GROUND)
    # roof seen from above: rings as they are (exterior CCW, holes CW)
    faces.append([verts.ring([(x, y, height) for x, y in r]) for r in rings])
    values.append(_ROOF)
    # walls: for a CCW exterior and CW holes the solid is on the left of every edge,
    # so the quad (a0, b0, b1, a1) has its normal on the right, i.e. outwards
    for r in rings:
        for (ax, ay), (bx, by) in zip(r, r[1:] + r[:1], strict=True):
            faces.append([verts.ring([(ax, ay, 0.0), (bx, by, 0.0), (bx, by, height),
                                      (ax, ay, height)])])
            values.append(_WALL)
    return faces, values


def _rectangle(poly: Polygon):
    """Corners P0..P3 (CCW) of the minimum rotated rectangle with P0->P1 a long side."""
    rect = orient(shapely.oriented_envelope(poly), sign=1.0)
    pts = [np.array(p, dtype=float) for p in list(rect.exterior.coords)[:4]]
    if np.linalg.norm(pts[1] - pts[0]) < np.linalg.norm(pts[2] - pts[1]):
        pts = pts[1:] + pts[:1]
    length = float(np.linalg.norm(pts[1] - pts[0]))
    width = float(np.linalg.norm(pts[2] - pts[1]))
    return pts, length, width


def _lod2_geometry(poly, height, roof_type, pitch_deg, min_ratio):
    """LOD2 corner points and faces (as 3D point rings) or None when LOD1 only applies."""
    if not isinstance(poly, Polygon) or len(poly.interiors) > 0:
        return None
    pts, length, width = _rectangle(poly)
    if width < 0.1 or poly.area < min_ratio * length * width:
        return None
    rise = min(0.5 * width * math.tan(math.radians(pitch_deg)), 0.5 * height)
    eaves = height - rise
    p0, p1, p2, p3 = pts
    u = (p1 - p0) / length  # along the ridge

    def at(p, z):
        return (float(p[0]), float(p[1]), float(z))

    b = [at(p, 0.0) for p in pts]
    e = [at(p, eaves) for p in pts]
    mid_a = (p3 + p0) / 2  # middle of the short side P3-P0
    mid_b = (p1 + p2) / 2  # middle of the short side P1-P2
    faces = [([[b[0], b[3], b[2], b[1]]], _GROUND)]
    if roof_type == "gable":
        r0, r1 = at(mid_a, height), at(mid_b, height)
        faces += [
            ([[b[0], b[1], e[1], e[0]]], _WALL),
            ([[b[2], b[3], e[3], e[2]]], _WALL),
            ([[b[1], b[2], e[2], r1, e[1]]], _WALL),  # pentagonal gable walls
            ([[b[3], b[0], e[0], r0, e[3]]], _WALL),
            ([[e[0], e[1], r1, r0]], _ROOF),
            ([[e[2], e[3], r0, r1]], _ROOF),
        ]
    else:  # hip: ridge inset by width/2 from both short sides (equal pitch all round)
        faces += [([[b[i], b[(i + 1) % 4], e[(i + 1) % 4], e[i]]], _WALL) for i in range(4)]
        if length - width < 0.01:  # square: pyramid
            apex = at((p0 + p2) / 2, height)
            faces += [([[e[i], e[(i + 1) % 4], apex]], _ROOF) for i in range(4)]
        else:
            r0 = at(mid_a + u * width / 2, height)
            r1 = at(mid_b - u * width / 2, height)
            faces += [
                ([[e[0], e[1], r1, r0]], _ROOF),
                ([[e[2], e[3], r0, r1]], _ROOF),
                ([[e[1], e[2], r1]], _ROOF),
                ([[e[3], e[0], r0]], _ROOF),
            ]
    return faces


def _json_value(value):
    """A JSON-safe scalar, or None for missing values (NaN, None, NA)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return str(value)


def _check_buildings(buildings) -> int:
    """Validate the input frame; return its EPSG code."""
    if not isinstance(buildings, gpd.GeoDataFrame):
        msg = f"buildings_to_cityjson needs a GeoDataFrame, got {type(buildings).__name__}"
        raise SchemaError(msg)
    crs = require_projected(buildings.crs, what="buildings for CityJSON export")
    epsg = crs.to_epsg()
    if epsg is None:
        msg = (
            f"buildings for CityJSON export: CRS {crs.to_string()} has no EPSG code, which "
            "CityJSON's metadata.referenceSystem needs; reproject with to_crs('EPSG:4549')"
        )
        raise SchemaError(msg)
    require_columns(buildings, ("building_id", "height_m"), "buildings for CityJSON export",
                    "conform the layer first (layers.conform.conform_layer(gdf, 'buildings'))")
    if len(buildings) == 0:
        msg = "buildings for CityJSON export: the frame has no rows"
        raise SchemaError(msg)
    ids = buildings["building_id"].astype("object")
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        msg = (
            f"buildings for CityJSON export: building_id is blank in rows "
            f"{listing(buildings.index[blank])}; every building needs an id"
        )
        raise SchemaError(msg)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        msg = (
            f"buildings for CityJSON export: duplicate building_id {listing(dup.unique())}; "
            "CityJSON keys CityObjects by id, so ids must be unique"
        )
        raise SchemaError(msg)
    height = pd.to_numeric(buildings["height_m"], errors="coerce")
    bad = ~(height > 0) | ~np.isfinite(height)
    if bad.any():
        offenders = [f"{i}={v}" for i, v in zip(ids[bad], buildings["height_m"][bad], strict=True)]
        msg = (
            f"buildings for CityJSON export: height_m must be a number > 0 m to extrude a "
            f"solid; building_id {listing(offenders)}; fix or estimate these heights"
        )
        raise SchemaError(msg)
    geoms = buildings.geometry.values
    types = shapely.get_type_id(geoms)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms) | ~np.isin(types, [3, 6])
    if bad.any():
        msg = (
            f"buildings for CityJSON export: building_id {listing(ids[bad])} have no "
            "Polygon/MultiPolygon footprint; drop them or fix their geometry"
        )
        raise SchemaError(msg)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        msg = (
            f"buildings for CityJSON export: building_id {listing(ids[bad])} have invalid "
            "footprints (self-intersections, ...); repair them with shapely.make_valid or "
            "layers.conform.conform_layer before export"
        )
        raise SchemaError(msg)
    return epsg


def buildings_to_cityjson(
    buildings: gpd.GeoDataFrame,
    *,
    lod2: bool = True,
    title: str | None = None,
    roof_pitch_deg: float = DEFAULT_ROOF_PITCH_DEG,
    min_rect_ratio: float = MIN_RECT_RATIO,
) -> dict:
    """Build a CityJSON 2.0 document from the buildings layer.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Buildings in a projected CRS with an EPSG code (EPSG:4549 in the twin),
        columns per :data:`twin.schema.LAYERS` ``["buildings"]``; at least
        ``building_id`` and ``height_m`` [m]. Footprints are Polygons or
        MultiPolygons, holes allowed.
    lod2 : bool, default True
        Add an LOD2 roof for ``gable`` and ``hip`` buildings whose footprint is close
        to its minimum rotated rectangle (see the module docstring).
    title : str, optional
        ``metadata.title`` of the document.
    roof_pitch_deg : float, default 25
        Pitch of LOD2 roofs [°].
    min_rect_ratio : float, default 0.95
        Minimum footprint area / minimum-rotated-rectangle area for LOD2 [-].

    Returns
    -------
    dict
        The CityJSON document (``json.dumps`` it, or use :func:`write_cityjson`).
        Vertices are integers with ``transform.scale`` 0.001 (1 mm); footprints and
        heights are snapped to that grid. Attributes are the schema columns present
        in the frame (except ``building_id``, the key); missing values (NaN, None)
        are left out; non-schema columns are not exported.

    Raises
    ------
    SchemaError
        Not a GeoDataFrame, no CRS / geographic CRS / CRS without EPSG code, missing
        ``building_id`` or ``height_m``, blank or duplicate ids, heights not > 0,
        empty, non-polygonal or invalid footprints.
    """
    epsg = _check_buildings(buildings)
    if np.asarray(shapely.has_z(buildings.geometry.values)).any():
        # the footprint is extruded from z=0 to height_m: a Z on the footprint has no place
        # in the solid (and would not fit the 2D rings), so it is dropped
        buildings = buildings.set_geometry(gpd.GeoSeries(shapely.force_2d(buildings.geometry.values),
                                                         index=buildings.index, crs=buildings.crs))
    if not 0.0 < roof_pitch_deg < 90.0:
        msg = f"roof_pitch_deg must be in (0, 90) degrees, got {roof_pitch_deg}"
        raise SchemaError(msg)
    geoms = shapely.set_precision(buildings.geometry.values, SCALE)
    ids = buildings["building_id"].astype(str).to_numpy()
    lost = shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), [3, 6])
    if lost.any():
        msg = (
            f"buildings for CityJSON export: footprints of building_id {listing(ids[lost])} "
            f"collapse on the {SCALE * 1000:g} mm vertex grid; remove these slivers"
        )
        raise SchemaError(msg)
    minx, miny, _, _ = shapely.total_bounds(geoms)
    translate = [float(math.floor(minx)), float(math.floor(miny)), 0.0]
    verts = _Vertices(translate)

    attr_cols = [c for c in _SPEC.columns if c in buildings.columns and c != "building_id"]
    extra = [c for c in buildings.columns if c not in _SPEC.columns and c != buildings.geometry.name]
    if extra:
        logger.info("CityJSON export: non-schema columns not exported: %s", listing(extra))
    heights = pd.to_numeric(buildings["height_m"]).to_numpy(dtype=float)
    roofs = (
        buildings["roof_type"].astype(str).to_numpy()
        if "roof_type" in buildings.columns else np.full(len(buildings), "unknown")
    )
    attrs = buildings[attr_cols].to_dict("records")

    city_objects = {}
    n_lod2 = 0
    for bid, geom, height, roof, row in zip(ids, geoms, heights, roofs, attrs, strict=True):
        parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
        solids, values = [], []
        for part in parts:
            faces, vals = _lod1_shell(part, float(height), verts)
            solids.append([faces])
            values.append([vals])
        if len(parts) == 1:
            lod1 = {"type": "Solid", "lod": "1", "boundaries": solids[0],
                    "semantics": {"surfaces": _SEMANTICS, "values": values[0]}}
        else:
            lod1 = {"type": "MultiSolid", "lod": "1", "boundaries": solids,
                    "semantics": {"surfaces": _SEMANTICS, "values": values}}
        geometry = [lod1]
        if lod2 and roof in ("gable", "hip"):
            faces2 = _lod2_geometry(geom, float(height), roof, roof_pitch_deg, min_rect_ratio)
            if faces2 is not None:
                shell = [[verts.ring(r) for r in rings] for rings, _ in faces2]
                geometry.append({"type": "Solid", "lod": "2", "boundaries": [shell],
                                 "semantics": {"surfaces": _SEMANTICS,
                                               "values": [[v for _, v in faces2]]}})
                n_lod2 += 1
        attributes = {}
        for col in attr_cols:
            value = _json_value(row[col])
            if value is not None:
                attributes[col] = value
        city_objects[bid] = {"type": "Building", "attributes": attributes, "geometry": geometry}

    coords = np.asarray(verts.coords, dtype=np.int64).reshape(-1, 3)
    lo = coords.min(axis=0) * SCALE + translate
    hi = coords.max(axis=0) * SCALE + translate
    metadata = {
        "referenceSystem": f"https://www.opengis.net/def/crs/EPSG/0/{epsg}",
        "geographicalExtent": [round(float(v), 3) for v in (*lo, *hi)],
    }
    if title:
        metadata["title"] = str(title)
    logger.debug("CityJSON export: %d buildings, %d with LOD2, %d vertices",
                 len(city_objects), n_lod2, len(coords))
    return {
        "type": "CityJSON",
        "version": CITYJSON_VERSION,
        "transform": {"scale": [SCALE, SCALE, SCALE], "translate": translate},
        "metadata": metadata,
        "CityObjects": city_objects,
        "vertices": verts.coords,
    }


def write_cityjson(buildings: gpd.GeoDataFrame, path, **kw) -> Path:
    """Write the buildings layer as a CityJSON 2.0 file (UTF-8, atomically).

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        As for :func:`buildings_to_cityjson`.
    path : path-like
        Target file, conventionally ``*.city.json``.
    **kw
        Passed to :func:`buildings_to_cityjson` (``lod2``, ``title``, ...).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    doc = buildings_to_cityjson(buildings, **kw)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    atomic_write_text(path, text, encoding="utf-8")
    return Path(path)


# --------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------


def _epsg_from_doc(doc: dict):
    ref = (doc.get("metadata") or {}).get("referenceSystem")
    if not ref:
        return None
    m = _EPSG_RE.search(str(ref).strip())
    if m is None:
        msg = (
            f"CityJSON metadata.referenceSystem {ref!r} is not an EPSG URL such as "
            "'https://www.opengis.net/def/crs/EPSG/0/4549'; fix it or pass crs="
        )
        raise SchemaError(msg)
    return int(m.group(1))


def _surfaces(oid: str, geom: dict):
    """(rings, semantic type or None) for each surface of the outer shell(s)."""
    gtype = geom.get("type")
    bnd = geom.get("boundaries")
    sem = geom.get("semantics") or {}
    surfaces = sem.get("surfaces") or []
    values = sem.get("values")
    if gtype in _SURFACE_TYPES:
        groups = [(bnd, values)]
    elif gtype == "Solid":
        groups = [(bnd[0], values[0] if values else None)]
    else:  # MultiSolid, CompositeSolid
        groups = [(solid[0], values[i][0] if values else None) for i, solid in enumerate(bnd)]
    out = []
    for faces, vals in groups:
        for j, rings in enumerate(faces):
            kind = None
            if vals is not None and vals[j] is not None:
                kind = surfaces[vals[j]].get("type")
            out.append((rings, kind))
    if not out:
        msg = f"CityJSON object {oid!r}: its {gtype} geometry has no surfaces"
        raise SchemaError(msg)
    return out


def _footprint_and_z(oid: str, geom: dict, vertices: np.ndarray):
    """Footprint polygon(s) and (zmin, zmax) of one geometry."""
    try:
        faces = _surfaces(oid, geom)
        idx = np.fromiter(
            (i for rings, _ in faces for ring in rings for i in ring), dtype=np.int64
        )
    except (TypeError, IndexError, KeyError, ValueError, AttributeError) as exc:
        msg = (
            f"CityJSON object {oid!r}: malformed {geom.get('type')} boundaries or semantics "
            f"({exc}); validate the file (e.g. https://validator.cityjson.org) and re-export it"
        )
        raise SchemaError(msg) from None
    if idx.size == 0:
        msg = f"CityJSON object {oid!r}: its {geom.get('type')} geometry has no vertices"
        raise SchemaError(msg)
    bad = (idx < 0) | (idx >= len(vertices))
    if bad.any():
        msg = (
            f"CityJSON object {oid!r} references vertex index {int(idx[bad][0])}, but the "
            f"file's {len(vertices)} vertices are numbered 0..{len(vertices) - 1}; the file is "
            "truncated or corrupt: re-export it"
        )
        raise SchemaError(msg)
    zs = vertices[idx, 2]
    zmin, zmax = float(zs.min()), float(zs.max())
    ground = [rings for rings, kind in faces if kind == "GroundSurface"]
    if not ground:  # no semantics: the horizontal faces at the lowest z
        ground = [rings for rings, _ in faces
                  if all(np.all(vertices[ring, 2] <= zmin + SCALE) for ring in rings)]
    polys = []
    for rings in ground:
        shell = vertices[rings[0], :2]
        holes = [vertices[r, :2] for r in rings[1:]]
        if len(shell) >= 3:
            polys.append(orient(Polygon(shell, holes), sign=1.0))
    polys = [p for p in polys if p.area > 0]
    if not polys:
        msg = (
            f"CityJSON object {oid!r}: no GroundSurface and no horizontal faces at its lowest "
            "z, so its footprint cannot be derived; add GroundSurface semantics"
        )
        raise SchemaError(msg)
    footprint = polys[0] if len(polys) == 1 else shapely.union_all(polys)
    return footprint, zmin, zmax


def _lod_value(geom: dict) -> float:
    try:
        return float(geom.get("lod"))
    except (TypeError, ValueError):
        return math.inf


def _pick_geometry(oid: str, obj: dict):
    """The lowest-LOD solid or surface geometry of a CityObject, or None."""
    geoms = [g for g in obj.get("geometry") or [] if isinstance(g, dict) and
             g.get("type") in (*_SOLID_TYPES, *_SURFACE_TYPES)]
    if not geoms:
        if obj.get("geometry"):
            kinds = sorted({str(g.get("type")) if isinstance(g, dict) else "malformed"
                            for g in obj["geometry"]})
            msg = (
                f"CityJSON object {oid!r} only has {', '.join(kinds)} geometry; the importer "
                "reads Solid, MultiSolid, CompositeSolid, MultiSurface and CompositeSurface "
                "(geometry templates are not supported)"
            )
            raise SchemaError(msg)
        return None
    return min(geoms, key=_lod_value)


def _typed_column(name: str, values: list, ids: list, defaults: dict):
    """A column with the dtype declared in twin.schema, checking ranges and categories."""
    f = FIELDS[name]
    default = defaults.get(name)
    filled = [default if v is None else v for v in values]
    where = f"CityJSON attribute {name!r}"
    if f.dtype in ("string", "category"):
        col = pd.Series(["" if v is None else str(v) for v in filled], dtype="str")
        if f.allowed is not None:
            bad = ~col.isin(f.allowed) & (col != "")
            if bad.any():
                offenders = [f"{i}={v!r}" for i, v in zip(np.asarray(ids)[bad], col[bad],
                                                           strict=True)]
                msg = (
                    f"{where}: {listing(offenders)} not among "
                    f"{', '.join(repr(a) for a in f.allowed)}; map them to these classes"
                )
                raise SchemaError(msg)
        return col
    if f.dtype == "bool":
        bad = [i for i, v in zip(ids, filled, strict=True) if v is not None and
               not isinstance(v, bool)]
        if bad:
            msg = f"{where} must be true/false; building ids {listing(bad)}"
            raise SchemaError(msg)
        return pd.Series([bool(v) for v in filled], dtype=bool)
    num = pd.to_numeric(pd.Series(filled, dtype="object"), errors="coerce")
    bad = num.isna() & pd.Series([v is not None for v in filled])
    if f.dtype == "int64":
        bad |= num.notna() & (num % 1 != 0)
    if bad.any():
        msg = f"{where} must be {f.dtype}; building ids {listing(np.asarray(ids)[bad])}"
        raise SchemaError(msg)
    out_of_range = pd.Series(False, index=num.index)
    if f.minimum is not None:
        out_of_range |= num < f.minimum
    if f.maximum is not None:
        out_of_range |= num > f.maximum
    if out_of_range.any():
        offenders = [f"{i}={v}" for i, v in zip(np.asarray(ids)[out_of_range], num[out_of_range],
                                                strict=True)]
        msg = (
            f"{where} outside its plausible range [{f.minimum}, {f.maximum}] {f.unit}: "
            f"{listing(offenders)}"
        )
        raise SchemaError(msg)
    if f.dtype == "float64":
        return num.astype("float64")
    return num.astype("int64") if num.notna().all() else num.astype("Int64")


def cityjson_to_buildings(doc: dict, *, crs=None) -> gpd.GeoDataFrame:
    """Read the buildings of a CityJSON 2.0 document into the twin's buildings schema.

    Parameters
    ----------
    doc : dict
        A parsed CityJSON 2.0 document.
    crs : optional
        CRS of the coordinates when the document has no ``metadata.referenceSystem``;
        if both are given and differ, ``crs`` wins and a :class:`CRSWarning` is issued.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per ``Building`` (in document order, on a RangeIndex): ``building_id``
        (the CityObject key), ``height_m`` [m], the other schema columns of
        ``LAYERS["buildings"]`` (from the attributes; missing values get the schema
        defaults, ``""`` for text, NaN for floats, ``<NA>`` in an ``Int64`` column
        for counts), any non-schema attributes as extra columns, and the footprint
        ``geometry`` (Polygon or MultiPolygon). Pass the result through
        :func:`layers.conform.conform_layer` to derive missing columns.

    Raises
    ------
    SchemaError
        Not a CityJSON document, a version other than 2.0, no ``Building`` objects,
        a building without usable geometry, vertex indices out of range, attributes
        of the wrong type or outside their range/categories, no CRS.
    """
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        msg = f"not a CityJSON document (its 'type' is {got!r}, expected 'CityJSON')"
        raise SchemaError(msg)
    version = str(doc.get("version"))
    if version != CITYJSON_VERSION:
        msg = (
            f"CityJSON version {version!r} is not supported (only {CITYJSON_VERSION}); "
            "upgrade the file with `cjio FILE upgrade save FILE_V2.city.json`"
        )
        raise SchemaError(msg)
    objects = doc.get("CityObjects")
    raw_vertices = doc.get("vertices")
    if not isinstance(objects, dict) or not isinstance(raw_vertices, list):
        msg = "CityJSON document lacks its 'CityObjects' object or 'vertices' array"
        raise SchemaError(msg)
    try:
        vertices = np.asarray(raw_vertices, dtype=float)
        if vertices.size == 0:
            vertices = vertices.reshape(0, 3)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            msg = f"each vertex must be [x, y, z], got an array of shape {vertices.shape}"
            raise ValueError(msg)
        tr = doc.get("transform") or {"scale": [1, 1, 1], "translate": [0, 0, 0]}
        vertices = vertices * np.asarray(tr["scale"], float) + np.asarray(tr["translate"], float)
    except (ValueError, TypeError, KeyError) as exc:
        msg = f"CityJSON 'vertices' or 'transform' are malformed ({exc}); re-export the file"
        raise SchemaError(msg) from None

    epsg = _epsg_from_doc(doc)
    if crs is not None:
        crs = parse_crs(crs, what="crs")
        if epsg is not None and crs.to_epsg() != epsg:
            msg = f"CityJSON says EPSG:{epsg} but crs={crs.to_string()} was given; using the latter"
            warnings.warn(msg, CRSWarning, stacklevel=2)
    elif epsg is not None:
        crs = parse_crs(f"EPSG:{epsg}", what="CityJSON metadata.referenceSystem")
    else:
        msg = (
            "CityJSON document has no metadata.referenceSystem; pass crs= (e.g. 'EPSG:4549') "
            "or assign one with `cjio FILE crs_assign 4549 save FILE`"
        )
        raise SchemaError(msg)

    building_ids = [k for k, o in objects.items() if isinstance(o, dict) and
                    o.get("type") == "Building"]
    if not building_ids:
        kinds = sorted({str(o.get("type")) for o in objects.values() if isinstance(o, dict)})
        msg = (
            f"CityJSON document has no Building objects (found {', '.join(kinds) or 'none'}); "
            "only buildings are imported"
        )
        raise SchemaError(msg)

    rows, footprints = [], []
    for bid in building_ids:
        obj = objects[bid]
        sources = [(bid, obj)]
        geom = _pick_geometry(bid, obj)
        if geom is None:  # geometry on the BuildingPart children
            sources = []
            for child in obj.get("children") or []:
                part = objects.get(child)
                if not isinstance(part, dict):
                    msg = (
                        f"CityJSON Building {bid!r} lists child {child!r}, which is not among "
                        "the CityObjects; the file is incomplete"
                    )
                    raise SchemaError(msg)
                if part.get("type") == "BuildingPart":
                    sources.append((child, part))
        pieces = []
        for oid, o in sources:
            g = _pick_geometry(oid, o)
            if g is not None:
                pieces.append((g, *_footprint_and_z(oid, g, vertices)))
        if not pieces:
            msg = (
                f"CityJSON Building {bid!r} has no geometry (nor BuildingPart children with "
                "geometry); give it an LOD1 or LOD2 solid"
            )
            raise SchemaError(msg)
        footprint = (pieces[0][1] if len(pieces) == 1
                     else shapely.union_all([p[1] for p in pieces]))
        height = max(p[3] for p in pieces) - min(p[2] for p in pieces)
        attributes = dict(obj.get("attributes") or {})
        lod = min(_lod_value(p[0]) for p in pieces)
        if lod >= 2:
            for key in ("height_m", "measuredHeight"):
                value = attributes.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                    height = float(value)
                    break
        attributes.pop("height_m", None)
        attributes.pop("building_id", None)
        rows.append({"building_id": str(bid), "height_m": round(height, 6), **attributes})
        footprints.append(footprint)

    ids = [r["building_id"] for r in rows]
    title = (doc.get("metadata") or {}).get("title")
    defaults = {**_SPEC.defaults, "is_synthetic": False,
                "source": f"CityJSON {title}" if title else "CityJSON import"}
    data = {"building_id": pd.Series(ids, dtype="str"),
            "height_m": _typed_column("height_m", [r["height_m"] for r in rows], ids, {})}
    for col in _SPEC.columns:
        if col not in data:
            data[col] = _typed_column(col, [r.get(col) for r in rows], ids, defaults)
    extra = sorted({k for r in rows for k in r} - set(data))
    for col in extra:
        data[col] = pd.Series([r.get(col) for r in rows], dtype="object").infer_objects()
    frame = pd.DataFrame(data)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(footprints).values, crs=crs)


def read_cityjson(path, *, crs=None) -> gpd.GeoDataFrame:
    """Read a CityJSON 2.0 file into the buildings schema (see :func:`cityjson_to_buildings`).

    Parameters
    ----------
    path : path-like
        A ``*.city.json`` file (UTF-8; CityJSONSeq ``.jsonl`` is not supported).
    crs : optional
        As for :func:`cityjson_to_buildings`.

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    SourceError
        Missing, empty, non-UTF-8, truncated or otherwise invalid JSON file.
    SchemaError
        Valid JSON that is not usable CityJSON; the message starts with the file name.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"{path}: cannot read the CityJSON file ({exc.strerror or exc})"
        raise SourceError(msg) from None
    if not data.strip():
        msg = f"{path}: the CityJSON file is empty; re-export or re-download it"
        raise SourceError(msg)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = (
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "CityJSON must be UTF-8: re-save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)"
        )
        raise SourceError(msg) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Extra data"):
            hint = "it looks like CityJSONSeq (one object per line), which is not supported"
        elif not text.rstrip().endswith("}"):
            hint = "the file does not end with '}': it is truncated, re-export or re-download it"
        else:
            hint = "fix or re-export the file"
        msg = f"{path}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); {hint}"
        raise SourceError(msg) from None
    try:
        return cityjson_to_buildings(doc, crs=crs)
    except SchemaError as exc:
        msg = f"{path}: {exc}"
        raise SchemaError(msg) from None
