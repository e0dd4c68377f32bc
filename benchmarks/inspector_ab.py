"""The inspector sheet, before and after, alternately: two checkouts served side by side.

For a loaded shared machine, where two runs of one benchmark differ by 2x: both servers run
at once on the same twin and the loads alternate (before, after, after, before, ...) in new
tabs of one browser (shared HTTP cache; one untimed load of each first). Per load: wall
seconds until the sheet (figures, top map: a deck.gl canvas or the SVG map, facet map) is
drawn and the run has ended, the renderer's main-thread busy time (CDP
``Performance.getMetrics``: ``TaskDuration``, ``ScriptDuration``), the JavaScript bytes
the page loaded and whether deck.gl's chunk was among them. Prints one line per load and
the medians as JSON on the last line::

    python benchmarks/inspector_ab.py --before /tmp/main-checkout --after . --home HOME
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import app_render as ar
from playwright.sync_api import sync_playwright

#: The top map, whichever a checkout draws: a deck.gl canvas (before) or the SVG map (after).
TOP = f"{ar.DECK}, .ctmap svg g.area"
_p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_p.add_argument("--before", required=True, help="checkout served as 'before' (its .venv)")
_p.add_argument("--after", default=str(Path(__file__).resolve().parents[1]))
_p.add_argument("--home", required=True, help="TWIN_HOME with Huzhou rooftop PV")
_p.add_argument("--repeat", type=int, default=4, help="pairs of loads")
_a = _p.parse_args()
HOME = _a.home
REPOS = {"before": _a.before, "after": _a.after}
N = _a.repeat

def serve(repo):
    port = ar.free_port()
    return ar.start_server(Path(HOME), port, Path(repo).resolve()), f"http://127.0.0.1:{port}"

def load(ctx, url):
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Performance.enable")
    js = {"bytes": 0, "deck": False}
    def on_resp(r):
        try:
            if r.url.endswith(".js"):
                if "deck" in r.url.lower():
                    js["deck"] = True
                js["bytes"] += int(r.headers.get("content-length", 0) or 0)
        except Exception:
            pass
    page.on("response", on_resp)
    time.sleep(1.0)
    t0 = time.perf_counter()
    page.goto(f"{url}/?page=inspector&city=huzhou")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=180_000)
    page.wait_for_selector(TOP, timeout=180_000)
    page.wait_for_selector(ar.FACETS, timeout=180_000)
    ar.wait_idle(page, 180_000)
    wall = time.perf_counter() - t0
    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
    page.close()
    return {"wall_s": wall, "task_s": m.get("TaskDuration"), "script_s": m.get("ScriptDuration"),
            "js_kb": js["bytes"] / 1024, "deck": js["deck"]}

procs = {}
try:
    urls = {}
    for k, repo in REPOS.items():
        procs[k], urls[k] = serve(repo)
    res = {k: [] for k in REPOS}
    loads = []
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=ar.CHROMIUM, args=ar.ARGS)
        ctx = b.new_context(viewport=ar.VIEWPORT)
        for k in REPOS:  # warm both servers and the HTTP cache (not counted)
            load(ctx, urls[k])
        for i in range(N):
            for k in (("before", "after") if i % 2 == 0 else ("after", "before")):
                loads.append(os.getloadavg()[0])
                r = load(ctx, urls[k])
                res[k].append(r)
                print(k, json.dumps({a: (round(v, 3) if isinstance(v, float) else v)
                                     for a, v in r.items()}), flush=True)
        b.close()
    fields = ("wall_s", "task_s", "script_s", "js_kb")
    out = {k: {f: round(statistics.median(r[f] for r in v), 3) for f in fields}
           | {"deck": any(r["deck"] for r in v)} for k, v in res.items()}
    out["load_avg"] = [round(min(loads), 1), round(max(loads), 1)]
    print(json.dumps(out))
finally:
    for p in procs.values():
        p.kill()
