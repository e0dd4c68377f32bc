"""``twin serve``: OGC API - Features and Processes over the built twins (pygeoapi on gunicorn).

The same command in development and production: it writes the pygeoapi configuration and
OpenAPI document of the home's built cities into ``$TWIN_HOME/_service/``
(:func:`service.config.write_config`), then replaces itself with gunicorn serving
:func:`service.app.create_app`, access log on stdout.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

__all__ = ["command", "gunicorn_argv"]


def gunicorn_argv(host: str, port: int, workers: int, threads: int, timeout_s: int) -> list[str]:
    """The gunicorn command line serving :func:`service.app.create_app`."""
    import service

    root = Path(service.__file__).resolve().parent.parent
    return [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--threads", str(threads), "--worker-class", "gthread" if threads > 1 else "sync",
            "--timeout", str(timeout_s), "--graceful-timeout", "10",
            "--access-logfile", "-", "--error-logfile", "-", "--pythonpath", str(root),
            "service.app:create_app()"]


@click.command(name="serve")
@click.option("--city", "cities", multiple=True, help="City to serve (repeatable; default: every built one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="gunicorn worker processes (each holds one read-only catalog connection per city).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Threads per worker (1: gunicorn's sync workers; with the GIL, threads add waiting, "
                   "not CPU: benchmarks/service.py, README).")
@click.option("--url", default=None,
              help="Public URL clients use (behind a reverse proxy: its URL) [service.toml url; "
                   "http://HOST:PORT].")
@click.option("--query-timeout", "timeout_s", type=click.FloatRange(0.1, 600), default=None,
              help="Time limit of one catalog query [s] [service.toml timeout_s; 10].")
@click.option("--max-items", type=click.IntRange(1, 100_000), default=None,
              help="Largest page (limit=) [service.toml max_items; 1000].")
@click.option("--dry-run", is_flag=True, help="Write the configuration and print the server command only.")
@click.pass_context
def command(ctx, cities, host, port, workers, threads, url, timeout_s, max_items, dry_run):
    """Serve the built twins as OGC API - Features and Processes (pygeoapi on gunicorn).

    Collections CITY-LAYER for every layer and engine result; processes pv-screen and
    coverage-what-if; /health; /openapi. API keys for Processes: api_keys in
    $TWIN_HOME/service.toml or $TWIN_API_KEYS.
    """
    from service.config import build_config, write_config
    from twin.store import default_home

    home = Path(ctx.obj["home"]) if ctx.obj and ctx.obj.get("home") else default_home()
    config = build_config(home, cities, url=url, host=host, port=port, timeout_s=timeout_s,
                          max_items=max_items)  # with each city's vector tiles (twin export tiles)
    cfg, oas = write_config(home, config)
    n = sum(1 for r in config["resources"].values() if r["type"] == "collection")
    argv = gunicorn_argv(host, port, workers, threads, 120)
    env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas), "TWIN_HOME": str(home)}
    served = sorted({p["data"]["city"] for r in config["resources"].values() for p in r.get("providers", [])
                     if isinstance(p.get("data"), dict)})
    url = config["server"]["url"]
    click.echo(f"{n} collections of {', '.join(served)} at {url} (config {cfg})", err=True)
    if dry_run:
        click.echo(f"PYGEOAPI_CONFIG={shlex.quote(str(cfg))} PYGEOAPI_OPENAPI={shlex.quote(str(oas))} "
                   + shlex.join(argv))
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)
