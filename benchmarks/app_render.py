"""Map-app speed in a real headless browser: first meaningful render and a filter change.

Starts ``streamlit run app.py`` on a free port against a built twin (``--home``, default
$TWIN_HOME; without a twin with rooftop PV there, it builds Huzhou into a temporary
folder: the demo scale, or a small one with ``--quick``, and runs rooftop PV), then
drives the system Chromium with Playwright:

* ``first_render_cold_s``: first load of the PV siting page after the server started
  (Streamlit and catalog caches cold) until the city map (the SVG district choropleth)
  and the ranked table are on the page and the script has finished;
* ``first_render_s``: the same in a new browser tab with the server warm (median of runs);
* ``first_render_max_s``: the slowest of those runs;
* ``overview_render_s``: the overview (the landing page: progress chart, targets table, city
  map) in a new browser tab with the server warm (median);
* ``district_s``: choosing a district until its buildings are drawn on the 3D deck.gl map
  (the buildings are read and sent to the browser, and the browser loads deck.gl);
* ``filter_change_s``: moving the minimum-specific-yield slider (in the filters' popover,
  to its maximum and back) in that district until the
  ranked table shows the new count and the run has finished (median of runs);
* ``language_switch_s``: switching to Chinese until the Chinese title shows.

Prints one JSON object on its last line. Needs /usr/bin/chromium (Debian ``chromium``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DECK = '[data-testid="stDeckGlJsonChart"] canvas'
#: The city-zoom map (an SVG choropleth in a Streamlit component's shadow root).
CITY_MAP = ".ctmap svg path.area"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    """``streamlit run app.py`` headless on ``port`` with TWIN_HOME=home; waits for health."""
    env = dict(os.environ, TWIN_HOME=str(home), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    msg = "streamlit did not answer /_stcore/health within 60 s"
    raise RuntimeError(msg)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit's script-running indicator is gone."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def ranked_text(page) -> str:
    return page.get_by_text("Ranked sites (").first.inner_text()


#: Pause before each timed first load [s], so that the previous tab's teardown (its
#: WebGL context, its session on the server) is not counted against the next one.
SETTLE_S = 1.0


def open_pv(page, url: str) -> float:
    """Load the PV page; seconds until the city map + ranked table are shown and the run ended."""
    time.sleep(SETTLE_S)
    t0 = time.perf_counter()
    page.goto(f"{url}/?page=pv&city=huzhou")
    page.wait_for_selector(CITY_MAP, timeout=90_000)
    page.get_by_text("Ranked sites (").first.wait_for(timeout=90_000)
    wait_idle(page)
    return time.perf_counter() - t0


def open_overview(page, url: str) -> float:
    """Load the overview (the landing page); seconds until its chart, tables and map are shown."""
    time.sleep(SETTLE_S)
    t0 = time.perf_counter()
    page.goto(f"{url}/?page=overview&city=huzhou")
    page.wait_for_selector(CITY_MAP, timeout=90_000)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=90_000)
    wait_idle(page)
    return time.perf_counter() - t0


def choose_district(page) -> float:
    t0 = time.perf_counter()
    before = ranked_text(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="District").first.click()
    page.get_by_role("option").nth(1).click()
    page.wait_for_function(f"() => !document.body.innerText.includes({json.dumps(before)})",
                           timeout=60_000)
    page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=60_000)
    wait_idle(page)
    return time.perf_counter() - t0


def open_filters(page) -> None:
    """Open the building-filter popover unless its sliders are already on the page."""
    if not page.get_by_role("slider").count():
        page.get_by_role("button", name=re.compile(r"^Filters \(")).first.click()
        page.get_by_role("slider").nth(1).wait_for(timeout=30_000)


def change_filter(page, key: str) -> float:
    """Press ``key`` on the minimum-specific-yield slider; seconds until the table changed.

    The filters' popover is opened first (not timed).
    """
    open_filters(page)
    before = ranked_text(page)
    slider = page.get_by_role("slider").nth(1)
    slider.focus()
    t0 = time.perf_counter()
    slider.press(key)
    page.wait_for_function(f"() => !document.body.innerText.includes({json.dumps(before)})",
                           timeout=60_000)
    wait_idle(page)
    return time.perf_counter() - t0


def switch_language(page) -> float:
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebar"]').get_by_text("中文").click()
    page.get_by_text("碳达峰数字孪生").first.wait_for(timeout=60_000)
    wait_idle(page)
    return time.perf_counter() - t0


def ensure_twin(home: Path | None, quick: bool) -> tuple[Path, str]:
    """A home with a Huzhou twin that has rooftop PV (built into a temp folder if needed)."""
    from twin.store import TwinStore

    if home is not None:
        store = TwinStore("huzhou", home)
        if store.exists() and "pv_buildings" in set(store.layers()["name"]):
            return home, "given"
    from shell.demo import build_city
    from shell.runners import run_engine

    tmp = Path(tempfile.mkdtemp(prefix="app-bench-"))
    build_city("huzhou", home=tmp, scale=1500 if quick else "demo")
    run_engine("pv", "huzhou", home=tmp, params={"shading": not quick})
    return tmp, "built " + ("scale=1500" if quick else "demo")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one repetition; a small twin if none")
    p.add_argument("--home", type=Path, default=os.environ.get("TWIN_HOME"),
                   help="TWIN_HOME with a built Huzhou twin with rooftop PV")
    p.add_argument("--repeat", type=int, default=None, help="warm repetitions (default 3; 1 quick)")
    a = p.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(json.dumps({"error": f"{CHROMIUM} missing: apt-get install chromium"}))
        return {}
    from playwright.sync_api import sync_playwright

    from twin.store import TwinStore

    home, how = ensure_twin(Path(a.home) if a.home else None, a.quick)
    n_buildings = len(TwinStore("huzhou", home).read_layer("pv_buildings", columns=["building_id"]))
    repeat = a.repeat or (1 if a.quick else 3)
    port = free_port()
    server = start_server(home, port)
    url = f"http://127.0.0.1:{port}"
    out = {"twin": how, "pv_buildings": n_buildings, "cpu_count": os.cpu_count(),
           "load_avg_1min": round(os.getloadavg()[0], 2)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            out["first_render_cold_s"] = round(open_pv(page, url), 3)
            page.close()
            warm, district, filt, overview = [], [], [], []
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                overview.append(open_overview(page, url))
                page.close()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                warm.append(open_pv(page, url))
                district.append(choose_district(page))
                filt.append(change_filter(page, "End"))
                filt.append(change_filter(page, "Home"))
                lang_s = switch_language(page)
                page.close()
            browser.close()
        out.update(first_render_s=round(statistics.median(warm), 3),
                   first_render_max_s=round(max(warm), 3),
                   overview_render_s=round(statistics.median(overview), 3),
                   district_s=round(statistics.median(district), 3),
                   filter_change_s=round(statistics.median(filt), 3),
                   filter_change_max_s=round(max(filt), 3),
                   language_switch_s=round(lang_s, 3), repeat=repeat)
    finally:
        server.kill()
        server.wait(timeout=10)
        if how != "given":
            shutil.rmtree(home, ignore_errors=True)
    out["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
