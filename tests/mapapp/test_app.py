"""The map app on a built twin, a half-built one and a missing one (streamlit AppTest, no browser).

The twin is the session's shared ``engine_home`` (tests/mapapp/conftest.py): both small
cities with every engine's real results, validated, so every page renders what the engines
actually write; the twin without engine results (``twin_home``) shows that each engine page
says which command computes it.
"""

from __future__ import annotations

import re
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st_h
from streamlit.testing.v1 import AppTest

from mapapp.i18n import LABELS, category, column, t
from mapapp.pages import PAGES
from tests.conftest import REPO
from twin.store import TwinStore

APP = str(REPO / "app.py")


def _app(page: str = "overview", city: str = "huzhou", **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["page"] = page
    at.query_params["city"] = city
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _city_map(at: AppTest) -> dict:
    """The data of the page's SVG city map (see mapapp.pages._svgmap)."""
    import json

    (el,) = [e for e in at.get("bidi_component") if e.proto.component_name == "carbon_twin_svg_map"]
    return json.loads(el.proto.json)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize("page,label", [(p, label) for p, label, _ in PAGES])
def test_every_page_runs_with_its_widgets(engine_env, page, label):
    at = _app(page)
    _ok(at)
    assert at.title[0].value == t("app.title", "en")
    assert at.header[0].value == t(label, "en")
    assert at.sidebar.radio(key="page").value == page
    if page in ("overview", "pv"):  # aggregates at city zoom: the SVG district map
        assert _city_map(at)["svg"].count('class="area"') >= 5, "a district map"
    if page in ("wind", "sinks", "charging"):
        assert at.get("deck_gl_json_chart"), "a map"
    assert not [i.value for i in at.info if "Not computed yet" in i.value] or page == "overview"


def test_overview_tracks_targets_with_sources(engine_env):
    at = _app("overview")
    _ok(at)
    targets = at.dataframe[0].value
    assert "PV-Z1" in set(targets["Target id"])
    row = targets.set_index("Target id").loc["PV-Z1"]
    assert row["Computed by the twin"] > 0 and row["Source (seed:line)"].startswith("003:")
    # K-Z1 counts tea demonstration bases (003:232), which no layer holds: not all tea area
    assert targets.set_index("Target id").loc["K-Z1", "State"] == "not tracked by the twin"
    at.sidebar.radio(key="year").set_value(2030).run()
    _ok(at)
    assert "PV-Z2" in set(at.dataframe[0].value["Target id"])


def test_pv_filter_changes_table_and_map(engine_env):
    at = _app("pv")
    _ok(at)
    at.selectbox(key="pv_district").set_value("330502").run()
    _ok(at)
    n0 = len(at.dataframe[0].value)
    assert n0 > 0
    import json

    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    buildings = next(la for la in deck["layers"] if la["id"] == "buildings")
    assert len(buildings["data"]) == n0 and buildings["extruded"]
    at.slider(key="pv_min_kwp").set_value(20.0).run()
    _ok(at)
    table = at.dataframe[0].value
    assert 0 < len(table) < n0
    assert (table["Capacity [kWp]"] >= 20.0 - 0.05).all()
    assert "Synthetic" in table.columns  # synthetic buildings stay flagged where shown
    assert any("are synthetic" in c.value for c in at.caption)
    assert table["Capacity [kWp]"].is_monotonic_decreasing


def test_pv_city_map_shows_every_district_with_totals_and_legend(engine_env):
    at = _app("pv")
    _ok(at)
    m = _city_map(at)
    store = TwinStore("huzhou", engine_env)
    districts = store.read_layer("boundaries").query("level == 'district'")
    keys = set(re.findall(r'data-key="(\d+)"', m["svg"]))
    assert keys == set(districts["adcode"])
    totals = store.table("pv_districts").query("scenario == 'technical'")
    first = totals.sort_values("district_adcode").iloc[0]
    assert f"{first['pv_capacity_mw']:,.1f}" in m["svg"]  # the tooltip carries the totals
    assert m["pickable"] and m["legend_title"] and len(m["legend"]) == 5
    assert m["legend"][0][1].startswith("#")
    # the district totals table is sent only when its expander is opened
    assert not [d for d in at.dataframe if "District" in d.value.columns]
    at.session_state["pv_district_totals"] = True
    at.run()
    _ok(at)
    (table,) = [d.value for d in at.dataframe if "District" in d.value.columns]
    assert len(table) == len(keys)


def test_pv_filters_button_counts_the_active_filters(engine_env):
    at = _app("pv")
    assert "Filters (0 active)" in str([e.proto for e in at.get("popover")])
    at.slider(key="pv_min_sy").set_value(100.0).run()
    at.multiselect(key="pv_roof").unselect("flat").run()
    at.run()  # the label is read from the session before the widgets
    _ok(at)
    assert "Filters (2 active)" in str([e.proto for e in at.get("popover")])


def test_pv_empty_selection_is_handled(engine_env):
    at = _app("pv")
    top = at.slider(key="pv_min_kwp").max
    at.slider(key="pv_min_kwp").set_value(top).run()
    at.slider(key="pv_min_sy").set_value(at.slider(key="pv_min_sy").max).run()
    _ok(at)
    assert len(at.dataframe[-1].value) == 0
    assert any(t("app.no_selection", "en") == i.value for i in at.info)


def test_language_switch_changes_labels(engine_env):
    at = _app("pv")
    at.sidebar.radio(key="lang").set_value("zh").run()
    _ok(at)
    assert at.title[0].value == t("app.title", "zh")
    assert at.header[0].value == "光伏选址"
    assert at.selectbox(key="pv_district").label == "区县"
    assert "装机容量 [kWp]" in at.dataframe[-1].value.columns


def test_inspector_shows_a_building_and_refuses_unknown_ids(engine_env):
    at = _app("inspector")
    _ok(at)
    assert not any(t("in.none", "en") in i.value for i in at.info)  # opens on the best building
    assert at.text_input(key="in_building").value
    bid = TwinStore("huzhou", engine_env).connect().execute(
        "SELECT building_id FROM pv_buildings ORDER BY pv_capacity_kwp DESC LIMIT 1").fetchone()[0]
    at.text_input(key="in_building").input(bid).run()
    _ok(at)
    assert {s.value for s in at.subheader} >= {t("in.facets", "en"), t("in.monthly", "en")}
    assert len(at.get("vega_lite_chart")) == 3  # monthly AC and POA, loss cascade, polar horizon
    at.text_input(key="in_building").input("x' OR 1=1; DROP TABLE pv_buildings; --").run()
    _ok(at)
    assert "is not in this twin" in at.warning[0].value


def test_engine_pages_say_which_command_computes_them(twin_env):
    for page, cmd in (("wind", "twin sites --city hangzhou --only wind"),
                      ("sinks", "twin sinks --city hangzhou"),
                      ("charging", "twin coverage --city hangzhou"),
                      ("pv", "twin pv --city hangzhou")):
        at = _app(page, city="hangzhou")
        _ok(at)
        assert any(cmd in i.value for i in at.info), (page, [i.value for i in at.info])


def test_missing_twin_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_HOME", str(tmp_path))
    at = _app("pv")
    _ok(at)
    assert "twin demo --city huzhou" in at.warning[0].value


def test_half_built_twin_says_how_to_rebuild(twin_home, tmp_path, monkeypatch):
    bounds = TwinStore("huzhou", twin_home).read_layer("boundaries")
    TwinStore("huzhou", tmp_path).commit(layers={"boundaries": bounds})
    monkeypatch.setenv("TWIN_HOME", str(tmp_path))
    at = _app("overview")
    _ok(at)
    assert "buildings" in at.warning[0].value and "twin demo --city huzhou" in at.warning[0].value


def test_a_twin_being_written_reads_as_busy(twin_home, tmp_path, monkeypatch):
    """A `twin` command writing the catalog: "being updated, try again", not "build it"."""
    import subprocess
    import sys
    import textwrap

    shutil.copytree(twin_home / "huzhou", tmp_path / "huzhou")
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from twin.store import TwinStore
        con = TwinStore("huzhou", {str(tmp_path)!r}).connect(read_only=False)
        con.execute("BEGIN TRANSACTION")
        print("writing", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        if proc.stdout.readline().strip() != "writing":  # the writer died: say why
            proc.kill()
            pytest.fail("the writing process did not start:\n" + proc.stderr.read()[-3000:])
        monkeypatch.setenv("TWIN_HOME", str(tmp_path))
        at = _app("overview")
        _ok(at)
        shown = " ".join(w.value for w in at.warning)
        assert "is being updated" in shown and "locked/busy" in shown
        assert "twin demo" not in shown and not at.error
    finally:
        proc.kill()
        proc.wait()


def test_export_formats(engine_env, tmp_path):
    from mapapp import data as app_data

    home, v = str(engine_env), app_data.catalog_version(str(engine_env), "huzhou")
    ids = list(TwinStore("huzhou", engine_env).read_layer("pv_buildings")["building_id"].iloc[:5])
    csv = app_data.export_bytes(home, "huzhou", v, ids, "csv").decode()
    assert len(csv.strip().splitlines()) == 6 and "POLYGON" in csv
    gpkg = tmp = tmp_path / "x.gpkg"
    tmp.write_bytes(app_data.export_bytes(home, "huzhou", v, ids, "gpkg"))
    g = gpd.read_file(gpkg)
    assert len(g) == 5 and g.crs.to_epsg() == 4549 and g["is_synthetic"].all()
    gj = gpd.read_file(app_data.export_bytes(home, "huzhou", v, ids, "geojson").decode())
    assert len(gj) == 5 and gj.crs.to_epsg() == 4326
    assert set(gj["building_id"]) == set(ids)
    with pytest.raises(Exception, match="does not read a table"):
        app_data.table(home, "huzhou", v, "_layers; DROP TABLE buildings")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_label_exists_in_both_languages(lang):
    assert all(entry.get(lang) for entry in LABELS.values())


def test_every_label_used_is_defined():
    sources = [REPO / "app.py", *sorted((REPO / "mapapp" / "pages").glob("*.py"))]
    used = set()
    for path in sources:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""", path.read_text("utf-8")))
        used |= set(re.findall(r"""["']((?:page|pv|pv_sites)\.[a-z_]+)["']""", path.read_text("utf-8")))
    assert len(used) > 40
    missing = sorted(u for u in used if u not in LABELS and not u.startswith("pv_sites."))
    assert not missing


def test_progress_frame_gap_and_state():
    from mapapp.pages.overview import progress_frame

    targets = pd.DataFrame({
        "id": ["A", "B", "C", "D"], "kind": "target", "is_governing": True,
        "year": pd.array([2025, 2025, 2025, 2030], dtype="Int64"),
        "metric": ["pv_capacity_mw", "charging_circle_coverage_pct", "green_building_2star_share_pct",
                   "pv_capacity_mw"],
        "value": [100.0, 100.0, 40.0, 10.0], "unit": ["mw", "pct", "pct", "mw"],
        "comparator": [">=", ">=", ">=", ">="], "baseline_value": [20.0, np.nan, np.nan, np.nan],
        "indicator_en": ["a", "b", "c", "d"], "indicator_zh": ["甲", "乙", "丙", "丁"],
        "status": "final", "source": ["002:1", "002:2", "002:3", "002:4"]})
    tracked = pd.DataFrame({"target_id": ["A", "B"], "potential": [50.0, 100.0],
                            "baseline_engine": [np.nan, np.nan], "engine": ["pv", "coverage"]})
    pf = progress_frame(targets, tracked, 2025, "en", "huzhou", {"pv", "coverage"}).set_index("id")
    assert list(pf.index) == ["A", "B", "C"]
    assert pf.loc["A", "reach"] == 70.0 and pf.loc["A", "gap"] == 30.0  # capacity adds to baseline
    assert pf.loc["A", "state_key"] == "gap" and pf.loc["B", "state_key"] == "met"
    assert pf.loc["C", "state_key"] == "not_tracked"
    assert "杭州" in pf.loc["A", "source_title"]
    none = progress_frame(targets, tracked.iloc[:0], 2025, "en", "huzhou", set()).set_index("id")
    assert none.loc["A", "state_key"] == "not_computed"
    assert none.loc["A", "command"] == "twin pv --city huzhou"


def test_svg_map_draws_escaped_areas_water_and_lines():
    from mapapp.mapstyle import svg_map

    ring = [[120.0, 30.0], [120.2, 30.0], [120.2, 30.2], [120.0, 30.2], [120.0, 30.0]]
    hole = [[120.05, 30.05], [120.1, 30.05], [120.1, 30.1], [120.05, 30.05]]
    areas = pd.DataFrame({"polygon": [[ring, hole], ring], "fill": [[10, 20, 30, 255]] * 2,
                          "key": ["330502", '"><script>'], "tip": ["A\n1.0", "<b>x</b>"]})
    segs = pd.DataFrame({"from_lonlat": [[120.0, 30.0]], "to_lonlat": [[120.2, 30.2]]})
    svg = svg_map(areas, (120.0, 30.0, 120.2, 30.2), water=areas[["polygon"]].iloc[1:],
                  lines=[(segs, (1, 2, 3, 255), 1.5)], width=200, height=100)
    assert svg.count('class="area"') == 2 and 'class="water"' in svg and 'class="line"' in svg
    assert "<script>" not in svg and "<b>" not in svg and "&lt;b&gt;" in svg
    assert svg.count("M") - svg.count("M", svg.index('class="water"')) == 3  # ring, hole, ring
    xy = np.array([[int(v) for v in p.split(",")]
                   for p in re.findall(r"-?\d+,-?\d+", svg.split('data-width')[1])])
    assert xy[:, 0].min() >= 0 and xy[:, 0].max() <= 2000 and xy[:, 1].max() <= 1000
    top = re.search(r'd="M(-?\d+),(-?\d+)', svg)
    assert int(top.group(2)) > 500  # y points down: the southern edge is at the bottom


def test_geometry_packing_keeps_every_part():
    from mapapp.data import _pack

    geoms = np.array([shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
                      shapely.box(5, 5, 6, 6)], dtype=object)
    out = _pack(pd.DataFrame({"k": ["a", "b"]}), geoms)
    assert list(out["k"]) == ["a", "a", "b"] and all(len(p) == 5 for p in out["polygon"])
    pts = _pack(pd.DataFrame({"k": [1, 2]}), shapely.points([[1, 2], [3, 4]]))
    assert list(pts["lon"]) == [1, 3] and list(pts["lat"]) == [2, 4]
    ring = shapely.box(0, 0, 10, 10).difference(shapely.box(4, 4, 6, 6))  # a courtyard
    holed = _pack(pd.DataFrame({"k": ["c", "d"]}),
                  np.array([ring, shapely.box(20, 0, 21, 1)], dtype=object))
    assert [len(r) for r in holed["polygon"][0]] == [5, 5] and len(holed["polygon"][1]) == 5


def test_segments_of_lines_for_the_line_layer():
    from mapapp.data import _segments

    lines = np.array([shapely.LineString([(0, 0), (1, 0), (1, 1)]),
                      shapely.MultiLineString([[(5, 5), (6, 5)], [(7, 7), (7, 7), (8, 8)]])],
                     dtype=object)
    seg = _segments(lines)
    assert seg["from_lonlat"].tolist() == [[0, 0], [1, 0], [5, 5], [7, 7]]
    assert seg["to_lonlat"].tolist() == [[1, 0], [1, 1], [6, 5], [8, 8]]  # none across parts
    assert len(_segments(np.array([], dtype=object))) == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_column_labels_are_unique_in_every_language(lang):
    from mapapp.i18n import _COLUMNS

    labels = [v[lang] for v in _COLUMNS.values()]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    assert not dup, f"two columns share a {lang} label: {dup}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_says_whether_the_twin_matches_the_city(engine_env, lang):
    at = _app("overview", lang=lang)
    _ok(at)
    frames = [d.value for d in at.dataframe]
    verdict = column("verdict", lang)
    (table,) = [f for f in frames if verdict in f.columns]
    assert {column("quantity", lang), column("twin_value", lang), column("source", lang),
            column("synthetic_share", lang)} <= set(table.columns)
    assert len(table) >= 5
    assert set(table[verdict]) <= {category(v, lang) for v in ("pass", "fail", "not_computed")}
    assert any(t("ov.validation", lang) == h.value for h in at.subheader)


# -- honest totals: a demo sample is never added to a reported baseline --------------------------
def _chart_data(at: AppTest) -> pd.DataFrame:
    """The overview's progress bars (series and share of target per target id)."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0]  # the progress bars; the trajectory charts follow
    frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]
    return next(f for f in frames if "series" in f.columns)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_never_adds_a_demo_sample_to_the_reported_baseline(engine_env, lang):
    """Hangzhou (reported 2020 PV baseline 1,340 MW) with rooftop PV on the small demo only."""
    at = _app("overview", city="hangzhou", lang=lang)
    _ok(at)
    scope = TwinStore("hangzhou", engine_env).table("pv_city").iloc[0]
    assert not scope["is_citywide"] and scope["n_buildings"] < 10_000
    targets = at.dataframe[0].value.set_index(column("target_id", lang))
    row = targets.loc["PV-H1"]
    assert row[column("baseline", lang)] == 1340.0  # the reported 2020 baseline, apart
    assert row[column("potential", lang)] > 0  # the twin's demo total, apart
    assert pd.isna(row[column("share_pct", lang)]) and pd.isna(row[column("gap", lang)])
    assert row[column("state", lang)] == t("state.demo_sample", lang)
    demo = t("scope.demo", lang, n=int(scope["n_buildings"]), total=2_000_000, pct="")
    assert demo.split("（")[0].split("(")[0] in row[column("basis", lang)]
    bars = _chart_data(at)
    pv = bars.loc[bars["id"] == "PV-H1"].set_index("series")["pct"]
    assert pv[t("series.baseline", lang)] == pytest.approx(100 * 1340 / 4800)
    assert pv[t("series.potential", lang)] == 0.0  # no computed bar stacked on the baseline
    assert any("PV-H1" in i.value and t("ov.demo_sample", lang) in i.value.lower() for i in at.info)
    cards = {m.label: m for m in at.metric}
    installed = cards[t("ov.pv_installed", lang, year=2020)]
    assert installed.value.startswith("1,340")
    assert cards[t("ov.pv_potential", lang)].delta == t("ov.demo_sample", lang)


#: Pages that show aggregates (the wind page has its own owner; the inspector shows one building).
_SCOPED_PAGES = ("overview", "pv", "sinks", "charging")


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", _SCOPED_PAGES)
def test_every_page_states_the_synthetic_share_of_its_aggregates(engine_env, page, lang):
    at = _app(page, lang=lang)
    _ok(at)
    prefix = t("scope.synthetic", lang, share="").rstrip("：: ")
    scoped = [c.value for c in at.caption if prefix in c.value]
    scoped += [i.value for i in at.info if prefix in i.value]
    assert scoped, [c.value for c in at.caption]
    assert all(re.search(r"\d %", c) for c in scoped)
    if page in ("overview", "pv"):  # the rooftop totals rest on the small demo of Huzhou
        n = TwinStore("huzhou", engine_env).table("pv_city")["n_buildings"].iloc[0]
        demo = t("scope.demo", lang, n=int(n), total=700_000, pct="X")
        assert any(demo.split("X")[0] in c for c in scoped), scoped


@pytest.mark.parametrize("kind", ["water", "ground"])
def test_pv_sites_state_their_synthetic_share(engine_env, kind):
    at = _app("pv")
    at.session_state["pv_kind"] = kind
    at.run()
    _ok(at)
    share = TwinStore("huzhou", engine_env).table("pv_sites_city").query(
        "kind == @kind and site_category == 'all'")["synthetic_share"]
    if share.empty:
        pytest.skip(f"no {kind} sites in the small twin")
    from mapapp.pages._common import share_text

    assert any(t("scope.synthetic", "en", share=share_text(share)) in c.value for c in at.caption)


def test_progress_frame_keeps_a_demo_sample_apart_from_the_baseline():
    from mapapp.pages.overview import progress_frame

    targets = pd.DataFrame({
        "id": ["A", "B", "C"], "kind": "target", "is_governing": True,
        "year": pd.array([2025, 2025, 2025], dtype="Int64"),
        "metric": ["pv_capacity_mw", "pv_capacity_mw", "forest_coverage_pct"],
        "value": [100.0, 100.0, 60.0], "unit": ["mw", "mw", "pct"], "comparator": ">=",
        "baseline_value": [20.0, 20.0, 55.0], "indicator_en": ["a", "b", "c"],
        "indicator_zh": ["甲", "乙", "丙"], "status": "final", "source": ["002:1", "002:2", "002:3"]})
    tracked = pd.DataFrame({
        "target_id": ["A", "B", "C"], "potential": [50.0, 50.0, 62.0],
        "baseline_engine": np.nan, "engine": ["pv", "pv", "sinks"],
        "synthetic_share": [0.9, 0.0, 1.0], "n_buildings": [3000, 2_000_000, np.nan],
        "city_buildings_estimate": [2_000_000, 2_000_000, np.nan],
        "coverage_share": [0.0015, 1.0, np.nan], "is_citywide": [False, True, np.nan]})
    for lang in ("en", "zh"):
        pf = progress_frame(targets, tracked, 2025, lang, "hangzhou", {"pv", "sinks"}).set_index("id")
        a, b, c = pf.loc["A"], pf.loc["B"], pf.loc["C"]
        # a demo sample: baseline and potential kept, never summed nor set against the target
        assert a["baseline"] == 20.0 and a["potential"] == 50.0 and a["is_sample"]
        assert np.isnan(a["reach"]) and np.isnan(a["gap"]) and np.isnan(a["share_pct"])
        assert a["pot_pct"] == 0.0 and a["base_pct"] == 20.0
        assert a["state_key"] == "demo_sample" and a["state"] == t("state.demo_sample", lang)
        assert t("scope.synthetic", lang, share="90 %") in a["basis"]
        assert "3,000" in a["basis"] and "2,000,000" in a["basis"]
        # a citywide total of real buildings adds to the installed baseline
        assert not b["is_sample"] and b["reach"] == 70.0 and b["share_pct"] == 70.0
        assert t("scope.citywide", lang, n=2_000_000) in b["basis"]
        # an engine that does not say whether it is citywide: compared, its synthetic share stated
        assert c["reach"] == 62.0 and c["state_key"] == "met"
        assert c["basis"] == t("scope.synthetic", lang, share="100 %")


def test_scope_text_reads_what_a_table_has():
    from mapapp.pages._common import scope_text

    demo = pd.DataFrame({"scenario": ["technical", "low"], "synthetic_share": [0.94, 0.97],
                         "n_buildings": 30761, "city_buildings_estimate": 2_000_000,
                         "coverage_share": 0.0154, "is_citywide": False})
    assert scope_text(demo, "en") == ("Synthetic input: 94–97 % · demo: 30,761 of about 2,000,000 "
                                      "buildings (1.5 %), a sample not comparable with citywide "
                                      "targets")
    assert scope_text(demo, "zh").startswith("合成输入：94–97 % · 演示样本："
                                             "全市约 2,000,000 栋建筑中的 30,761 栋")
    assert scope_text({"synthetic_share": 0.0}, "en") == "Synthetic input: 0 %"
    assert scope_text({"synthetic_share": 0.004, "n_buildings": 12}, "en") == \
        "Synthetic input: 0.4 % · 12 buildings"
    # no synthetic share in the table: the layers it rests on stand in; nothing known: nothing said
    assert scope_text(pd.DataFrame({"value": [1.0]}), "en", layers={"landcover": 1.0}) == \
        "Synthetic input (layers it rests on): land cover 100 %"
    assert scope_text(pd.DataFrame({"synthetic_share": [np.nan]}), "zh", layers={"roads": 0.5}) == \
        "合成输入（所依据的图层）：道路 50 %"
    assert scope_text(None, "en") == "" and scope_text(pd.DataFrame({"value": [1.0]}), "en") == ""


@given(st_h.lists(st_h.floats(0.0, 1.0), min_size=1, max_size=8))
def test_share_text_spans_the_shares_given(shares):
    from mapapp.pages._common import share_text

    text = share_text([*shares, np.nan, "n/a"])
    m = re.fullmatch(r"(\d+(?:\.\d)?)(?:–(\d+(?:\.\d)?))? %", text)
    assert m, text
    lo, hi = float(m.group(1)), float(m.group(2) or m.group(1))
    assert lo <= hi
    assert lo == pytest.approx(100 * min(shares), abs=0.5) and hi == pytest.approx(100 * max(shares), abs=0.5)
    assert share_text([np.nan]) == "" and share_text([]) == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sinks_page_sets_the_reported_baselines_beside_the_twin(engine_env, lang):
    at = _app("sinks", city="hangzhou", lang=lang)
    _ok(at)
    assert t("sink.baselines", lang) in [s.value for s in at.subheader]
    label = {k: column(k, lang) for k in ("indicator", "baseline_value", "baseline_ratio",
                                          "is_off_baseline")}
    tables = [d.value for d in at.dataframe if label["baseline_ratio"] in d.value.columns]
    assert tables, "a baseline table"
    b = tables[0].set_index(label["indicator"])
    assert "forest_carbon_stock_t_c" in b.index
    ind = TwinStore("hangzhou", engine_env).table("sink_indicators")
    city = ind.loc[(ind["level"] == "city") & ind["baseline_ratio"].notna()]
    for r in city.itertuples():  # the ratio is the twin over the city's own figure
        assert r.baseline_ratio == pytest.approx(r.value / r.baseline_value)
    n_off = int(city.drop_duplicates("indicator")["is_off_baseline"].fillna(False).astype(bool).sum())
    assert len([w for w in at.warning if "%" in w.value]) >= n_off
