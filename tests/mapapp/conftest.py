"""Shared fixtures of the map-app tests: the small twins with every engine's results, built once.

``engine_home`` copies the session's small twins of both cities (``twin_home``), runs every
engine of the registry once per city and validates both, once per test session; the app
tests, the inspector, every-page and wind-page tests and the real-browser tests all read
it. It is **read-only**: a test that writes (an export file, a commit, a lock) works on
``engine_copy``, a private copy of it. Engine settings kept small where the tests allow:
wind on a 400 m grid; rooftop PV with horizon shading in Huzhou (the inspector draws each
facet's horizon), without it in Hangzhou.
"""

from __future__ import annotations

import shutil

import pytest

CITIES = ("hangzhou", "huzhou")
#: (city, engine) -> parameters of the shared twin's run (others at their defaults).
ENGINE_PARAMS = {("hangzhou", "wind"): {"cell_m": 400.0}, ("huzhou", "wind"): {"cell_m": 400.0},
                 ("hangzhou", "pv"): {"shading": False}}
#: pytest-timeout limit [s] of the first test that uses ``engine_home``: its setup builds both
#: cities with every engine, the work of the five module fixtures it replaced, each of which
#: had the ini's 900 s to itself (on the loaded shared machine one build took over 900 s).
BUILD_TIMEOUT_S = 2700


def pytest_collection_modifyitems(config, items):
    """The first test to use ``engine_home`` gets :data:`BUILD_TIMEOUT_S` (it pays the build)."""
    for item in items:
        if "engine_home" in getattr(item, "fixturenames", ()):
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT_S))
            return


@pytest.fixture(scope="session")
def engine_home(twin_home, tmp_path_factory):
    """Both small twins with every engine run once and validated (session-wide, read-only).

    Its files lose their write bits, and at the end of the session every file is compared
    with what the build left (size and modification time): a test that wrote to the shared
    twin fails the session's last test instead of silently changing what the others read
    (the write bits alone do not stop root).
    """
    from engines.registry import ENGINES
    from shell.runners import run_engine, validate_city

    home = tmp_path_factory.mktemp("engine-home")
    for city in CITIES:
        shutil.copytree(twin_home / city, home / city)
        for name in ENGINES:
            run_engine(name, city, home=home, params=ENGINE_PARAMS.get((city, name)))
        validate_city(city, home=home)
    _read_only(home)
    built = _files(home)
    yield home
    changed = sorted(set(built.items()) ^ set(_files(home).items()))
    if changed:
        pytest.fail(f"a test wrote to the shared read-only twin {home} (use engine_copy): "
                    f"{sorted({str(p) for p, _ in changed})}", pytrace=False)


def _files(home) -> dict:
    """Every file under ``home`` -> (size, modification time [ns])."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()}


def _read_only(home) -> None:
    """Take the write bits off every file under ``home`` (DuckDB opens it read-only)."""
    for path in home.rglob("*"):
        if path.is_file():
            path.chmod(path.stat().st_mode & ~0o222)


@pytest.fixture
def engine_copy(engine_home, tmp_path, monkeypatch):
    """A private copy of :func:`engine_home` for a test that writes, TWIN_HOME set to it."""
    home = tmp_path / "engine-copy"
    for city in CITIES:
        shutil.copytree(engine_home / city, home / city, copy_function=shutil.copyfile)
    monkeypatch.setenv("TWIN_HOME", str(home))
    return home


@pytest.fixture
def engine_env(engine_home, monkeypatch):
    """TWIN_HOME set to the shared read-only :func:`engine_home`."""
    monkeypatch.setenv("TWIN_HOME", str(engine_home))
    return engine_home


@pytest.fixture(scope="session", autouse=True)
def _component_scan_once():
    """Scan the installed packages for Streamlit components once per session, not per AppTest.

    Every new ``AppTest`` reads the metadata of every installed distribution to find
    Streamlit components (about 0.2 s of CPU each, a hundred AppTests here); the installed
    packages do not change during a session, so the first scan's result is reused.
    """
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    patch = pytest.MonkeyPatch()
    patch.setattr(manifest_scanner, "scan_component_manifests",
                  lambda max_workers=None: list(found))
    yield
    patch.undo()
