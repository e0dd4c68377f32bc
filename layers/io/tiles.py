"""Vector tiles of a twin: the tile pyramid's plan (pure) and the PMTiles archive (IO).

A twin's layers become Mapbox Vector Tile (MVT 2.1) layers in one PMTiles v3 archive,
Web Mercator (EPSG:3857, the XYZ / OGC WebMercatorQuad scheme), gzip-compressed tiles.
Which layer appears from which zoom, and what is left out below the archive's maximum
zoom, is decided here (:func:`plan_pyramid`): at the maximum zoom every feature is in
(a client overzooms beyond it); below it a feature smaller than :attr:`TileLayer.min_px`
screen pixels (its bounding box's larger side, 256-pixel tiles) is dropped, and a tile
still larger than :data:`MAX_TILE_BYTES` is thinned (:func:`thinning_steps`).

The tiles themselves are cut and encoded in DuckDB (``ST_AsMVTGeom`` / ``ST_AsMVT``,
:meth:`twin.store.TwinStore.tile_source`); :func:`write_pmtiles` writes the archive
atomically (a temporary file beside the target, renamed over it at the end).

References
----------
Mapbox Vector Tile Specification 2.1, https://github.com/mapbox/vector-tile-spec;
PMTiles v3 specification, https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md;
TileJSON 3.0.0 (``vector_layers``), https://github.com/mapbox/tilejson-spec.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.errors import ConfigError, SourceError
from twin.schema import FIELDS, describe

__all__ = [
    "DEFAULT_LAYERS",
    "EXTENT",
    "MAX_TILE_BYTES",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "TILES_DIR",
    "TileLayer",
    "ZoomPlan",
    "archive_path",
    "attribution",
    "check_target",
    "lonlat_to_tile",
    "plan_pyramid",
    "thinning_steps",
    "tile_bounds_lonlat",
    "tile_span_m",
    "vector_layers",
    "write_pmtiles",
]

#: MVT grid size of a tile (the spec's default), and the clip buffer in tile units.
EXTENT = 4096
BUFFER = 64
#: The archive's zoom range by default: buildings need z13-z16, a client overzooms above.
MIN_ZOOM = 8
MAX_ZOOM = 16
#: Largest tile wanted (uncompressed MVT bytes): Mapbox/MapLibre's soft limit is 500 KB.
MAX_TILE_BYTES = 500_000
#: Half the width of the Web Mercator square [m] (pi x 6378137).
MERCATOR_HALF_M = math.pi * 6378137.0
#: Folder of a city's twin that holds its tile archives (``twin serve`` looks there).
TILES_DIR = "tiles"
#: Screen pixels of a tile side (what ``TileLayer.min_px`` counts in).
TILE_PX = 256


@dataclass(frozen=True)
class TileLayer:
    """One MVT layer of the archive, made from one catalog layer.

    Parameters
    ----------
    name : str
        MVT layer name (the catalog table's name).
    id_column : str
        The layer's id (written on every feature; the join and thinning key).
    columns : tuple of str
        Attribute columns written, when the catalog's table has them.
    min_zoom : int
        First zoom the layer appears in.
    min_px : float
        Below the archive's maximum zoom, leave out features whose bounding box's larger
        side is below this many screen pixels (0: keep all; points are never dropped so).
    join : (str, tuple of str), optional
        A result table and its columns joined on ``id_column`` when the catalog has it
        (buildings: ``pv_buildings``, the rooftop PV figures).
    description : str
        What the layer shows (TileJSON ``vector_layers``).
    """

    name: str
    id_column: str
    columns: tuple[str, ...]
    min_zoom: int
    min_px: float = 0.0
    join: tuple[str, tuple[str, ...]] | None = None
    description: str = ""


_PV = ("pv_capacity_kwp", "adopted_capacity_kwp", "pv_yield_kwh_per_yr", "specific_yield_kwh_per_kwp",
       "co2_avoided_t_co2_per_yr", "lcoe_cny_per_kwh")
_SITE = ("pv_site_id", "site_category", "name", "district_adcode", "usable_area_m2", "capacity_mwp",
         "specific_yield_kwh_per_kwp", "pv_energy_mwh_per_yr", "lcoe_cny_per_kwh", "is_synthetic", "source")

#: Every layer ``twin export tiles`` writes by default, in drawing order (bottom first).
DEFAULT_LAYERS: dict[str, TileLayer] = {t.name: t for t in (
    TileLayer("water", "water_id", ("water_id", "water_type", "name", "area_m2", "is_protected",
                                    "district_adcode", "is_synthetic", "source"),
              min_zoom=8, min_px=2.0, description="Water bodies"),
    TileLayer("green_space", "green_id", ("green_id", "green_type", "name", "park_tier", "area_m2",
                                          "district_adcode", "is_synthetic", "source"),
              min_zoom=10, min_px=2.0, description="Parks and green space"),
    TileLayer("water_pv_sites", "pv_site_id", _SITE, min_zoom=8, min_px=1.0,
              description="Water-surface PV sites (twin sites)"),
    TileLayer("ground_pv_sites", "pv_site_id", _SITE, min_zoom=8, min_px=1.0,
              description="Ground-mounted PV sites (twin sites)"),
    TileLayer("roads", "road_id", ("road_id", "road_class", "name", "speed_kmh", "is_oneway",
                                   "is_synthetic", "source"),
              min_zoom=8, min_px=4.0, description="Roads"),
    TileLayer("buildings", "building_id",
              ("building_id", "name", "height_m", "floors", "use_class", "roof_type",
               "footprint_area_m2", "district_adcode", "height_source", "is_synthetic", "source"),
              min_zoom=13, min_px=1.0, join=("pv_buildings", _PV),
              description="Every building, with its rooftop PV figures where `twin pv` ran"),
    TileLayer("charging_stations", "station_id", ("station_id", "name", "is_public", "piles", "power_kw",
                                                  "site_type", "is_synthetic", "source"),
              min_zoom=10, description="EV charging stations"),
    TileLayer("bus_stops", "stop_id", ("stop_id", "name", "is_synthetic", "source"),
              min_zoom=12, description="Bus and transit stops"),
    TileLayer("wind_sites", "site_id", ("site_id", "district_adcode", "turbine_type", "hub_height_m",
                                        "capacity_mw", "energy_mwh_per_yr", "capacity_factor",
                                        "full_load_hours", "is_viable", "is_screening_estimate",
                                        "is_synthetic", "source"),
              min_zoom=8, description="Wind turbine sites (twin sites)"),
)}


@dataclass(frozen=True)
class ZoomPlan:
    """What one zoom of the archive holds: per layer, the smallest feature kept [m]."""

    zoom: int
    min_size_m: Mapping[str, float] = field(default_factory=dict)


def archive_path(home: str | os.PathLike, city: str) -> Path:
    """Where ``twin export tiles`` writes a city's archive without ``--out``: ``<home>/<city>/tiles/``."""
    return Path(home) / city / TILES_DIR / f"{city}.pmtiles"


def tile_span_m(zoom: int) -> float:
    """Width of a Web Mercator tile at ``zoom`` [m, EPSG:3857 units]."""
    return 2 * MERCATOR_HALF_M / 2 ** zoom


def plan_pyramid(layers: Sequence[TileLayer], min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM
                 ) -> list[ZoomPlan]:
    """The zooms of the archive and what each holds (pure).

    Parameters
    ----------
    layers : sequence of TileLayer
        The layers (each appears from ``max(layer.min_zoom, min_zoom)``; a layer whose
        first zoom is above ``max_zoom`` appears at ``max_zoom``, so no layer is lost).
    min_zoom, max_zoom : int
        The archive's zoom range (0 <= min_zoom <= max_zoom <= 20).

    Returns
    -------
    list of ZoomPlan
        One per zoom, ascending. At ``max_zoom`` every feature is kept (size 0); below it
        a layer keeps features whose box's larger side is at least ``min_px`` screen
        pixels of ``tile_span_m(z) / 256`` metres. (Sizes are measured in the layer's
        metric CRS, Web Mercator stretches by 1/cos(latitude): a pixel at 30 deg N
        covers 0.87 of its Mercator width on the ground, so the rule is slightly generous.)

    Raises
    ------
    ConfigError
        A zoom range out of order or outside 0-20, or no layers.
    """
    for name, z in (("min zoom", min_zoom), ("max zoom", max_zoom)):
        if isinstance(z, bool) or not isinstance(z, int) or not 0 <= z <= 20:
            msg = f"{name} {z!r} must be a whole number from 0 to 20 (--min-zoom / --max-zoom)"
            raise ConfigError(msg)
    if min_zoom > max_zoom:
        msg = f"min zoom {min_zoom} is above max zoom {max_zoom}; pass --min-zoom <= --max-zoom"
        raise ConfigError(msg)
    if not layers:
        msg = "no layers to tile; pass --layers with at least one layer of the twin"
        raise ConfigError(msg)
    plans = []
    for z in range(min_zoom, max_zoom + 1):
        pixel_m = tile_span_m(z) / TILE_PX
        sizes = {t.name: (0.0 if z == max_zoom else t.min_px * pixel_m)
                 for t in layers if min(max(t.min_zoom, min_zoom), max_zoom) <= z}
        plans.append(ZoomPlan(z, sizes))
    return plans


def thinning_steps(min_size_m: float, zoom: int, rounds: int = 8) -> list[tuple[float, int]]:
    """Ever stricter ``(min_size_m, thin)`` for a tile over :data:`MAX_TILE_BYTES` (pure).

    Each step keeps half the features of the one before, chosen by the hash of their id
    (``thin`` = 2, 4, 8, ...), at the zoom's size threshold (at least one pixel): a raised
    size threshold would empty a tile of similar buildings at once, while thinning by id
    keeps the tile's pattern, and the same features by every rerun. ``zoom`` sets that
    pixel; ``rounds`` steps (1/256 of the features at the end by default).
    """
    size = max(min_size_m, tile_span_m(zoom) / TILE_PX)
    return [(size, 2 ** (i + 1)) for i in range(rounds)]


def lonlat_to_tile(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ tile ``(x, y)`` holding a WGS84 point at ``zoom``."""
    n = 2 ** zoom
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bounds_lonlat(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of an XYZ tile [deg, WGS84]."""
    n = 2 ** zoom

    def lat(yy: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def _field_type(name: str) -> str:
    f = FIELDS.get(name)
    if f is None:
        return "String"
    if f.dtype == "bool":
        return "Boolean"
    if f.dtype.startswith(("int", "float")):
        return "Number"
    return "String"


def vector_layers(layers: Sequence[TileLayer], columns: Mapping[str, Sequence[str]],
                  zooms: Mapping[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """TileJSON ``vector_layers``: each layer's fields with their units and meanings (schema).

    ``fields`` maps each attribute to its type and ``twin.schema.describe`` text (unit and
    meaning), e.g. ``"Number: pv_capacity_kwp [kWp]: ..."``.
    """
    out = []
    for t in layers:
        if t.name not in columns:
            continue
        fields = {c: f"{_field_type(c)}: {describe(c)}" if c in FIELDS else _field_type(c)
                  for c in columns[t.name]}
        lo, hi = zooms[t.name]
        out.append({"id": t.name, "description": t.description, "minzoom": lo, "maxzoom": hi,
                    "fields": fields})
    return out


def attribution(sources: Iterable[tuple[str, str, int, int]]) -> str:
    """The archive's attribution from each layer's ``(name, source, n_rows, n_synthetic)``.

    OpenStreetMap data is credited as ODbL 1.0 requires; synthetic rows are named as such
    (every feature also carries ``is_synthetic``).
    """
    osm = False
    synthetic = []
    other: set[str] = set()
    for name, source, n_rows, n_synth in sources:
        text = source or ""
        if "openstreetmap" in text.lower():
            osm = True
        if n_synth:
            synthetic.append(f"{name} {n_synth}/{n_rows}")
        for part in text.split(";"):
            part = part.strip()
            if part and "openstreetmap" not in part.lower() and not part.lower().startswith("synthetic"):
                other.add(part)
    parts = []
    if osm:
        parts.append("© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)")
    parts += sorted(other)
    if synthetic:
        parts.append("synthetic (carbon-twin generator; features flagged is_synthetic): "
                     + ", ".join(synthetic))
    return "; ".join(parts)


def check_target(path: str | os.PathLike) -> Path:
    """The export target, checked before any tile is cut.

    Raises
    ------
    SourceError
        It does not end in ``.pmtiles``, is a folder, or its folder is a file or read-only.
    """
    path = Path(path)
    if path.suffix.lower() != ".pmtiles":
        msg = (f"{path}: does not end in .pmtiles for the tile archive; rename the output file "
               f"(e.g. {path.with_suffix('.pmtiles').name})")
        raise SourceError(msg)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        msg = f"{path}: cannot write the export, {folder} is a file, not a folder; choose another output path"
        raise SourceError(msg)
    if path.is_dir():
        msg = f"{path}: is a folder; pass a file path ending in .pmtiles"
        raise SourceError(msg)
    probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), Path("."))
    if not os.access(probe, os.W_OK | os.X_OK):
        msg = (f"{path}: cannot write the export, the folder {probe} is read-only; choose a writable "
               "folder for the output file or change the folder's permissions")
        raise SourceError(msg)
    return path


def write_pmtiles(path: str | os.PathLike, tiles: Iterable[tuple[int, int, int, bytes]],
                  metadata: Mapping[str, Any], *, bounds: tuple[float, float, float, float],
                  center_zoom: int | None = None) -> dict[str, int]:
    """Write MVT tiles into a PMTiles v3 archive, atomically.

    Parameters
    ----------
    path : path-like
        Target file, ending in ``.pmtiles`` (:func:`check_target`).
    tiles : iterable of (z, x, y, bytes)
        Uncompressed MVT tiles, zoom by zoom in ascending order (any order within a zoom);
        each is gzip-compressed and written in PMTiles tile-id order (a clustered
        archive), one zoom held in memory at a time.
    metadata : mapping
        The archive's JSON metadata (``vector_layers``, ``attribution``, ...).
    bounds : (west, south, east, north)
        Extent of the data [deg, WGS84].
    center_zoom : int, optional
        Zoom of the archive's centre (default: its minimum zoom).

    Returns
    -------
    dict
        ``n_tiles``, ``bytes`` (file size), ``max_tile_bytes`` (largest uncompressed tile).

    Raises
    ------
    SourceError
        The target's suffix or folder is wrong, or it cannot be written; no tile at all.
    """
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    from twin.fsutil import atomic_path

    path = check_target(path)
    n = 0
    largest = 0
    zooms: list[int] = []
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            writer = Writer(fh)
            batch: list[tuple[int, bytes]] = []

            def flush() -> None:
                nonlocal n
                for tile_id, data in sorted(batch):
                    writer.write_tile(tile_id, gzip.compress(data, compresslevel=6, mtime=0))
                    n += 1
                batch.clear()

            for z, x, y, data in tiles:
                if zooms and z < zooms[-1]:
                    msg = f"tiles must come zoom by zoom, ascending: z{z} after z{zooms[-1]}"
                    raise ValueError(msg)
                if not zooms or z > zooms[-1]:
                    flush()
                    zooms.append(z)
                largest = max(largest, len(data))
                batch.append((zxy_to_tileid(z, x, y), data))
            flush()
            if not n:
                msg = (f"{path}: no tile to write (the layers asked hold no features); check "
                       "--layers and the twin")
                raise SourceError(msg)
            w, s, e, nn = bounds
            header = {
                "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
                "min_lon_e7": int(w * 1e7), "min_lat_e7": int(s * 1e7),
                "max_lon_e7": int(e * 1e7), "max_lat_e7": int(nn * 1e7),
                "center_zoom": zooms[0] if center_zoom is None else center_zoom,
                "center_lon_e7": int((w + e) / 2 * 1e7), "center_lat_e7": int((s + nn) / 2 * 1e7),
            }
            writer.finalize(header, dict(metadata))  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        msg = f"{path}: cannot write the tile archive ({reason}); check the output path and free space"
        raise SourceError(msg) from None
    return {"n_tiles": n, "bytes": path.stat().st_size, "max_tile_bytes": largest}
