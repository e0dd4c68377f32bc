"""The WSGI application of ``twin serve``: pygeoapi's Flask app over the generated configuration.

pygeoapi reads its configuration when :mod:`pygeoapi.flask_app` is imported, from the files
named by ``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI``. :func:`create_app` sets both (from its
arguments, the environment, or ``$TWIN_HOME/_service/`` as ``twin serve`` writes it) before
that import, so importing this module has no side effect and a missing configuration is
one clear error. Around pygeoapi's app it adds:

- ``GET /health``: 200 with the served cities while every catalog opens, else 503;
- API keys on Processes execution (``POST /processes/...`` and job deletion) when keys are
  configured (``api_keys`` of ``$TWIN_HOME/service.toml`` or ``$TWIN_API_KEYS``, comma
  separated), sent as ``X-API-Key`` or ``Authorization: Bearer``; read endpoints stay open;
- CQL2 text filters: ``filter`` is parsed as CQL2 text (pygeoapi 0.21 parses ECQL), a
  malformed one is a 400 naming the problem, and ``filter-lang=cql2-text`` is accepted.

Run it with gunicorn (``twin serve`` does): ``gunicorn 'service.app:create_app()'``.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from service.config import SERVICE_DIR, load_settings
from service.cql import FilterError, parse_cql2_text

__all__ = ["api_keys", "create_app", "wait_healthy"]

_APP: dict[str, Any] = {}

StartResponse = Callable[..., Any]


def api_keys(home: str | os.PathLike | None) -> list[str]:
    """The API keys of the Processes endpoints: ``$TWIN_API_KEYS`` and ``service.toml``'s ``api_keys``."""
    keys = [k.strip() for k in os.environ.get("TWIN_API_KEYS", "").split(",") if k.strip()]
    if home is not None:
        raw = load_settings(home).get("api_keys", [])
        keys += [str(k) for k in ([raw] if isinstance(raw, str) else raw) if str(k)]
    return keys


@functools.lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Any:
    """The transform between two CRS URIs as pygeoapi makes it (authority axis order), kept."""
    import pyproj
    from pygeoapi.util import get_crs_from_uri

    return pyproj.Transformer.from_crs(get_crs_from_uri(src), get_crs_from_uri(dst))


def transform_bbox(bbox: list, from_crs: str, to_crs: str) -> list:
    """:func:`pygeoapi.util.transform_bbox` (corners transformed) with a kept transformer."""
    fn = _transformer(from_crs, to_crs).transform
    n = len(bbox) // 2
    return list(fn(*bbox[:n]) + fn(*bbox[n:]))


def modify_filter(original: Callable, tree: Any, *, filter_crs_uri: str,
                  storage_crs_uri: str | None = None, geometry_column_name: str | None = None) -> Any:
    """:func:`pygeoapi.util.modify_pygeofilter`, its geometry transform done with kept transformers."""
    import copy

    import numpy as np
    import shapely
    from pygeofilter import values

    tree = copy.deepcopy(tree)
    if storage_crs_uri:
        def walk(node: Any) -> None:
            try:
                subs = node.get_sub_nodes()
            except AttributeError:
                return
            for sub in subs if isinstance(subs, list) else [subs]:
                if isinstance(sub, values.Geometry):
                    src = sub.geometry.get("crs", {}).get("properties", {}).get("name") or filter_crs_uri
                    fn = _transformer(src, storage_crs_uri).transform
                    geom = shapely.transform(shapely.geometry.shape(sub.geometry),
                                             lambda xy, fn=fn: np.column_stack(fn(xy[:, 0], xy[:, 1])))
                    sub.geometry = dict(shapely.geometry.mapping(geom))
                else:
                    walk(sub)

        walk(tree)
    return original(tree, filter_crs_uri=filter_crs_uri, storage_crs_uri=None,
                    geometry_column_name=geometry_column_name)


def _json(start_response: StartResponse, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=UTF-8"),
                            ("Content-Length", str(len(data)))])
    return [data]


def _error(start_response: StartResponse, status: str, code: str, msg: str) -> list[bytes]:
    return _json(start_response, status, {"code": code, "type": code, "description": msg})


class TwinMiddleware:
    """Health, API keys and CQL2 filters around the pygeoapi WSGI app (see the module doc)."""

    def __init__(self, app: Callable, config: dict, home: str | None) -> None:
        self.app = app
        self.config = config
        self.home = home
        self.keys = api_keys(home)
        self.cities = sorted({p["data"]["city"] for r in config["resources"].values()
                              for p in r.get("providers", []) if isinstance(p.get("data"), dict)})

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.rstrip("/") == "/health":
            return self._health(start_response)
        if self.keys and (
                (method == "POST" and path.startswith("/processes/"))
                or (method == "DELETE" and path.startswith("/jobs/"))):
            given = environ.get("HTTP_X_API_KEY", "")
            auth = environ.get("HTTP_AUTHORIZATION", "")
            if not given and auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not any(hmac.compare_digest(given.encode(), k.encode()) for k in self.keys):
                return _error(start_response, "401 Unauthorized", "Unauthorized",
                              "executing a process needs an API key: send it as X-API-Key")
        if "/items" in path and environ.get("QUERY_STRING"):
            pairs = parse_qsl(environ["QUERY_STRING"], keep_blank_values=True)
            lang = [v for k, v in pairs if k == "filter-lang"]
            if lang and lang[-1] not in ("cql2-text", "cql-text"):
                return _error(start_response, "400 Bad Request", "InvalidParameterValue",
                              f"filter-lang {lang[-1]!r} is not offered; use cql2-text")
            for k, v in pairs:
                if k == "filter":
                    try:
                        parse_cql2_text(v)
                    except FilterError as exc:
                        return _error(start_response, "400 Bad Request", "InvalidParameterValue", str(exc))
            if lang:
                environ["QUERY_STRING"] = urlencode([(k, v) for k, v in pairs if k != "filter-lang"])
        return self.app(environ, start_response)

    def _health(self, start_response: StartResponse) -> list[bytes]:
        from service.provider import store_for

        status, out = "200 OK", {}
        for city in self.cities:
            try:
                store_for(self.home or "", city).tables()
                out[city] = "ok"
            except Exception as exc:  # any failure to open a catalog is "unhealthy", reported
                status, out[city] = "503 Service Unavailable", f"{type(exc).__name__}: {exc}"
        return _json(start_response, status, {"status": "ok" if status.startswith("200") else "unavailable",
                                              "cities": out})


def _paths(config_path: str | os.PathLike | None, openapi_path: str | os.PathLike | None
           ) -> tuple[Path, Path]:
    home = os.environ.get("TWIN_HOME")
    cfg = config_path or os.environ.get("PYGEOAPI_CONFIG") or (
        Path(home) / SERVICE_DIR / "pygeoapi-config.yml" if home else None)
    oas = openapi_path or os.environ.get("PYGEOAPI_OPENAPI") or (
        Path(home) / SERVICE_DIR / "openapi.yml" if home else None)
    if cfg is None or oas is None or not Path(cfg).exists() or not Path(oas).exists():
        msg = (f"no service configuration (PYGEOAPI_CONFIG={cfg}, PYGEOAPI_OPENAPI={oas}); "
               "run `twin serve` (it writes them into $TWIN_HOME/_service/) or set both variables")
        raise RuntimeError(msg)
    return Path(cfg).resolve(), Path(oas).resolve()


def create_app(config_path: str | os.PathLike | None = None,
               openapi_path: str | os.PathLike | None = None) -> Callable:
    """The WSGI app serving the configuration at ``config_path`` (see the module doc).

    pygeoapi holds one configuration per process: a second call with other files raises.

    Raises
    ------
    RuntimeError
        No configuration found, or another one is already loaded in this process.
    """
    cfg, oas = _paths(config_path, openapi_path)
    if _APP:
        if _APP["paths"] != (cfg, oas):
            msg = f"this process already serves {_APP['paths'][0]}; start another process for {cfg}"
            raise RuntimeError(msg)
        return _APP["app"]
    os.environ["PYGEOAPI_CONFIG"], os.environ["PYGEOAPI_OPENAPI"] = str(cfg), str(oas)
    import pygeoapi.api.itemtypes as itemtypes
    from pygeoapi import flask_app

    # pygeoapi 0.21 reads `filter` as ECQL; OGC API - Features Part 3 and this service say CQL2
    # text (a superset for what is used here: S_INTERSECTS, CASEI, BBOX(...)).
    itemtypes.parse_ecql_text = parse_cql2_text
    # pygeoapi builds a new pyproj transformer for every bbox and filter geometry, which for
    # these CGCS2000 frames takes seconds; the same transforms with transformers kept per process
    itemtypes.transform_bbox = transform_bbox
    itemtypes.modify_pygeofilter = functools.partial(modify_filter, itemtypes.modify_pygeofilter)
    config = flask_app.CONFIG
    home = next((r["processor"]["home"] for r in config["resources"].values() if r.get("type") == "process"),
                None)
    app = TwinMiddleware(flask_app.APP.wsgi_app, config, home)
    flask_app.APP.wsgi_app = app  # keep Flask's test client and gunicorn on the same stack
    _APP.update(paths=(cfg, oas), app=flask_app.APP)
    return flask_app.APP


def wait_healthy(url: str, proc: subprocess.Popen | None = None, *, timeout_s: float = 300.0,
                 poll_s: float = 0.5) -> float:
    """Wait until ``GET {url}/health`` answers 200; the seconds it took.

    For callers that start ``twin serve`` themselves (tests, benchmarks, a deployment's
    start-up check).

    Parameters
    ----------
    url : str
        The server's base URL (``http://127.0.0.1:5000``).
    proc : subprocess.Popen, optional
        The server process: if it exits, waiting stops at once.
    timeout_s : float
        The longest wait [s]; a loaded machine starts gunicorn slowly.
    poll_s : float
        Pause between attempts [s].

    Raises
    ------
    twin.errors.TwinError
        The server exited or did not answer 200 within ``timeout_s``; the message says which
        (and the exit status).
    """
    from twin.errors import TwinError

    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=30) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            msg = f"twin serve exited with status {proc.returncode} before {url}/health answered"
            raise TwinError(msg)
        if time.monotonic() - t0 > timeout_s:
            msg = f"{url}/health did not answer 200 within {timeout_s:g} s"
            raise TwinError(msg)
        time.sleep(poll_s)
