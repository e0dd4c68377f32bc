"""Map-app speed in a real headless browser: first meaningful render and a filter change.

Starts ``streamlit run app.py`` on a free port against a built twin (``--home``, default
$TWIN_HOME; without a twin with rooftop PV there, it builds Huzhou into a temporary
folder: the demo scale, or a small one with ``--quick``, and runs rooftop PV), then
drives the system Chromium with Playwright:

* ``first_render_cold_s``: first load of the PV siting page after the server started
  (Streamlit and catalog caches cold) until the city map (the SVG district choropleth)
  and the ranked table are on the page and the script has finished;
* ``first_render_cold_server_cpu_s`` (``pv_cold_server_cpu_s`` with ``--only pv``): the
  server's CPU seconds during that load (its imports, catalog reads and script run), less
  sensitive than wall time to other work on a shared machine;
* ``overview_cold_s``, ``inspector_cold_s``: the first load of the overview (with its
  progress over time) and of the inspector after that (their own reads and charts not
  cached yet); not part of the medians;
* ``first_render_s``: the PV page in a new tab of the same browser with the server warm
  (median of runs, 5 by default). The tab shares the browser's HTTP cache, as a returning
  user's does: Streamlit serves its JavaScript as ``Cache-Control: public, immutable,
  max-age=31536000``, so a browser fetches it once;
* ``first_render_fresh_s``, ``overview_fresh_s``, ``inspector_fresh_s``: the same loads in a
  fresh browser profile each (nothing cached: a first visit ever; median of runs);
* ``first_render_max_s``: the slowest of those runs;
* ``overview_render_s``: the overview (the landing page: progress chart, targets table, city
  map) in a new tab with the server warm (median);
* ``trajectory_s``: the same load until the overview's progress over time (installed by
  year from the ledger, the path to the targets: its heading and charts) is drawn and the
  script has finished (median);
* ``inspector_render_s``: the building inspector in a new tab (it opens on the district's
  best building) until its key figures, its charts, its map of the top buildings (the SVG
  component, no deck.gl) and its facet map (inline SVG) are drawn and the script has
  finished (median);
* ``inspector_click_s``: choosing another building of the top list until its sheet is shown;
* ``report_s``: the printable HTML report of the five preselected buildings, from the click
  on its download button until the browser has the file (median);
* ``district_s``: choosing a district until its buildings are drawn on the 3D deck.gl map
  (the buildings are read and sent to the browser, and the browser loads deck.gl);
* ``filter_change_s``: moving the minimum-specific-yield slider (in the filters' popover,
  to its maximum and back) in that district until the
  ranked table shows the new count and the run has finished (median of runs);
* ``language_switch_s``: switching to Chinese until the Chinese title shows.

The cold loads run in fresh browser profiles. Prints one JSON object on its last line.
Needs /usr/bin/chromium (Debian ``chromium``).
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
VIEWPORT = {"width": 1400, "height": 1000}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DECK = '[data-testid="stDeckGlJsonChart"] canvas'
#: The city-zoom map (an SVG choropleth in a Streamlit component's shadow root).
CITY_MAP = ".ctmap svg path.area"
#: The inspector's top map: the district's best buildings (the SVG map component, each
#: building a ``g.area`` with its footprint and a dot).
TOP_MAP = ".ctmap svg g.area"
#: The inspector's facet map (inline SVG, :func:`mapapp.report.svg_facets`).
FACETS = "svg.facet-map circle.facet"
#: How long the server may take to start [s] (not timed: the loads are).
START_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, repo: Path = REPO) -> subprocess.Popen:
    """``streamlit run app.py`` headless on ``port`` with TWIN_HOME=home; waits for health.

    ``repo``: the checkout to serve (default this one, with this interpreter; another
    checkout runs with its own ``.venv``, as ``benchmarks/inspector_ab.py`` serves two).
    """
    repo = Path(repo)
    python = sys.executable if repo == REPO else str(repo / ".venv" / "bin" / "python")
    env = dict(os.environ, TWIN_HOME=str(home), PYTHONPATH=str(repo))
    proc = subprocess.Popen(
        [python, "-m", "streamlit", "run", str(repo / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the server imports the app and opens its catalogs before it answers (app.py's
    # start-up hook): seconds on an idle machine, a minute or more under a heavy load
    deadline = time.time() + START_TIMEOUT_S
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    msg = f"streamlit did not answer /_stcore/health within {START_TIMEOUT_S} s"
    raise RuntimeError(msg)


def server_cpu_s(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) the server process has used so far (Linux ``/proc``).

    Less sensitive to other work on a shared machine than wall time: the cold load's
    server CPU is what a first visit makes the server do (imports, catalog reads).
    """
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def open_overview_trajectory(page, url: str) -> tuple[float, float]:
    """The overview load: seconds to its first render (see :func:`open_overview`) and to its
    progress over time (the trajectory heading and every chart drawn, the run finished)."""
    from mapapp.i18n import t

    time.sleep(SETTLE_S)
    t0 = time.perf_counter()
    page.goto(f"{url}/?page=overview&city=huzhou")
    page.wait_for_selector(CITY_MAP, timeout=90_000)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=90_000)
    first = time.perf_counter() - t0
    page.get_by_role("heading", name=t("traj.title", "en")).first.wait_for(timeout=90_000)
    wait_idle(page)
    page.wait_for_function(  # every chart drawn (vega-embed adds its canvas or svg)
        "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
        ".every((c) => c.querySelector('canvas, svg'))", timeout=90_000)
    return first, time.perf_counter() - t0


def open_inspector(page, url: str) -> float:
    """Load the inspector; seconds until the sheet (figures, charts, both maps) is drawn."""
    time.sleep(SETTLE_S)
    t0 = time.perf_counter()
    page.goto(f"{url}/?page=inspector&city=huzhou")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
    page.wait_for_selector('[data-testid="stVegaLiteChart"] canvas, '
                           '[data-testid="stVegaLiteChart"] svg', timeout=90_000)
    # the top map (the SVG component; before: a deck.gl canvas) and the facet map (inline SVG)
    page.wait_for_selector(TOP_MAP, timeout=90_000)
    page.wait_for_selector(FACETS, timeout=90_000)
    wait_idle(page)
    return time.perf_counter() - t0


def inspector_pick(page) -> float:
    """Choose the second building of the inspector's top list; seconds until its sheet shows."""
    from mapapp.i18n import t

    field = page.get_by_role("textbox", name=t("in.pick", "en"), exact=True)
    before = field.input_value()
    t0 = time.perf_counter()
    page.locator('[data-testid="stSelectbox"]').filter(
        has_text=re.compile(t("in.top", "en", n=r"\d+"))).first.click()
    page.get_by_role("option").nth(1).click()
    page.wait_for_function(
        "([label, v]) => { const e = [...document.querySelectorAll('input')].find("
        "(i) => i.getAttribute('aria-label') === label); return e && e.value && e.value !== v; }",
        arg=[t("in.pick", "en"), before], timeout=60_000)
    wait_idle(page)
    return time.perf_counter() - t0


def download_report(page) -> float:
    """Click the inspector's report download; seconds until the browser has the HTML file."""
    button = page.get_by_role("button", name=re.compile(r"^Download the report"))
    button.scroll_into_view_if_needed()
    t0 = time.perf_counter()
    with page.expect_download(timeout=90_000) as info:
        button.click()
    path = info.value.path()
    elapsed = time.perf_counter() - t0
    text = Path(path).read_text("utf-8")
    if text.count("<section") < 1:
        msg = "the downloaded report has no building section"
        raise RuntimeError(msg)
    return elapsed


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


def _only(browser, url: str, repeat: int, which: str, server: subprocess.Popen) -> dict:
    """One page: its cold load (wall and server CPU), ``repeat`` loads in new tabs of one
    browser (shared HTTP cache) and ``repeat`` in fresh profiles; the inspector also times
    a pick from its list."""
    load = {"pv": open_pv, "inspector": open_inspector,
            "overview": lambda pg, u: open_overview_trajectory(pg, u)[1]}[which]
    name = {"pv": "first_render", "inspector": "inspector_render", "overview": "trajectory"}[which]
    page = browser.new_page(viewport=VIEWPORT)
    cpu0 = server_cpu_s(server)
    out = {f"{which}_cold_s": round(load(page, url), 3)}
    out[f"{which}_cold_server_cpu_s"] = round(server_cpu_s(server) - cpu0, 2)
    page.close()
    tabs = browser.new_context(viewport=VIEWPORT)
    warm, pick, fresh = [], [], []
    for _ in range(repeat):
        page = tabs.new_page()
        warm.append(load(page, url))
        if which == "inspector":
            pick.append(inspector_pick(page))
        page.close()
    tabs.close()
    for _ in range(repeat):
        page = browser.new_page(viewport=VIEWPORT)
        fresh.append(load(page, url))
        page.close()
    out.update({f"{name}_s": round(statistics.median(warm), 3),
                f"{name}_max_s": round(max(warm), 3),
                f"{name}_runs_s": [round(x, 2) for x in warm],
                f"{name}_fresh_s": round(statistics.median(fresh), 3),
                f"{name}_fresh_runs_s": [round(x, 2) for x in fresh]})
    if pick:
        out["inspector_click_s"] = round(statistics.median(pick), 3)
    return out


def _done(out: dict) -> dict:
    """Add the load average after the runs and print ``out`` as one JSON line."""
    out["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one repetition; a small twin if none")
    p.add_argument("--home", type=Path, default=os.environ.get("TWIN_HOME"),
                   help="TWIN_HOME with a built Huzhou twin with rooftop PV")
    p.add_argument("--repeat", type=int, default=None, help="warm repetitions (default 5; 1 quick)")
    p.add_argument("--only", choices=["all", "pv", "overview", "inspector"], default="all",
                   help="one page only: its cold, new-tab and fresh-profile loads (medians)")
    a = p.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(json.dumps({"error": f"{CHROMIUM} missing: apt-get install chromium"}))
        return {}
    from playwright.sync_api import sync_playwright

    from twin.store import TwinStore

    home, how = ensure_twin(Path(a.home) if a.home else None, a.quick)
    n_buildings = len(TwinStore("huzhou", home).read_layer("pv_buildings", columns=["building_id"]))
    repeat = a.repeat or (1 if a.quick else 5)
    port = free_port()
    server = start_server(home, port)
    url = f"http://127.0.0.1:{port}"
    out = {"twin": how, "pv_buildings": n_buildings, "cpu_count": os.cpu_count(),
           "load_avg_1min": round(os.getloadavg()[0], 2)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            if a.only != "all":
                out.update(_only(browser, url, repeat, a.only, server), repeat=repeat)
                browser.close()
                return _done(out)  # the server is stopped by `finally`
            page = browser.new_page(viewport=VIEWPORT)
            cpu0 = server_cpu_s(server)
            out["first_render_cold_s"] = round(open_pv(page, url), 3)
            out["first_render_cold_server_cpu_s"] = round(server_cpu_s(server) - cpu0, 2)
            page.close()
            # the first load of the other pages after the server started (their catalog
            # reads and charts not cached yet): reported, not in the medians
            page = browser.new_page(viewport=VIEWPORT)
            out["overview_cold_s"] = round(open_overview_trajectory(page, url)[1], 3)
            page.close()
            page = browser.new_page(viewport=VIEWPORT)
            out["inspector_cold_s"] = round(open_inspector(page, url), 3)
            page.close()
            warm, district, filt, overview, traj = [], [], [], [], []
            inspector, pick, report = [], [], []
            fresh: dict[str, list[float]] = {"pv": [], "overview": [], "inspector": []}
            # new tabs of one browser: the HTTP cache is shared, as a returning user's is
            tabs = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
            for _ in range(repeat):
                page = tabs.new_page()
                first, whole = open_overview_trajectory(page, url)
                overview.append(first)
                traj.append(whole)
                page.close()
                page = tabs.new_page()
                inspector.append(open_inspector(page, url))
                pick.append(inspector_pick(page))
                report.append(download_report(page))
                page.close()
                page = tabs.new_page()
                warm.append(open_pv(page, url))
                district.append(choose_district(page))
                filt.append(change_filter(page, "End"))
                filt.append(change_filter(page, "Home"))
                lang_s = switch_language(page)
                page.close()
            tabs.close()
            for _ in range(repeat):  # first visits: a fresh browser profile for each load
                for name, load in (("pv", open_pv), ("inspector", open_inspector),
                                   ("overview", lambda pg, u: open_overview_trajectory(pg, u)[0])):
                    page = browser.new_page(viewport=VIEWPORT)
                    fresh[name].append(load(page, url))
                    page.close()
            browser.close()
        out.update(first_render_s=round(statistics.median(warm), 3),
                   first_render_max_s=round(max(warm), 3),
                   overview_render_s=round(statistics.median(overview), 3),
                   trajectory_s=round(statistics.median(traj), 3),
                   inspector_render_s=round(statistics.median(inspector), 3),
                   inspector_render_max_s=round(max(inspector), 3),
                   inspector_click_s=round(statistics.median(pick), 3),
                   report_s=round(statistics.median(report), 3),
                   district_s=round(statistics.median(district), 3),
                   filter_change_s=round(statistics.median(filt), 3),
                   filter_change_max_s=round(max(filt), 3),
                   language_switch_s=round(lang_s, 3),
                   first_render_fresh_s=round(statistics.median(fresh["pv"]), 3),
                   overview_fresh_s=round(statistics.median(fresh["overview"]), 3),
                   inspector_fresh_s=round(statistics.median(fresh["inspector"]), 3),
                   repeat=repeat)
    finally:
        server.kill()
        server.wait(timeout=10)
        if how != "given":
            shutil.rmtree(home, ignore_errors=True)
    return _done(out)


if __name__ == "__main__":
    main()
