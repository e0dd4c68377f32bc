"""Shared fixtures: small in-code layers and, once per session, a small built twin."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SHARED = REPO.parent / "shared"

#: A point in Hangzhou's Shangcheng district in EPSG:4549 (x, y metres).
X0, Y0 = 518_000.0, 3_346_000.0


def make_buildings(n: int = 5, **overrides) -> gpd.GeoDataFrame:
    """n 10 x 20 m buildings in a row, 30 m apart, EPSG:4549."""
    cols = {
        "building_id": [f"b{i}" for i in range(n)],
        "height_m": [10.0 + i for i in range(n)],
        "use_class": ["residential"] * n,
        "roof_type": ["flat"] * n,
    }
    cols.update(overrides)
    geoms = [shapely.box(X0 + 30 * i, Y0, X0 + 30 * i + 20, Y0 + 10) for i in range(n)]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4549")


@pytest.fixture
def buildings():
    return make_buildings()


@pytest.fixture(scope="session")
def twin_home(tmp_path_factory):
    """Both cities built once at a small scale into a temporary TWIN_HOME."""
    from shell.demo import build_city

    home = tmp_path_factory.mktemp("twin-home")
    for city in ("hangzhou", "huzhou"):
        build_city(city, home=home, scale=3000)
    return home


@pytest.fixture
def twin_env(twin_home, monkeypatch):
    monkeypatch.setenv("TWIN_HOME", str(twin_home))
    return twin_home


def pytest_configure(config):
    os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture
def twin_copy(twin_home, tmp_path, monkeypatch):
    """A private copy of both built cities (for tests that commit results), TWIN_HOME set."""
    import shutil

    home = tmp_path / "twin-copy"
    for city in ("hangzhou", "huzhou"):
        shutil.copytree(twin_home / city, home / city)
    monkeypatch.setenv("TWIN_HOME", str(home))
    return home
