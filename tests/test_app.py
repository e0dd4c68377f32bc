"""The map app runs on a built twin and on a missing one (streamlit AppTest, no browser)."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "app.py")


def test_app_renders_a_built_twin(twin_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "carbon-twin: Hangzhou and Huzhou"
    assert len(at.dataframe) >= 3  # districts, layers, targets
    assert at.get("deck_gl_json_chart")


def test_language_switch_changes_labels(twin_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == "碳达峰数字孪生：杭州与湖州"
    assert any(h.value == "规划目标" for h in at.subheader)


def test_city_switch(twin_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.selectbox(key="city").set_value("huzhou").run()
    assert not at.exception
    districts = at.dataframe[0].value
    assert set(districts["adcode"]) == {"330502", "330503", "330521", "330522", "330523"}


def test_missing_twin_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "twin demo --city" in at.warning[0].value


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_label_exists_in_both_languages(lang):
    import ast

    tree = ast.parse((REPO / "app.py").read_text(encoding="utf-8"))
    text = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "TEXT")
    table = ast.literal_eval(text.value)
    assert all(lang in entry and entry[lang] for entry in table.values())
