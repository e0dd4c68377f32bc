"""The map app in a real headless Chromium: city map, a filter, a district in 3D, language, screenshot;
every page in both languages: no error, its maps drawn, Chinese as glyphs (not boxes).

Skips only when the system browser (Debian ``chromium``) is missing; ``.ci/run`` installs it.
"""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"),
]


@pytest.fixture(scope="module")
def server(engine_home, tmp_path_factory):
    """``streamlit run app.py`` on the shared twin (every engine's results, tests/mapapp/conftest.py)."""
    home = engine_home
    logs = tmp_path_factory.mktemp("browser-log")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**__import__("os").environ, "TWIN_HOME": str(home), "PYTHONPATH": str(REPO)}
    log = open(logs / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240  # app.py warms imports and catalogs before it answers
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail("streamlit did not start: "
                                + (logs / "streamlit.log").read_text(errors="replace")[-2000:])
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def _idle(page):
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)


def test_map_filter_language_screenshot(server, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{server}/?page=pv&city=huzhou")
        # city zoom: the SVG district map and the city's ranked table
        page.wait_for_selector(".ctmap svg path.area", timeout=120_000)
        page.get_by_text("Ranked sites (").first.wait_for(timeout=120_000)
        _idle(page)
        area = page.locator(".ctmap svg path.area").last  # drawn last: nothing covers it
        box = area.bounding_box()
        assert box and box["width"] > 20 and box["height"] > 20, "district shapes are drawn"
        area.hover(force=True)  # whichever district is under its box's centre
        tip = page.locator(".ctmap .tip")
        tip.wait_for(state="visible", timeout=10_000)
        assert "PV capacity [MW]" in tip.inner_text()
        before = page.get_by_text("Ranked sites (").first.inner_text()
        # filter (in the filters' popover): minimum specific yield 0 -> its maximum
        page.get_by_role("button", name=re.compile(r"^Filters \(")).first.click()
        slider = page.get_by_role("slider").nth(1)
        slider.wait_for(timeout=30_000)
        slider.focus()
        slider.press("End")
        page.wait_for_function(
            f"() => !document.body.innerText.includes({before!r})", timeout=90_000)
        _idle(page)
        after = page.get_by_text("Ranked sites (").first.inner_text()
        assert after != before
        slider.press("Home")
        page.wait_for_function(
            f"() => document.body.innerText.includes({before!r})", timeout=90_000)
        _idle(page)
        page.keyboard.press("Escape")
        # a click on a district opens its buildings on the 3D map
        page.locator(".ctmap svg path.area").last.click(force=True)
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=120_000)
        _idle(page)
        assert page.get_by_role("button", name=re.compile(r"^Filters \(")).count()
        # language switch
        page.locator('[data-testid="stSidebar"]').get_by_text("中文").click()
        page.get_by_text("碳达峰数字孪生").first.wait_for(timeout=90_000)
        page.get_by_text("光伏选址").first.wait_for(timeout=90_000)
        _idle(page)
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=90_000)
        page.wait_for_timeout(1000)
        png = page.screenshot(path=str(tmp_path / "app.png"))
        canvas_png = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first.screenshot()
        browser.close()
    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert img.shape[0] > 100 and img.std() > 10, "screenshot is blank"
    canvas = np.asarray(Image.open(io.BytesIO(canvas_png)).convert("L"), dtype=float)
    assert canvas.std() > 2, "the map canvas drew nothing"


#: The inspector's top map (the SVG component: .ctmap in its shadow root, which Playwright's
#: CSS selectors pierce); its buildings are ``g.area`` (footprint and a dot).
_TOP_MAP = ".ctmap svg"

#: Pages whose map is the SVG district map (city zoom) or a deck.gl canvas.
_SVG_PAGES, _DECK_PAGES = ("overview", "pv"), ("wind", "sinks", "charging")

#: JS: draw ``text`` in the page title's own font on a 2D canvas and return its width and
#: pixels, so a glyph can be told from a missing-glyph box (.notdef: the same box for every
#: character, and the same as for a private-use code point, which no font draws).
_GLYPH_JS = """([a, b, none]) => {
  const font = getComputedStyle(document.querySelector('h1')).fontFamily;
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d', {willReadFrequently: true});
  const draw = (ch) => { g.clearRect(0, 0, 64, 64); g.font = `40px ${font}`; g.fillStyle = '#000';
    g.fillText(ch, 4, 48); return Array.from(g.getImageData(0, 0, 64, 64).data).join(','); };
  g.font = `40px ${font}`;
  return {font, widths: [a, b, none].map((ch) => g.measureText(ch).width),
          same_ab: draw(a) === draw(b), same_as_none: draw(a) === draw(none),
          zenhei: document.fonts.check('40px "WenQuanYi Zen Hei"', a)};
}"""


def _blank(png: bytes) -> bool:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return img.std() < 2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_draws_in_both_languages(server, tmp_path, lang):
    from playwright.sync_api import sync_playwright

    from mapapp.i18n import t
    from mapapp.pages import PAGES

    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for page_id, label, _ in PAGES:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(f"{server}/?page={page_id}&city=huzhou&lang={lang}")
            page.get_by_role("heading", name=t(label, lang)).first.wait_for(timeout=120_000)
            _idle(page)
            if page_id in _SVG_PAGES:
                page.wait_for_selector(".ctmap svg path.area", timeout=120_000)
            if page_id in _DECK_PAGES:
                page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=120_000)
            page.wait_for_timeout(1500)  # deck.gl and vega draw after the script has finished
            where = f"{page_id} ({lang})"
            assert not page.locator('[data-testid="stException"]').count(), where
            assert not page.locator('[data-testid="stAlertContentError"]').count(), where
            if page_id in _SVG_PAGES:
                areas = page.locator(".ctmap svg path.area")
                boxes = [areas.nth(i).bounding_box() for i in range(areas.count())]
                assert sum(1 for b in boxes if b and b["width"] * b["height"] > 25) >= 3, where
            if page_id in _DECK_PAGES:
                canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
                assert not _blank(canvas.screenshot()), f"{where}: the map canvas drew nothing"
            if page_id == "inspector":  # the top map: the SVG component, its buildings as dots
                page.wait_for_selector(f"{_TOP_MAP} g.area", timeout=120_000)
                dots = page.locator(f"{_TOP_MAP} g.area")
                boxes = [dots.nth(i).bounding_box() for i in range(dots.count())]
                assert len(boxes) > 2 and all(b and b["width"] > 0 for b in boxes), where
                assert page.locator(f"{_TOP_MAP} g.area.chosen").count() == 1, where
                assert not _blank(page.locator(_TOP_MAP).first.screenshot()), where
                assert not page.locator('[data-testid="stDeckGlJsonChart"]').count(), where
            if page_id == "inspector":  # the facet map is inline SVG (mapapp.report.svg_facets)
                page.wait_for_selector("svg.facet-map circle.facet", timeout=120_000)
                dots = page.locator("svg.facet-map circle.facet")
                boxes = [dots.nth(i).bounding_box() for i in range(dots.count())]
                assert boxes and all(b and b["width"] >= 5 for b in boxes), where
                assert not _blank(page.locator("svg.facet-map").first.screenshot()), where
            if lang == "zh":
                g = page.evaluate(_GLYPH_JS, ["碳", "峰", "\ue000"])
                assert not g["same_ab"] and not g["same_as_none"], f"{where}: boxes, not glyphs {g}"
                assert g["widths"][0] > 0.6 * 40, g  # a CJK glyph is about one em wide
            path = tmp_path / f"{page_id}-{lang}.png"
            png = page.screenshot(path=str(path), full_page=True)
            assert not _blank(png), where
            shots.append(path)
            page.close()
        browser.close()
    print("screenshots:", *shots, sep="\n  ")


def test_a_click_on_the_inspector_map_opens_that_building(server):
    """In the browser: hover a building's dot (not the chosen one) on the SVG top map until
    the map's tooltip names it, click it, and the sheet is that building's (the id field,
    the map's highlight)."""
    from playwright.sync_api import expect, sync_playwright

    from mapapp.i18n import t

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{server}/?page=inspector&city=huzhou&lang=en")
        page.get_by_text(t("in.map", "en")).first.wait_for(timeout=120_000)
        page.wait_for_selector(f"{_TOP_MAP} g.area", timeout=120_000)
        _idle(page)
        field = page.get_by_role("textbox", name=t("in.pick", "en"), exact=True)
        first = field.input_value()
        assert first
        assert page.locator(f"{_TOP_MAP} g.area.chosen").get_attribute("data-key") == first
        page.locator(_TOP_MAP).first.scroll_into_view_if_needed()
        tip = page.locator(".ctmap .tip")
        others = page.locator(f"{_TOP_MAP} g.area:not(.chosen)")
        picked, where = None, None
        for i in range(others.count()):
            box = others.nth(i).bounding_box()
            if not box:
                continue
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.wait_for_timeout(100)
            if tip.is_visible():
                name = tip.inner_text().strip().splitlines()[0]
                if name and name != first:  # the dot on top at this point
                    picked, where = name, (x, y)
                    break
        assert picked, "no building's dot answered with its tooltip"
        page.mouse.click(*where)
        page.wait_for_function(
            "([label, v]) => { const e = [...document.querySelectorAll('input')].find("
            "(i) => i.getAttribute('aria-label') === label); return e && e.value === v; }",
            arg=[t("in.pick", "en"), picked], timeout=90_000)
        _idle(page)
        assert field.input_value() == picked
        page.get_by_text(t("in.figures", "en")).first.wait_for(timeout=60_000)  # its sheet
        chosen = page.locator(f"{_TOP_MAP} g.area.chosen")  # the map redrawn: the clicked one
        expect(chosen).to_have_attribute("data-key", picked, timeout=60_000)
        assert not page.locator('[data-testid="stException"]').count()
        assert not page.locator('[data-testid="stDeckGlJsonChart"]').count()
        browser.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_prints_one_page_per_building_and_fetches_nothing(lang):
    """Chromium prints the HTML report (print media, A4) as the summary page plus one page
    per building, with no request leaving the page (no map tiles, no images)."""
    import pandas as pd
    from playwright.sync_api import sync_playwright

    from mapapp import report as rp

    rows = []
    for i in range(3):
        ac = [100.0 + 10 * m + i for m in range(12)]
        total = float(sum(ac))
        rows.append({"building_id": f"b{i}", "pv_capacity_kwp": 10.0 + i,
                     "pv_yield_kwh_per_yr": total, "capacity_factor": 0.12, "panel_count": 20 + i,
                     "nominal_kwh": total + 500.0, "loss_horizon_kwh": 100.0,
                     "loss_iam_kwh": 50.0, "loss_temperature_kwh": 150.0,
                     "loss_system_kwh": 150.0, "loss_inverter_kwh": 50.0, "is_synthetic": True,
                     **{f"ac_kwh_{m + 1:02d}": v for m, v in enumerate(ac)},
                     **{f"poa_global_kwh_per_m2_{m:02d}": 120.0 + m for m in range(1, 13)}})
    horizon = pd.DataFrame([{f"horizon_elev_deg_{a:03d}": 5.0 + a / 36 for a in range(0, 360, 10)}])
    doc = rp.html_report(pd.DataFrame(rows), "rooftop", lang, city="Huzhou",
                         facets={f"b{i}": horizon for i in range(3)})
    requests = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.set_content(doc)
        page.emulate_media(media="print")
        breaks = page.evaluate("() => [...document.querySelectorAll('section')].map("
                               "(s) => getComputedStyle(s).breakBefore)")
        pdf = page.pdf(format="A4", print_background=False)
        browser.close()
    assert breaks == ["page"] * 3
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert pages == 1 + 3, pages  # the summary, then one page per building
    assert not [u for u in requests if not u.startswith(("about:", "data:"))], requests
