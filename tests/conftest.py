"""Shared fixtures: small in-code layers and, once per session, a small built twin."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"

# No timing threshold in a test: Hypothesis's per-example deadline and its "too slow" health
# check fail correct code on a loaded 2-core machine. Tests set their own example counts.
settings.register_profile("twin", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("twin")


def main_checkout(repo: Path) -> Path:
    """The main checkout of ``repo``: itself, or for a ``git worktree`` the checkout it belongs to.

    A worktree's ``.git`` is a file ``gitdir: <main>/.git/worktrees/<name>`` whose folder
    holds ``commondir`` (the main ``.git``, relative to it); read without running git.
    """
    dot_git = repo / ".git"
    if not dot_git.is_file():
        return repo
    text = dot_git.read_text("utf-8").strip()
    if not text.startswith("gitdir:"):
        return repo
    gitdir = Path(text.removeprefix("gitdir:").strip())
    gitdir = gitdir if gitdir.is_absolute() else (repo / gitdir)
    common = gitdir / "commondir"
    if common.is_file():
        common_dir = Path(common.read_text("utf-8").strip())
        gitdir = common_dir if common_dir.is_absolute() else gitdir / common_dir
    return gitdir.resolve().parent


def shared_candidates(repo: Path = REPO) -> list[Path]:
    """Where the project's shared folder may be, in order: ``$TWIN_SHARED_DIR``, ``shared/``
    inside the checkout, ``../shared`` beside it, and ``../shared`` beside the main checkout
    when ``repo`` is a git worktree."""
    out = [Path(os.environ["TWIN_SHARED_DIR"])] if os.environ.get("TWIN_SHARED_DIR") else []
    out += [repo / "shared", repo.parent / "shared", main_checkout(repo).parent / "shared"]
    return list(dict.fromkeys(p.resolve() for p in out))


def find_shared(sub: str, repo: Path = REPO) -> Path | None:
    """The first ``<shared>/<sub>`` folder of :func:`shared_candidates` that exists, else None."""
    return next((p / sub for p in shared_candidates(repo) if (p / sub).is_dir()), None)


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set (and not '', '0' or 'false')."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def require_shared(sub: str, repo: Path = REPO) -> Path:
    """``<shared>/<sub>``; when missing, fail in CI (it must be there) and skip elsewhere."""
    found = find_shared(sub, repo)
    if found is not None:
        return found
    where = ", ".join(str(p / sub) for p in shared_candidates(repo))
    msg = (f"shared folder {sub!r} not found (looked in {where}); put the project's shared "
           "folder beside the checkout or set TWIN_SHARED_DIR")
    if in_ci():
        pytest.fail(f"CI: {msg}", pytrace=False)
    pytest.skip(msg)


SHARED = find_shared("") or REPO.parent / "shared"

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
