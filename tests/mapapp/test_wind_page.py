"""The wind page on Hangzhou (streamlit AppTest): it draws sites, exclusions, project areas and the
draft-only mudflats zone, labelled in both languages, with sites that are not viable in grey."""

from __future__ import annotations

import html
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from mapapp.i18n import t
from mapapp.pages.wind import NOT_VIABLE_FILL
from tests.conftest import REPO


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wind_page_draws_every_layer_with_a_legend(engine_env, lang):
    """On the shared twin (wind on a 400 m grid, tests/mapapp/conftest.py)."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update({"page": "wind", "city": "hangzhou", "lang": lang})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    (chart,) = at.get("deck_gl_json_chart")
    deck = json.loads(chart.proto.json)
    layers = {la["id"]: la for la in deck["layers"]}
    assert {"eligible", "exclusions", "draft_zones", "turbines"} <= set(layers)
    turbines = layers["turbines"]["data"]
    assert turbines and all(row["fill"] == NOT_VIABLE_FILL for row in turbines)  # no wind map
    assert all(len(layers[k]["data"]) for k in ("eligible", "exclusions", "draft_zones"))
    text = " ".join(m.value for m in at.markdown)  # the legend (HTML-escaped labels)
    for label in (t("wind.draft_zone", lang), t("wind.not_viable", lang, hours="1300"),
                  t("wind.eligible", lang, n=3)):
        assert html.escape(label) in text
    assert t("wind.draft_zone", "en") == "draft plan only (dropped in the final plan)"
    prefix = t("scope.synthetic", lang, share="").rstrip("：: ")  # the district totals' scope
    assert any(prefix in c.value and re.search(r"\d %", c.value) for c in at.caption), \
        [c.value for c in at.caption]
    assert t("wind.not_viable", "en", hours="1300") == "not viable (< 1300 full-load hours)"
