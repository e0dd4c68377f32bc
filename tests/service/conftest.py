"""A small twin with PV and coverage results, served by `twin serve` (gunicorn) and in-process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO

CITY = "huzhou"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def service_home(twin_home, tmp_path_factory):
    """A copy of the session's Huzhou twin with the rooftop PV and coverage results."""
    from shell.runners import run_engine

    home = tmp_path_factory.mktemp("service-home")
    shutil.copytree(twin_home / CITY, home / CITY)
    from shell.tiles import export_tiles

    for name in ("pv", "coverage"):
        run_engine(name, CITY, home=home)
    # vector tiles of the buildings (with their PV figures), served as OGC API - Tiles
    export_tiles(CITY, home=home, layers=["buildings"], min_zoom=14, max_zoom=15)
    return home


@pytest.fixture(scope="session")
def server(service_home):
    """`twin serve` on a free port (gunicorn, 2 sync workers: the default); its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TWIN_API_KEYS": ""}
    log = open(service_home / "server.log", "w")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen([sys.executable, "-m", "shell.cli", "--home", str(service_home), "serve",
                             "--city", CITY, "--port", str(port), "--workers", "2"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    from service.app import wait_healthy
    from twin.errors import TwinError

    try:
        wait_healthy(url, proc, timeout_s=600)  # a loaded machine starts gunicorn slowly
    except TwinError as exc:
        proc.kill()
        log.close()
        pytest.fail(f"twin serve did not start ({exc}):\n"
                    + (service_home / "server.log").read_text()[-3000:])
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def client(server, service_home):
    """A Flask test client of the same configuration (written by `twin serve`)."""
    from service.app import create_app
    from service.config import SERVICE_DIR

    app = create_app(service_home / SERVICE_DIR / "pygeoapi-config.yml",
                     service_home / SERVICE_DIR / "openapi.yml")
    return app.test_client()


@pytest.fixture(scope="session")
def store(service_home):
    from twin.store import TwinStore

    with TwinStore(CITY, service_home) as s:
        yield s
