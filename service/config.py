"""The pygeoapi configuration and OpenAPI document of a twin home's built cities.

:func:`build_config` makes one collection ``CITY-LAYER`` per vector layer and engine result
layer of each built city (title and description in Chinese and English where the map
app's labels have them, extent, properties with their units and meanings from
:mod:`twin.schema`), plus the processes of :mod:`service.processes`.
:func:`write_config` writes it and its OpenAPI document into ``$TWIN_HOME/_service/``,
where :mod:`service.app` (and so ``twin serve``) reads them.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyproj
import yaml

import mapapp.i18n as i18n
from engines.registry import ENGINES
from service.processes import unit_of
from service.provider import CRS84, DEFAULT_TIMEOUT_S, STORAGE_CRS, SUPPORTED_CRS
from service.tiles import tile_providers
from twin.errors import CatalogError, ConfigError
from twin.schema import FIELDS, LAYERS, UNITS
from twin.store import GEOM, TwinStore

__all__ = ["DEFAULT_LIMITS", "SERVICE_DIR", "build_config", "built_cities",
           "collection_id", "load_settings", "write_config"]

#: Folder of the twin home holding the generated configuration (not a city id: those start
#: with a letter).
SERVICE_DIR = "_service"
#: Page sizes: default, most, and a 400 for more (OGC API - Features ``limit``).
DEFAULT_LIMITS = {"default_items": 10, "max_items": 1000, "on_exceed": "error"}

_JSON_TYPES = {"float64": "number", "int64": "integer", "bool": "boolean", "string": "string",
               "category": "string"}


def load_settings(home: str | os.PathLike) -> dict[str, Any]:
    """The service settings of a twin home: ``$TWIN_HOME/service.toml`` (empty when there is none).

    Keys (all optional): ``url`` (public URL), ``api_keys`` (list), ``timeout_s``, ``max_items``.

    Raises
    ------
    ConfigError
        The file is not TOML or has unknown keys.
    """
    import tomllib

    path = Path(home) / "service.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: not readable TOML ({exc}); fix or remove it"
        raise ConfigError(msg) from exc
    unknown = set(data) - {"url", "api_keys", "timeout_s", "max_items"}
    if unknown:
        msg = f"{path}: unknown keys {sorted(unknown)}; use url, api_keys, timeout_s, max_items"
        raise ConfigError(msg)
    return data


def collection_id(city: str, layer: str) -> str:
    """The collection of ``layer`` of ``city``: ``city-layer``."""
    return f"{city}-{layer}"


def built_cities(home: str | os.PathLike, cities: Sequence[str] = ()) -> list[str]:
    """Cities of ``home`` with a built catalog (those of ``cities`` only, when given).

    Raises
    ------
    CatalogError
        A city asked for has no built twin, or none is built at all.
    """
    root = Path(home)
    have = sorted(p.name for p in root.iterdir() if (p / "catalog.duckdb").exists()) if root.is_dir() else []
    missing = [c for c in cities if c not in have]
    if missing:
        msg = (f"no built twin for {', '.join(missing)} in {root} (built: {', '.join(have) or 'none'}); "
               f"build one with `twin demo --city {missing[0]}`")
        raise CatalogError(msg)
    out = list(cities) or have
    if not out:
        msg = f"no built twin in {root}; build one with `twin demo` (or set TWIN_HOME)"
        raise CatalogError(msg)
    return out


def _label(key: str) -> dict[str, str] | None:
    en, zh = i18n.category(key, "en"), i18n.category(key, "zh")
    return None if en == key else {"en": en, "zh": zh}


def _result_titles() -> dict[str, tuple[str, str]]:
    return {r: (e.name, e.title) for e in ENGINES.values() for r in e.results}


def _field(name: str, dtype: str) -> dict[str, Any]:
    spec = FIELDS.get(name)
    kind = _JSON_TYPES.get(spec.dtype if spec else "") or _pandas_type(dtype)
    out: dict[str, Any] = {"type": kind}
    out["title"] = i18n.column(name, "en")
    if spec is not None:
        out["description"] = spec.description
        if spec.allowed:
            out["enum"] = list(spec.allowed)
    unit = unit_of(name)
    if unit:
        out["x-ogc-unit"] = unit
        out.setdefault("description", UNITS[unit])
    return out


def _pandas_type(dtype: str) -> str:
    if dtype.startswith(("float", "Float")):
        return "number"
    if dtype.startswith(("int", "Int", "uint", "UInt")):
        return "integer"
    if dtype in ("bool", "boolean"):
        return "boolean"
    return "string"


@functools.cache
def _to_crs84() -> pyproj.Transformer:
    # building a transformer between CGCS2000 frames takes seconds (PROJ weighs many
    # candidate operations): one per process
    return pyproj.Transformer.from_crs("EPSG:4549", "OGC:CRS84", always_xy=True)


def _extent(store: TwinStore, layer: str) -> list[float]:
    """The layer's bounding box in CRS84, from its GeoParquet metadata (densified edges)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(store.layer_path(layer)).metadata or {}
    geo = json.loads(meta.get(b"geo", b"{}"))
    col = geo.get("columns", {}).get(geo.get("primary_column", "geometry"), {})
    box = col.get("bbox")
    if not box or len(box) != 4:
        return [-180.0, -90.0, 180.0, 90.0]
    tr = _to_crs84()
    return [round(v, 6) for v in tr.transform_bounds(*box, densify_pts=21)]


def _collections(home: Path, city: str, *, timeout_s: float,
                 extra: Mapping[str, Sequence[dict]] | None) -> dict[str, dict]:
    with TwinStore(city, home) as store:  # one read-only connection for all the reads
        return _collections_of(store, city, timeout_s=timeout_s, extra=extra)


def _collections_of(store: TwinStore, city: str, *, timeout_s: float,
                    extra: Mapping[str, Sequence[dict]] | None) -> dict[str, dict]:
    home = store.home
    registry = store.layers()
    results = _result_titles()
    city_label = _label(city) or {"en": city.capitalize(), "zh": city}
    out: dict[str, dict] = {}
    for row in registry.itertuples():
        name, kind = str(row.name), str(row.kind)
        columns = store.columns(name)
        if GEOM not in columns:
            continue
        sample = store.select(name, limit=1)
        fields = {c: _field(c, str(sample[c].dtype)) for c in columns if c != GEOM}
        spec = LAYERS.get(name)
        if spec is not None:
            id_field = spec.id_field
            en_desc = spec.description
        else:
            engine, title = results.get(name, ("", name))
            id_field = next((c for c in columns if c.endswith("_id")), None)
            en_desc = f"Result of engine {engine!r} ({title})" if engine else f"Layer {name}"
        label = _label(name) or {"en": name.replace("_", " "), "zh": name}
        synthetic = f"{int(row.n_synthetic):,} of {int(row.n_rows):,} features synthetic"
        cid = collection_id(city, name)
        provider = {
            "type": "feature",
            "name": "service.provider.TwinProvider",
            "data": {"home": str(home), "city": city, "table": name},
            "id_field": id_field,
            "geom_field": GEOM,
            "storage_crs": STORAGE_CRS,
            "crs": list(SUPPORTED_CRS),
            "include_extra_query_parameters": True,
            "options": {"timeout_s": float(timeout_s)},
            "fields": fields,
        }
        out[cid] = {
            "type": "collection",
            "title": {"en": f"{city_label['en']}: {label['en']}", "zh": f"{city_label['zh']}：{label['zh']}"},
            "description": {"en": f"{en_desc} ({kind}; {synthetic}).",
                            "zh": f"{label['zh']}（{kind}；{synthetic}）。"},
            "keywords": [city, name, kind],
            "links": [],
            "extents": {"spatial": {"bbox": _extent(store, name), "crs": CRS84}},
            "providers": [provider, *(extra or {}).get(cid, [])],
        }
    return out


def build_config(home: str | os.PathLike, cities: Sequence[str] = (), *, url: str | None = None,
                 host: str = "127.0.0.1", port: int = 5000, timeout_s: float | None = None,
                 max_items: int | None = None,
                 extra_providers: Mapping[str, Sequence[dict]] | None = None) -> dict[str, Any]:
    """The pygeoapi configuration of the built cities of ``home``.

    Parameters
    ----------
    home : path-like
        The twin home.
    cities : sequence of str
        Cities to serve (default: every built one).
    url : str, optional
        The public URL clients see (behind a reverse proxy: its URL); default
        ``http://host:port``. ``service.toml``'s ``url`` is used when not given.
    host, port : str, int
        Where the server listens.
    timeout_s : float, optional
        Time limit of one catalog query [s].
    max_items : int, optional
        Largest page (``limit``); more is a 400.
    extra_providers : mapping, optional
        Collection id -> further pygeoapi provider definitions, appended to that
        collection's providers. The vector tiles of each city's archives
        (``service.tiles.tile_providers``, written by ``twin export tiles``) are always added.

    Returns
    -------
    dict
        The configuration, as pygeoapi reads it from YAML.
    """
    home = Path(home).resolve()
    settings = load_settings(home)
    url = url or settings.get("url") or f"http://{host}:{port}"
    timeout_s = float(timeout_s or settings.get("timeout_s") or DEFAULT_TIMEOUT_S)
    limits = dict(DEFAULT_LIMITS)
    if max_items or settings.get("max_items"):
        limits["max_items"] = int(max_items or settings["max_items"])
    served = built_cities(home, cities)
    extra: dict[str, list[dict]] = {k: list(v) for k, v in (extra_providers or {}).items()}
    for city in served:  # vector tiles exported with `twin export tiles` (OGC API - Tiles)
        for cid, provider in tile_providers(home, city).items():
            extra.setdefault(cid, []).append(provider)
    resources: dict[str, dict] = {}
    for city in served:
        resources.update(_collections(home, city, timeout_s=timeout_s, extra=extra))
    for pid, cls in (("pv-screen", "PVScreenProcessor"), ("coverage-what-if", "CoverageWhatIfProcessor")):
        resources[pid] = {"type": "process",
                          "processor": {"name": f"service.processes.{cls}", "home": str(home),
                                        "cities": served}}
    service_dir = home / SERVICE_DIR
    return {
        "server": {
            "bind": {"host": host, "port": int(port)},
            "url": url.rstrip("/"),
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US", "zh-CN"],
            "pretty_print": False,
            "limits": limits,
            "admin": False,
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "© OpenStreetMap contributors"},
            "manager": {"name": "TinyDB", "connection": str(service_dir / "jobs.json"),
                        "output_dir": str(service_dir / "jobs")},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": {"en": "carbon-twin: Hangzhou and Huzhou", "zh": "碳达峰数字孪生：杭州与湖州"},
                "description": {"en": "OGC API - Features and Processes over the built twins: layers, "
                                      "engine results (PV, coverage, sinks, wind), PV screening.",
                                "zh": "数字孪生的 OGC API 要素与处理服务：图层、引擎结果与光伏筛查。"},
                "keywords": ["carbon peak", "digital twin", "PV", "OGC API"],
                "keywords_type": "theme",
                "terms_of_service": "https://www.apache.org/licenses/LICENSE-2.0",
                "url": "https://github.com/",
            },
            "license": {"name": "Apache-2.0 (code); each layer's source names its data licence",
                        "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "provider": {"name": "carbon-twin", "url": url},
            "contact": {"name": "carbon-twin", "position": "maintainers", "email": "none@example.org",
                        "url": url, "role": "pointOfContact"},
        },
        "resources": resources,
    }


def write_config(home: str | os.PathLike, config: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``config`` and its OpenAPI document to ``home/_service/``; their paths."""
    from pygeoapi.openapi import get_oas

    out = Path(home) / SERVICE_DIR
    (out / "jobs").mkdir(parents=True, exist_ok=True)
    cfg_path, oas_path = out / "pygeoapi-config.yml", out / "openapi.yml"
    oas = get_oas(dict(config))
    for path, doc in ((cfg_path, config), (oas_path, oas)):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(json.loads(json.dumps(doc, default=str)), allow_unicode=True,
                                      sort_keys=False), "utf-8")
        tmp.replace(path)
    return cfg_path, oas_path
