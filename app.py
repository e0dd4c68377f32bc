"""carbon-twin map app (Streamlit + pydeck): a view over the built twin's catalog.

Run with ``streamlit run app.py`` (``python3 dev.py app`` builds the demo twin and
starts it). This file is the shell: page config, the sidebar (language, city,
target year, page, basemap) and the dispatch to one small module per page in
``mapapp/pages/``. Pages read precomputed layers and tables through
``mapapp/data.py`` (which asks ``twin.store``) and compute nothing heavy. No basemap is needed: district
boundaries, water and roads orient the user.
"""

from __future__ import annotations

import importlib
from contextlib import asynccontextmanager

import streamlit as st

YEARS = (2025, 2030)


def _query_default(name: str, allowed, fallback):
    """A sidebar default from the URL (``?page=pv&lang=zh``), only if it is an allowed value."""
    value = st.query_params.get(name)
    return value if value in allowed else fallback


def main() -> None:
    """Render the app."""
    # Imported here, not at the top: the server imports this module at start-up (see
    # ``app`` below) before Streamlit's runtime exists, and the ``st.cache_data`` functions
    # of mapapp.data must be created with the runtime's cache storage (in :func:`_warm`).
    from mapapp import data
    from mapapp.i18n import LANGS, t
    from mapapp.pages import PAGES, Ctx, render
    from twin.config import available_cities
    from twin.errors import CatalogLockedError, TwinError
    from twin.store import default_home

    st.set_page_config(page_title="carbon-twin", layout="wide")
    side = st.sidebar
    lang_default = _query_default("lang", LANGS, "en")
    lang = side.radio("Language / 语言", LANGS, index=LANGS.index(lang_default), key="lang",
                      format_func={"zh": "中文", "en": "English"}.get, horizontal=True)
    cities = available_cities()
    city = side.selectbox(t("app.city", lang), cities, key="city",
                          index=cities.index(_query_default("city", cities, cities[0])),
                          format_func=lambda c: data.city_name(c, lang))
    year = side.radio(t("app.year", lang), YEARS, key="year", horizontal=True)
    page_ids = [p for p, _, _ in PAGES]
    labels = {p: t(label, lang) for p, label, _ in PAGES}
    page = side.radio(t("app.page", lang), page_ids, key="page", format_func=labels.get,
                      index=page_ids.index(_query_default("page", page_ids, "overview")))
    with side.popover(t("app.settings", lang)):  # its widgets reach the browser when opened
        basemap = st.toggle(t("app.basemap", lang), value=False, key="basemap")
        if st.button(t("app.reload", lang), help=t("app.reload_help", lang), key="reload"):
            data.release()

    st.title(t("app.title", lang))
    home = str(default_home())
    version = data.catalog_version(home, city)
    try:
        state, missing = data.twin_state(home, city, version)
        if state == "missing":
            st.warning(t("app.not_built", lang, city=data.city_name(city, lang), home=home,
                         cmd=data.command_for("build", city)))
            return
        if state == "partial":
            st.warning(t("app.half_built", lang, city=data.city_name(city, lang),
                         missing=", ".join(missing), cmd=data.command_for("build", city)))
            return
        st.header(labels[page])
        render(page, Ctx(home=home, city=city, version=version, lang=lang, year=int(year),
                         basemap=bool(basemap)))
    except CatalogLockedError as exc:  # a twin command is writing the catalog: not missing, busy
        st.warning(t("app.busy", lang, city=data.city_name(city, lang), error=str(exc)))
    except TwinError as exc:  # the store turns every DuckDB error into a CatalogError that says the fix
        st.error(t("app.read_error", lang, error=str(exc)))


@asynccontextmanager
async def _warm(_app):
    """Server start-up (``st.App``'s lifespan hook), before the first visitor can connect.

    Imports what :func:`main` imports and every page's module, so that the first
    visitor's script run finds them in ``sys.modules`` (pandas, pyarrow, DuckDB, geopandas,
    pydeck, altair and the engine registry take seconds to import here), and opens each
    built city's catalog (:func:`mapapp.data.warm_start`): the cold part of a first page load.
    """
    from mapapp import data
    from mapapp.pages import PAGES
    from twin.config import available_cities
    from twin.store import default_home

    for _, _, module in PAGES:
        importlib.import_module(f"mapapp.pages.{module}")
    data.warm_start(str(default_home()), available_cities())
    yield None


if __name__ == "__main__":  # the script run of every page view (and of AppTest)
    main()
else:  # imported by ``streamlit run app.py``, which serves this ASGI app (uvicorn)
    app = st.App(__file__, lifespan=_warm)
