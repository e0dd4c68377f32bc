"""Every page of the map app x {zh, en} x {hangzhou, huzhou} renders (streamlit AppTest, no browser).

Both small twins have every engine's results and are validated (the session's shared
``engine_home``, tests/mapapp/conftest.py), so each page draws real catalog rows of what
the engines write. A page passes when the script raised nothing, no error box is shown
and the page header is the page's label in that language.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mapapp.i18n import t
from mapapp.pages import PAGES
from tests.conftest import REPO

APP = str(REPO / "app.py")
CITIES = ("hangzhou", "huzhou")
LANGS = ("zh", "en")


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page,label", [(p, label) for p, label, _ in PAGES])
def test_every_page_renders_in_every_language_and_city(engine_env, page, label, lang, city):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(page=page, city=city, lang=lang)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [h.value for h in at.header][:1] == [t(label, lang)]
    assert at.title[0].value == t("app.title", lang)
    assert not [w.value for w in at.warning if "twin demo" in w.value], "the twin is built"
