"""The app's start-up: ``streamlit run app.py`` serves ``app.App`` and warms it before the first visit.

The first page load after the server started used to pay the Python imports (pandas,
pyarrow, DuckDB, geopandas, pydeck, altair, the engine registry) and the first catalog
connection (DuckDB's spatial extension). ``app.py`` defines an ``st.App`` whose lifespan
hook does that work when the server starts; these tests check that Streamlit finds it,
that importing the module renders nothing, and what the warm-up opens.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_streamlit_run_finds_the_asgi_app_with_the_start_up_hook():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(REPO / "app.py")
    assert found.is_asgi_app
    assert found.import_string is not None and found.import_string.endswith(":app")


def test_importing_the_app_renders_nothing_and_its_hook_imports_every_page(tmp_path):
    """Run in a fresh interpreter: what the server process does at start-up, step by step."""
    code = "\n".join([
        "import asyncio, sys",
        "import streamlit as st",
        "import app",
        "assert isinstance(app.app, st.App), type(app.app)",
        # the cache_data functions must not exist before Streamlit's runtime does
        "assert 'mapapp.data' not in sys.modules, 'mapapp.data imported with the module'",
        "async def start():",
        "    async with app._warm(None):",
        "        pass",
        "asyncio.run(start())",
        "from mapapp.pages import PAGES",
        "missing = [m for _, _, m in PAGES if f'mapapp.pages.{m}' not in sys.modules]",
        "assert not missing, missing",
        "print('warmed')",
    ])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TWIN_HOME": str(tmp_path),
           "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("warmed")


def test_warm_start_skips_cities_without_a_catalog(tmp_path):
    from mapapp import data

    assert data.warm_start(str(tmp_path), ["hangzhou", "huzhou"]) == []


def test_warm_start_opens_each_built_catalog(engine_env):
    from mapapp import data

    home = str(engine_env)
    assert data.warm_start(home, ["hangzhou", "huzhou", "not-a-city"]) == ["hangzhou", "huzhou"]
    version = data.catalog_version(home, "huzhou")
    assert data.twin_state(home, "huzhou", version) == ("ok", ())


def test_warm_start_skips_a_catalog_it_cannot_open(tmp_path):
    """A file that is not a DuckDB catalog is logged and skipped, not raised at start-up."""
    from mapapp import data
    from twin.store import TwinStore

    path = TwinStore("huzhou", tmp_path).catalog_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a duckdb file")
    assert data.warm_start(str(tmp_path), ["huzhou"]) == []


@pytest.mark.parametrize("lang,expected", [("zh", "湖州"), ("en", "Huzhou")])
def test_city_name_in_each_language(lang, expected):
    from mapapp import data

    assert expected in data.city_name("huzhou", lang)
