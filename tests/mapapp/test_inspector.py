"""The inspector's sheets (rooftop buildings, water/ground/wind sites) and the printable report.

AppTest on the session's shared twin ``engine_home`` (tests/mapapp/conftest.py: real
engine results for both cities): the page opens on a building without input, its figures and charts are the
catalog's values, in Chinese and English; the HTML report holds every selected building
with its figures and escapes what the catalog holds.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st_h
from streamlit.testing.v1 import AppTest

from mapapp import data as app_data
from mapapp import report as rp
from mapapp.i18n import column, t
from mapapp.pages.inspector import CHOSEN_RGBA, TOP_N, TOP_RGBA, _hex
from tests.conftest import REPO
from twin.store import TwinStore

APP = str(REPO / "app.py")


def _app(lang: str = "en", **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["page"] = "inspector"
    at.query_params["city"] = "huzhou"
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _buildings(home) -> pd.DataFrame:
    return TwinStore("huzhou", home).select("pv_buildings")


def _chart_frames(at: AppTest) -> list[pd.DataFrame]:
    """The data of every Vega-Lite chart on the page (Arrow IPC, as Streamlit sends it)."""
    out = []
    for ch in at.get("vega_lite_chart"):
        for ds in ch.proto.datasets:
            out.append(pa.ipc.open_stream(ds.data.data).read_pandas())
    return out


def _facet_svg(at: AppTest) -> ET.Element:
    """The sheet's facet map: the ``<svg>`` of :func:`mapapp.report.svg_facets` (st.markdown)."""
    (body,) = [m.value for m in at.markdown if "facet-map" in m.value]
    return ET.fromstring(body[body.index("<svg"):body.rindex("</svg>") + 6])


def _facet_ids(svg: ET.Element) -> list[str]:
    """Facet ids of the circles of a facet map (the first line of each one's tooltip)."""
    ns = "{http://www.w3.org/2000/svg}"
    return [c.find(f"{ns}title").text.split("\n")[0] for c in svg.iter(f"{ns}circle")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_opens_on_the_best_building_of_the_district_with_its_figures(engine_env, lang):
    at = _app(lang)
    _ok(at)
    district = at.selectbox(key="in_district").value
    b = _buildings(engine_env)
    b = b.loc[(b["district_adcode"] == district) & (b["pv_capacity_kwp"] > 0)]
    best = b.sort_values(["pv_yield_kwh_per_yr", "building_id"], ascending=[False, True]).iloc[0]
    assert at.text_input(key="in_building").value == best["building_id"]
    assert at.selectbox(key="in_top").value == best["building_id"]
    shown = _metrics(at)
    for name in rp.FIGURES["rooftop"]:
        assert shown[column(name, lang)] == rp.fmt(best[name], name), name
    # the figures a reader checks first, independently formatted
    assert shown[column("panel_count", lang)] == f"{int(best['panel_count']):,}"
    assert shown[column("capacity_factor", lang)] == f"{best['capacity_factor']:.3f}"
    assert 0 < best["capacity_factor"] < 0.25 and best["lcoe_cny_per_kwh"] > 0
    # the synthetic flag, as a warning and as the scope caption
    assert best["is_synthetic"]
    assert t("in.flag_is_synthetic", lang) in [w.value for w in at.warning]
    assert any("100 %" in c.value for c in at.caption)
    # monthly AC and POA are the catalog's twelve values
    monthly = next(f for f in _chart_frames(at) if "poa_kwh_per_m2" in f)
    np.testing.assert_allclose(monthly["ac_kwh"], [best[f"ac_kwh_{m:02d}"] for m in range(1, 13)])
    np.testing.assert_allclose(monthly["poa_kwh_per_m2"],
                               [best[f"poa_global_kwh_per_m2_{m:02d}"] for m in range(1, 13)])
    losses = next(f for f in _chart_frames(at) if "step" in f)
    assert list(losses["step"]) == ["nominal_kwh", *rp.LOSSES, "pv_yield_kwh_per_yr"]
    assert losses["kwh"].iloc[-1] == pytest.approx(best["pv_yield_kwh_per_yr"])
    # facets on a map, the horizon polar plot, a report download
    facets = TwinStore("huzhou", engine_env).select("pv_facets",
                                                 where={"building_id": best["building_id"]})
    drawn = _facet_svg(at)
    assert sorted(_facet_ids(drawn)) == sorted(facets["facet_id"]) and len(facets) > 0
    # both maps are SVG: no deck.gl on the inspector (seconds of WebGL without a GPU)
    assert not at.get("deck_gl_json_chart")
    top = _svg_map(at, "in_map")
    assert top["pickable"] and _areas(top["svg"])[best["building_id"]][0] == "area outlined chosen"
    horizon = next(f for f in _chart_frames(at) if "elevation_deg" in f)
    assert len(horizon) == 36 and (horizon["elevation_deg"] >= 0).all()
    assert at.get("download_button")


def test_ranking_by_lcoe_opens_on_the_cheapest_building(engine_env):
    at = _app("en")
    at.selectbox(key="in_rank").set_value("lcoe_cny_per_kwh").run()
    _ok(at)
    district = at.selectbox(key="in_district").value
    b = _buildings(engine_env)
    b = b.loc[(b["district_adcode"] == district) & (b["pv_capacity_kwp"] > 0)]
    cheapest = b.sort_values(["lcoe_cny_per_kwh", "building_id"]).iloc[0]
    assert at.text_input(key="in_building").value == cheapest["building_id"]
    assert _metrics(at)[column("lcoe_cny_per_kwh", "en")] == rp.fmt(cheapest["lcoe_cny_per_kwh"],
                                                                   "lcoe_cny_per_kwh")
    # another district opens on its own cheapest building
    b = _buildings(engine_env)
    b = b.loc[b["pv_capacity_kwp"] > 0]
    other = sorted(set(b["district_adcode"]) - {district})[0]
    at.selectbox(key="in_district").set_value(other).run()
    _ok(at)
    b = b.loc[b["district_adcode"] == other]
    assert at.text_input(key="in_building").value == b.sort_values(
        ["lcoe_cny_per_kwh", "building_id"]).iloc[0]["building_id"]


def test_a_building_by_id_or_from_the_pv_page_and_unknown_ids_refused(engine_env):
    b = _buildings(engine_env)
    pick = b.sort_values("pv_capacity_kwp").iloc[len(b) // 2]["building_id"]
    at = _app("zh")
    at.text_input(key="in_building").input(pick).run()
    _ok(at)
    assert at.text_input(key="in_building").value == pick
    assert at.selectbox(key="in_top").value == pick  # added to the list when not in the top N
    row = b.set_index("building_id").loc[pick]
    assert _metrics(at)[column("pv_yield_kwh_per_yr", "zh")] == rp.fmt(row["pv_yield_kwh_per_yr"],
                                                                      "pv_yield_kwh_per_yr")
    at.text_input(key="in_building").input("x' OR 1=1; DROP TABLE pv_buildings; --").run()
    assert not at.exception
    assert t("in.unknown", "zh", id="x' OR 1=1; DROP TABLE pv_buildings; --") in [w.value for w in at.warning]
    assert len(_buildings(engine_env)) == len(b)


def _svg_map(at: AppTest, key: str) -> dict:
    """The data of the SVG map component of widget key ``key`` (mapapp.pages._svgmap)."""
    (el,) = [e for e in at.get("bidi_component")
             if e.proto.component_name == "carbon_twin_svg_map" and e.proto.id.endswith(key)]
    return json.loads(el.proto.json)


def _areas(svg: str) -> dict[str, tuple[str, str]]:
    """Area key -> (its classes, its fill as ``#rrggbb``) in drawing order."""
    out = {}
    for cls, fill, key in re.findall(r'<(?:g|path) class="(area[^"]*)"[^>]*? fill="rgb\((\d+,\d+,\d+)\)"'
                                     r'[^>]*data-key="([^"]*)"', svg):
        out[key] = (cls, _hex([int(v) for v in fill.split(",")]))
    return out


def click_svg(at: AppTest, key: str, area: str) -> AppTest:
    """Click area ``area`` of the SVG map ``key``, as the browser reports it.

    The component's frontend sends a click as the trigger ``pick`` (its area's key) in the
    events widget of the component (``$$STREAMLIT_INTERNAL_KEY_<id>__events``, a JSON list
    of ``{"event", "value"}``: streamlit's bidi components). AppTest has no API for it, so
    the state is added to the next run's widget states: the ``on_pick`` callback runs
    exactly as after a click. Uses AppTest's private ``_tree`` / ``_run``.
    """
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    (el,) = [e for e in at.get("bidi_component")
             if e.proto.component_name == "carbon_twin_svg_map" and e.proto.id.endswith(key)]
    assert json.loads(el.proto.json)["pickable"], f"{key}: the map is not clickable (on_pick)"
    assert f'data-key="{area}"' in json.loads(el.proto.json)["svg"], f"{area} is not on {key}"
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(
        id=f"$$STREAMLIT_INTERNAL_KEY_{el.proto.id}__events",
        json_trigger_value=json.dumps([{"event": "pick", "value": area}])))
    return at._run(states)


def _deck(at: AppTest, key: str):
    """The pydeck chart of widget key ``key`` (its element id ends with the key)."""
    (chart,) = [d for d in at.get("deck_gl_json_chart") if d.proto.id.endswith(f"-{key}")]
    return chart


def click_map(at: AppTest, key: str, layer: str, row: int) -> AppTest:
    """Click object ``row`` of ``layer`` on the pydeck chart ``key``, as the browser reports it.

    AppTest has no API for a pydeck selection (its chart is not one of AppTest's widgets), so
    the selection the frontend would send, ``{"selection": {"indices": ..., "objects":
    ...}}`` (streamlit's ``PydeckSelectionSerde``), is added to the widget states of the
    next run: the app's ``on_select`` callback runs exactly as after a click. Uses
    AppTest's private ``_tree`` / ``_run``.
    """
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    chart = _deck(at, key)
    assert list(chart.proto.selection_mode), f"{key}: the map is not selectable (on_select)"
    deck = json.loads(chart.proto.json)
    obj = next(la for la in deck["layers"] if la["id"] == layer)["data"][row]
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps(
        {"selection": {"indices": {layer: [row]}, "objects": {layer: [obj]}}})))
    return at._run(states)


def test_a_click_on_the_map_opens_that_buildings_sheet(engine_env):
    at = _app("en")
    _ok(at)
    first = at.text_input(key="in_building").value
    district = at.selectbox(key="in_district").value
    m = _svg_map(at, "in_map")
    drawn = _areas(m["svg"])
    b = _buildings(engine_env)
    best = b.loc[(b["district_adcode"] == district) & (b["pv_capacity_kwp"] > 0)].sort_values(
        ["pv_yield_kwh_per_yr", "building_id"], ascending=[False, True])["building_id"]
    assert sorted(drawn) == sorted(best.iloc[:TOP_N])  # the district's top list, each once
    assert drawn[first] == ("area outlined chosen", _hex(CHOSEN_RGBA))  # red, outlined
    assert {v for k, v in drawn.items() if k != first} == {("area outlined", _hex(TOP_RGBA))}
    assert m["legend_title"] == t("in.map_legend", "en")
    assert [label for label, _ in m["legend"]] == [t("in.map_chosen", "en"), t("in.map_top", "en")]
    tip = re.search(rf'data-key="{first}" data-tip="([^"]*)"', m["svg"]).group(1)
    row = b.set_index("building_id").loc[first]
    assert tip == (f"{first}\n{column('pv_yield_kwh_per_yr', 'en')}: "
                   f"{rp.fmt(row['pv_yield_kwh_per_yr'], 'pv_yield_kwh_per_yr')}")
    picked = next(k for k in drawn if k != first)
    click_svg(at, "in_map", picked)
    _ok(at)
    assert at.text_input(key="in_building").value == picked
    assert at.selectbox(key="in_top").value == picked
    b = b.set_index("building_id").loc[picked]
    assert _metrics(at)[column("pv_yield_kwh_per_yr", "en")] == rp.fmt(b["pv_yield_kwh_per_yr"],
                                                                      "pv_yield_kwh_per_yr")
    redrawn = _areas(_svg_map(at, "in_map")["svg"])
    assert [k for k, (cls, _) in redrawn.items() if "chosen" in cls] == [picked]  # now red
    assert redrawn[picked][1] == _hex(CHOSEN_RGBA) and redrawn[first][1] == _hex(TOP_RGBA)
    want = TwinStore("huzhou", engine_env).select("pv_facets", where={"building_id": picked})
    assert sorted(_facet_ids(_facet_svg(at))) == sorted(want["facet_id"])  # the clicked building's
    assert not at.get("deck_gl_json_chart")


def test_a_click_on_the_pv_map_opens_the_building_in_the_inspector(engine_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(page="pv", city="huzhou", lang="zh")
    at.run()
    district = sorted(set(_buildings(engine_env)["district_adcode"]))[0]
    at.selectbox(key="pv_district").set_value(district).run()
    _ok(at)
    deck = json.loads(_deck(at, "pv_map").proto.json)
    shown = next(la for la in deck["layers"] if la["id"] == "buildings")["data"]
    row = len(shown) // 2
    picked = shown[row]["id"]
    click_map(at, "pv_map", "buildings", row)
    _ok(at)
    deck = json.loads(_deck(at, "pv_map").proto.json)
    chosen = next(la for la in deck["layers"] if la["id"] == "chosen")["data"]
    assert [r["p"] for r in chosen] == [r["p"] for r in shown if r["id"] == picked]  # in red
    assert all(r["c"][:3] == [255, 40, 40] for r in chosen)
    at.button(key="pv_open_inspector").click().run()
    _ok(at)
    assert at.sidebar.radio(key="page").value == "inspector"
    assert at.text_input(key="in_building").value == picked
    b = _buildings(engine_env).set_index("building_id").loc[picked]
    assert _metrics(at)[column("panel_count", "zh")] == f"{int(b['panel_count']):,}"


@pytest.mark.parametrize("kind,table", [("water", "water_pv_sites"), ("ground", "ground_pv_sites"),
                                        ("wind", "wind_sites")])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_site_sheets_show_the_largest_site_with_its_figures(engine_env, kind, table, lang):
    sites = TwinStore("huzhou", engine_env).select(table)
    if sites.empty:
        pytest.skip(f"the demo has no {table}")
    at = _app(lang)
    at.segmented_control(key="in_kind").set_value(kind).run()
    _ok(at)
    idc, cap = rp.ID_COLUMN[kind], ("capacity_mw" if kind == "wind" else "capacity_mwp")
    top = sites.sort_values([cap, idc], ascending=[False, True]).iloc[0]
    assert at.selectbox(key=f"in_site_{kind}").value == top[idc]
    shown = _metrics(at)
    figs = [c for c in rp.FIGURES[kind] if c in sites.columns]
    assert figs
    for name in figs:
        assert shown[column(name, lang)] == rp.fmt(top[name], name), name
    assert not at.get("deck_gl_json_chart")
    site = _svg_map(at, f"in_site_map_{kind}")  # the site on an SVG map, outlined
    assert _areas(site["svg"]) == {top[idc]: ("area chosen", "#e67828")}
    assert ("class=\"marker\"" in site["svg"]) == (kind == "wind")  # a point: a dot
    assert at.get("download_button")


# -- the report ----------------------------------------------------------------------------
_EVIL_ID = '"><script>alert(1)</script>'
_EVIL_NAME = "<img src=x onerror=alert('x')>"


def _frame(n: int = 3) -> pd.DataFrame:
    rows = []
    for i in range(n):
        ac = [100.0 + 10 * m + i for m in range(12)]
        total = float(sum(ac))
        rows.append({"building_id": f"b{i}", "district_adcode": "330502", "use_class": "residential",
                     "roof_type": "flat", "pv_capacity_kwp": 10.0 + i,
                     "pv_yield_kwh_per_yr": total, "capacity_factor": 0.12,
                     "specific_yield_kwh_per_kwp": total / (10 + i), "panel_count": 20 + i,
                     "sunshine_h": 1700.0, "co2_avoided_t_co2_per_yr": total * 5.6e-4,
                     "lcoe_cny_per_kwh": 0.31, "simple_payback_yr": 6.5,
                     "shading_loss_fraction": 0.05, "nominal_kwh": total + 500.0,
                     "loss_horizon_kwh": 100.0, "loss_iam_kwh": 50.0, "loss_temperature_kwh": 150.0,
                     "loss_system_kwh": 150.0, "loss_inverter_kwh": 50.0,
                     "height_defaulted": i == 1, "roof_type_defaulted": False, "is_synthetic": True,
                     **{f"ac_kwh_{m + 1:02d}": v for m, v in enumerate(ac)},
                     **{f"poa_global_kwh_per_m2_{m:02d}": 120.0 + m for m in range(1, 13)}})
    return pd.DataFrame(rows)


def _svgs_well_formed(doc: str) -> int:
    svgs = re.findall(r"<svg.*?</svg>", doc, flags=re.S)
    for s in svgs:
        ET.fromstring(s)  # raises on a malformed element or an unescaped text
    return len(svgs)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_holds_every_building_with_its_figures_and_escapes_text(lang):
    rows = _frame()
    rows.loc[2, "building_id"] = _EVIL_ID
    rows.loc[2, "use_class"] = _EVIL_NAME
    horizon = pd.DataFrame([{f"horizon_elev_deg_{a:03d}": 5.0 for a in range(0, 360, 10)}])
    doc = rp.html_report(rows, "rooftop", lang, city="湖州" if lang == "zh" else "Huzhou",
                         facets={"b0": horizon}, synthetic_note=_EVIL_NAME)
    assert "<script" not in doc and "<img" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc and "&lt;img src=x" in doc
    assert doc.count("<section") == 3
    for _, r in rows.iterrows():
        section = doc.split(f"{column('building_id', lang)}: ")[1:]
        assert any(s.startswith(rp._esc(r["building_id"])) for s in section)
        for name in ("pv_yield_kwh_per_yr", "capacity_factor", "panel_count", "lcoe_cny_per_kwh"):
            assert f">{rp.fmt(r[name], name)}<" in doc
    assert t("in.flag_height_defaulted", lang) in doc and t("in.flag_is_synthetic", lang) in doc
    assert t("in.monthly", lang) in doc and t("in.losses", lang) in doc
    # 3 monthly + 3 loss charts + 1 horizon, each well-formed XML; nothing fetched from outside
    assert _svgs_well_formed(doc) == 7
    assert not re.search(r"(src|href)=\"?(https?:)?//", doc)


@pytest.mark.parametrize("kind", ["water", "wind"])
def test_site_report_escapes_and_lists_every_site(kind):
    idc = rp.ID_COLUMN[kind]
    cap = "capacity_mw" if kind == "wind" else "capacity_mwp"
    rows = pd.DataFrame({idc: ["s1", _EVIL_ID], cap: [12.5, 3.25], "name": ["池塘", _EVIL_NAME],
                         "capacity_factor": [0.13, 0.2], "is_synthetic": [False, True]})
    doc = rp.html_report(rows, kind, "zh", city="湖州")
    assert "<script" not in doc and "<img" not in doc
    assert doc.count("<section") == 2 and ">12.50<" in doc and ">3.25<" in doc
    assert "s1" in doc and t(f"in.kind_{kind}", "zh") in doc
    with pytest.raises(ValueError, match="report kind"):
        rp.html_report(rows, "nuclear", "en")


def test_report_of_catalog_buildings_has_their_figures(engine_env):
    b = _buildings(engine_env)
    ids = tuple(b.sort_values("pv_yield_kwh_per_yr", ascending=False)["building_id"].head(4))
    version = app_data.catalog_version(str(engine_env), "huzhou")
    rows, facets = app_data.pv_report_rows(str(engine_env), "huzhou", version, ids)
    assert tuple(rows["building_id"]) == ids and set(facets) == set(ids)
    doc = rp.html_report(rows, "rooftop", "zh", facets=facets)
    assert doc.count("<section") == 4
    for bid in ids:
        r = b.set_index("building_id").loc[bid]
        assert f'id="building_id-{bid}"' in doc
        assert f">{rp.fmt(r['pv_yield_kwh_per_yr'], 'pv_yield_kwh_per_yr')}<" in doc
    assert _svgs_well_formed(doc) == 4 * 4  # monthly, losses, horizon, facet map
    # each section's facet map holds that building's facets, on its footprint
    for bid in ids:
        sec = doc[doc.index(f'id="building_id-{bid}"'):]
        sec = sec[:sec.index("</section>")]
        svg = ET.fromstring(sec[sec.index('<svg xmlns="http://www.w3.org/2000/svg" class="facet-map"'):]
                            .split("</svg>", 1)[0] + "</svg>")
        assert sorted(_facet_ids(svg)) == sorted(facets[bid]["facet_id"])
        assert len(list(svg.iter("{http://www.w3.org/2000/svg}path"))) == 1  # the footprint


# -- figures, formats and the loss cascade -----------------------------------------------------
def test_fmt_formats_by_kind_of_value():
    assert rp.fmt(0.12345, "capacity_factor") == "0.123"
    assert rp.fmt(1234567.8, "pv_yield_kwh_per_yr") == "1,234,568"
    assert rp.fmt(5.555, "simple_payback_yr") == "5.55" or rp.fmt(5.555, "simple_payback_yr") == "5.56"
    assert rp.fmt(np.int64(8668)) == "8,668"
    assert rp.fmt(float("nan")) == rp.fmt(None) == rp.fmt(float("inf")) == "–"
    assert rp.fmt(np.True_) == "yes" and rp.fmt("flat") == "flat"


@given(nominal=st_h.floats(1.0, 1e7),
       shares=st_h.lists(st_h.floats(0.0, 0.2), min_size=5, max_size=5),
       miss=st_h.floats(-0.5, 0.5))
def test_loss_cascade_steps_chain_and_its_gap_is_found(nominal, shares, miss):
    losses = {c: nominal * s for c, s in zip(rp.LOSSES, shares, strict=True)}
    ac = nominal - sum(losses.values())
    row = pd.Series({"nominal_kwh": nominal, **losses, "pv_yield_kwh_per_yr": ac * (1 + miss)})
    f = rp.loss_frame(row)
    assert list(f["step"]) == ["nominal_kwh", *rp.LOSSES, "pv_yield_kwh_per_yr"]
    np.testing.assert_allclose(f["end"].iloc[1:-1].to_numpy(),
                               (f["start"] + f["kwh"]).iloc[1:-1].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(f["start"].iloc[1:-1].to_numpy(), f["end"].iloc[:-2].to_numpy())
    assert rp.cascade_gap(row) == pytest.approx(-ac * miss, abs=1e-6 * nominal)
    assert rp.cascade_closes(row) == (abs(ac * miss) <= 0.01 * max(abs(ac * (1 + miss)), 1.0))


def test_horizon_points_clip_to_the_sky():
    facet = pd.Series({"facet_id": "f", "horizon_elev_deg_000": -3.0, "horizon_elev_deg_090": 12.0,
                       "horizon_elev_deg_180": 95.0})
    h = rp.horizon_points(facet)
    assert list(h["azimuth_deg"]) == [0.0, 90.0, 180.0]
    assert list(h["elevation_deg"]) == [0.0, 12.0, 90.0]
    svg = rp.svg_horizon(h, "en")
    ET.fromstring(svg)
    assert rp.svg_horizon(h.iloc[:0], "en") == ""


def _square(lon: float, lat: float, d: float = 0.0002) -> list[list[float]]:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_facet_map_svg_colours_by_yield_greys_unviable_and_escapes(lang):
    """The facet map (inspector sheet and report): one circle per facet inside the drawing,
    the higher yield on the other end of the ramp, not viable grey, text escaped."""
    outline = pd.DataFrame({"polygon": [_square(120.1, 30.8)]})
    facets = pd.DataFrame({"facet_id": ["f<1>", "f2", "f3"], "lon": [120.10005, 120.10015, 120.1001],
                           "lat": [30.80005, 30.80015, 30.8001],
                           "specific_yield_kwh_per_kwp": [800.0, 1200.0, 1000.0],
                           "is_viable": [True, True, False], "roof_area_m2": [40.0, 40.0, 10.0]})
    svg = ET.fromstring(rp.svg_facets(outline, facets, lang))
    ns = "{http://www.w3.org/2000/svg}"
    circles = list(svg.iter(f"{ns}circle"))
    assert _facet_ids(svg) == ["f<1>", "f2", "f3"]  # escaped in the markup, parsed back
    fills = [c.get("fill") for c in circles]
    assert fills[0] != fills[1] and fills[2] == "rgb(160,160,160)"
    w, h = float(svg.get("width")), float(svg.get("height"))
    for c in circles:  # tenths of a pixel inside the drawing, radius at least 3 px
        x, y, r = (float(c.get(k)) / 10 for k in ("cx", "cy", "r"))
        assert 0 < x < w and 0 < y < h and r >= 3
    # mirror symmetry: the two equal-area facets (diagonal of the square) get equal radii
    assert circles[0].get("r") == circles[1].get("r")
    texts = [e.text for e in svg.iter(f"{ns}text")]
    assert column("specific_yield_kwh_per_kwp", lang) in texts
    assert t("in.not_viable", lang) in texts
    labels = texts[1:-1]
    assert len(labels) == len(set(labels)) >= 2  # legend classes never repeat


def test_facet_map_svg_is_empty_without_geometry_and_draws_an_outline_alone():
    none = pd.DataFrame({"polygon": []})
    assert rp.svg_facets(none, pd.DataFrame(), "en") == ""
    only = rp.svg_facets(pd.DataFrame({"polygon": [_square(120.1, 30.8)]}), pd.DataFrame(), "en")
    svg = ET.fromstring(only)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(list(svg.iter(f"{ns}path"))) == 1 and not list(svg.iter(f"{ns}circle"))
