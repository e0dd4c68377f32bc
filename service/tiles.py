"""OGC API - Tiles for ``twin serve``: a pygeoapi MVT provider over a PMTiles archive.

``twin export tiles --city C`` writes ``<home>/<city>/tiles/<city>.pmtiles`` (or any
``--out``); :func:`tile_providers` finds the archives of a city and gives each collection
of a layer the archive holds a tile provider over it, which the service's configuration
builder appends to that collection's providers. Each tile carries every layer of the
archive (its ``vector_layers`` metadata lists them, with units and meanings).

The provider answers ``/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}`` with the
archive's tile, decompressed (pygeoapi sends the bytes as they are, without a
``Content-Encoding``); a tile outside the archive's zooms, outside the tile matrix or
with no feature is :class:`~pygeoapi.provider.tile.ProviderTileNotFoundError` (404).
"""

from __future__ import annotations

import gzip
import logging
import mmap
import os
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType
from pygeoapi.models.provider.base import LinkType, TileMatrixSetEnum, TileSetMetadata
from pygeoapi.provider.base import ProviderConnectionError, ProviderInvalidQueryError
from pygeoapi.provider.base_mvt import BaseMVTProvider
from pygeoapi.provider.tile import ProviderTileNotFoundError
from pygeoapi.util import url_join

from layers.io.tiles import TILES_DIR, archive_path

__all__ = ["MIMETYPE", "PMTilesMVTProvider", "default_tiles_path", "tile_providers"]

LOGGER = logging.getLogger(__name__)

#: Media type of a Mapbox Vector Tile.
MIMETYPE = "application/vnd.mapbox-vector-tile"

def default_tiles_path(home: str | os.PathLike, city: str) -> Path:
    """Where ``twin export tiles`` writes a city's archive unless ``--out`` says otherwise."""
    return archive_path(home, city)


class PMTilesMVTProvider(BaseMVTProvider):
    """Mapbox Vector Tiles from a PMTiles v3 archive (pygeoapi tile provider).

    Provider definition: ``{"type": "tile", "name": "service.tiles.PMTilesMVTProvider",
    "data": "<path>.pmtiles", "options": {"schemes": ["WebMercatorQuad"], "zoom":
    {"min": 8, "max": 16}}, "format": {"name": "pbf", "mimetype":
    "application/vnd.mapbox-vector-tile"}}`` (:func:`tile_providers` makes it).
    """

    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        path = Path(self.data)
        if not path.is_file():
            msg = (f"tile archive {path} does not exist; write it with `twin export tiles --city <city> "
                   f"--out {path}`")
            LOGGER.error(msg)
            raise ProviderConnectionError(msg)
        try:
            self._fh = open(path, "rb")  # noqa: SIM115 - kept open for the provider's life (mmap)
            self._reader = Reader(MmapSource(self._fh))
            self._header = self._reader.header()
            self._metadata = self._reader.metadata()
        except Exception as exc:  # a truncated or foreign file: pmtiles raises several kinds
            msg = (f"{path} is not a readable PMTiles v3 archive ({exc}); export it again with "
                   "`twin export tiles`")
            LOGGER.error(msg)
            raise ProviderConnectionError(msg) from None
        if self._header["tile_type"] != TileType.MVT:
            msg = f"{path} holds {self._header['tile_type'].name} tiles, not vector tiles (MVT)"
            raise ProviderConnectionError(msg)
        self.path = path
        self.min_zoom = int(self._header["min_zoom"])
        self.max_zoom = int(self._header["max_zoom"])
        self._service_url = ""
        self._service_metadata_url = ""

    def __repr__(self) -> str:
        return f"<PMTilesMVTProvider> {self.data}"

    def __del__(self) -> None:
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()

    @property
    def metadata(self) -> dict[str, Any]:
        """The archive's JSON metadata (``vector_layers``, ``attribution``, ...)."""
        return dict(self._metadata)

    def get_layer(self) -> str:
        """The tileset's name (the archive's file stem)."""
        return self.path.stem

    def get_fields(self) -> dict[str, dict[str, str]]:
        """Attribute name -> ``{"type": ..., "description": ...}`` over every layer of the archive."""
        out: dict[str, dict[str, str]] = {}
        for layer in self._metadata.get("vector_layers", []):
            for name, text in layer.get("fields", {}).items():
                kind, _, desc = str(text).partition(": ")
                out.setdefault(name, {"type": {"Number": "number", "Boolean": "boolean"}.get(kind, "string"),
                                      "description": desc or kind})
        return out

    def get_tiling_schemes(self) -> list[Any]:
        """Web Mercator only (the archive's scheme)."""
        return [TileMatrixSetEnum.WEBMERCATORQUAD.value]

    def get_tiles_service(self, baseurl: str | None = None, servicepath: str | None = None,
                          dirpath: str | None = None, tile_type: str | None = None) -> dict[str, Any]:
        """The tile service links (as pygeoapi's tippecanoe provider gives them)."""
        self._service_url = servicepath or ""
        return self.get_tms_links()

    def get_tiles(self, layer: str | None = None, tileset: str | None = None, z: Any = None,
                  y: Any = None, x: Any = None, format_: str | None = None) -> bytes:
        """One tile's MVT bytes (decompressed).

        Raises
        ------
        ProviderInvalidQueryError
            A tile matrix set other than WebMercatorQuad, or indices that are not whole numbers.
        ProviderTileNotFoundError
            A zoom outside the archive, indices outside the tile matrix, or a tile with no feature.
        """
        if tileset not in (None, TileMatrixSetEnum.WEBMERCATORQUAD.value.tileMatrixSet):
            msg = f"tile matrix set {tileset!r} is not served; use WebMercatorQuad"
            raise ProviderInvalidQueryError(msg)
        try:
            zi, xi, yi = int(z), int(x), int(y)
        except (TypeError, ValueError):
            msg = f"tile indices z={z!r}, y={y!r}, x={x!r} must be whole numbers"
            raise ProviderInvalidQueryError(msg) from None
        if not self.min_zoom <= zi <= self.max_zoom or not (0 <= xi < 2 ** zi and 0 <= yi < 2 ** zi):
            msg = (f"tile {zi}/{yi}/{xi} is outside the archive (zooms {self.min_zoom}-{self.max_zoom}; "
                   "a client overzooms the last one)")
            raise ProviderTileNotFoundError(msg)
        data = self._reader.get(zi, xi, yi)
        if not data:
            msg = f"tile {zi}/{yi}/{xi} holds no feature"
            raise ProviderTileNotFoundError(msg)
        if self._header["tile_compression"] == Compression.GZIP:
            data = gzip.decompress(data)
        return bytes(data)

    def _service(self, server_url: str, dataset: str, tileset: str) -> str:
        return url_join(server_url, f"collections/{dataset}/tiles/{tileset}/"
                                    "{tileMatrix}/{tileRow}/{tileCol}?f=mvt")

    def get_default_metadata(self, dataset: str, server_url: str, layer: str, tileset: str,
                             title: str, description: str, keywords: list[str],
                             **kwargs: Any) -> dict[str, Any]:
        """OGC Tile Set Metadata of the archive."""
        scheme = self.get_tiling_schemes()[0]
        if tileset != scheme.tileMatrixSet:
            msg = f"tile matrix set {tileset!r} is not served; use {scheme.tileMatrixSet}"
            raise ProviderConnectionError(msg)
        content = TileSetMetadata(title=title, description=description, keywords=keywords,
                                  crs=scheme.crs, tileMatrixSetURI=scheme.tileMatrixSetURI)
        content.links = [
            LinkType(href=url_join(server_url, f"/TileMatrixSets/{scheme.tileMatrixSet}"),
                     rel="http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", type_="application/json",
                     title=f"{scheme.tileMatrixSet} tile matrix set definition"),
            LinkType(href=self._service(server_url, dataset, tileset), rel="item", type_=MIMETYPE,
                     title=f"{tileset} vector tiles for {layer}"),
        ]
        return content.model_dump(exclude_none=True)

    def get_vendor_metadata(self, dataset: str, server_url: str, layer: str, tileset: str,
                            title: str, description: str, keywords: list[str],
                            **kwargs: Any) -> dict[str, Any]:
        """TileJSON 3.0 of the archive (its ``vector_layers``, attribution, zooms, bounds)."""
        md = self._metadata
        h = self._header
        return {
            "tilejson": "3.0.0", "name": md.get("name", self.get_layer()),
            "description": md.get("description", description), "attribution": md.get("attribution", ""),
            "tiles": [self._service(server_url, dataset, tileset)],
            "minzoom": self.min_zoom, "maxzoom": self.max_zoom,
            "bounds": [h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7,
                       h["max_lat_e7"] / 1e7],
            "vector_layers": md.get("vector_layers", []),
        }

    def get_html_metadata(self, dataset: str, server_url: str, layer: str, tileset: str,
                          title: str, description: str, keywords: list[str],
                          **kwargs: Any) -> dict[str, Any]:
        """What pygeoapi's HTML tile page shows."""
        base = url_join(server_url, f"collections/{dataset}/tiles/{tileset}/metadata")
        return {"id": dataset, "title": title, "tileset": tileset,
                "collections_path": self._service(server_url, dataset, tileset),
                "json_url": f"{base}?f=json", "tilejson_url": f"{base}?f=tilejson",
                "metadata": self.get_vendor_metadata(dataset, server_url, layer, tileset, title,
                                                     description, keywords)}


def _archive_layers(path: Path) -> tuple[list[str], int, int]:
    """The layer names and zoom range of an archive (its header and metadata)."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        reader = Reader(lambda offset, length: mm[offset:offset + length])
        header = reader.header()
        names = [str(v["id"]) for v in reader.metadata().get("vector_layers", [])]
    return names, int(header["min_zoom"]), int(header["max_zoom"])


def tile_providers(home: Path, city: str) -> dict[str, dict[str, Any]]:
    """Collection id -> pygeoapi tile provider definition, for the archives of a city.

    Every ``.pmtiles`` file in ``<home>/<city>/tiles/`` is read; each layer it holds
    gives collection ``<city>-<layer>`` (the service's collection ids) a provider over the
    archive (the newest archive wins when two hold a layer). A broken archive is
    skipped with a warning, so one bad file does not stop the service.

    Parameters
    ----------
    home : Path
        The twin home.
    city : str
        The city id.

    Returns
    -------
    dict
        ``{"<city>-<layer>": {"type": "tile", "name": "service.tiles.PMTilesMVTProvider", ...}}``;
        empty when the city has no archive.
    """
    folder = Path(home) / city / TILES_DIR
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.pmtiles"), key=lambda p: p.stat().st_mtime):
        try:
            names, lo, hi = _archive_layers(path)
        except Exception as exc:  # any unreadable archive is skipped, named
            LOGGER.warning("skipping tile archive %s: not a readable PMTiles archive (%s)", path, exc)
            continue
        provider = {
            "type": "tile",
            "name": "service.tiles.PMTilesMVTProvider",
            "data": str(path.resolve()),
            "options": {"zoom": {"min": lo, "max": hi}, "schemes": ["WebMercatorQuad"]},
            "format": {"name": "pbf", "mimetype": MIMETYPE},
        }
        for name in names:
            out[f"{city}-{name}"] = provider
    return out
