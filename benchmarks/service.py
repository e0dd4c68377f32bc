"""`twin serve` on the loopback: item requests of 50 features from concurrent clients.

Starts ``twin serve`` (gunicorn) on a free port against a built twin (``--home``, default
$TWIN_HOME), waits for ``/health``, warms each worker up, then sends ``--requests`` GET
``/collections/CITY-buildings/items?limit=50&offset=...`` (half at random offsets, half
in a random quarter of the city's box) from ``--clients`` threads and reports the latency of each request:

* ``p50_ms``, ``p95_ms``, ``max_ms``: latency percentiles over all requests;
* ``errors``: responses other than 200 with min(50, matched) features, and failed connections;
* ``server_cpu_ms_per_request``: CPU time of the server's processes (gunicorn and its
  workers, user + system, from ``/proc``) over the measured requests, per request: the
  fair figure on a loaded machine, where latency mostly measures the wait for a core;
* ``load_1m_before``/``load_1m_after``: the machine's 1-minute load average (a loaded
  machine makes every figure slower; read them together).

Prints one JSON object on its last line. ``--quick``: 40 requests from 4 clients.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of process ``root`` and every process below it, from /proc."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        stats[int(entry.name)] = (int(fields[1]), ticks / os.sysconf("SC_CLK_TCK"))
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
        grew, tree = bool(more), tree | more
    return sum(stats[pid][1] for pid in tree if pid in stats)


def _get(url: str) -> tuple[float, bool]:
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            body = json.loads(r.read())
            want = min(50, body.get("numberMatched", 0) - int(url.partition("offset=")[2] or 0))
            ok = r.status == 200 and len(body.get("features", [])) == want
    except (OSError, ValueError):
        ok = False
    return (time.perf_counter() - t0) * 1000.0, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=os.environ.get("TWIN_HOME", str(REPO / "twin-data")))
    ap.add_argument("--city", default="hangzhou")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)  # twin serve's default
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients = 40, 4
    port = _port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(args.home) / "service-bench.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "shell.cli", "--home", args.home, "serve", "--city",
                             args.city, "--port", str(port), "--workers", str(args.workers),
                             "--threads", str(args.threads)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        from service.app import wait_healthy
        from twin.errors import TwinError

        try:
            start_s = wait_healthy(base, proc, timeout_s=300)
        except TwinError as exc:
            msg = f"{exc}; see service-bench.log in the home"
            raise SystemExit(msg) from exc
        coll = f"{base}/collections/{args.city}-buildings"
        with urllib.request.urlopen(coll + "?f=json", timeout=60) as r:
            lon0, lat0, lon1, lat1 = json.loads(r.read())["extent"]["spatial"]["bbox"][0]
        with urllib.request.urlopen(coll + "/items?f=json&limit=1&resulttype=hits", timeout=60) as r:
            n = json.loads(r.read())["numberMatched"]
        rng = random.Random(20240622)
        urls = []
        for i in range(args.requests):
            if i % 2:  # a quarter of the city's box, somewhere
                w, h = (lon1 - lon0) / 2, (lat1 - lat0) / 2
                x, y = rng.uniform(lon0, lon1 - w), rng.uniform(lat0, lat1 - h)
                url = f"{coll}/items?f=json&limit=50&bbox={x},{y},{x + w},{y + h}"
            else:
                url = f"{coll}/items?f=json&limit=50&offset={rng.randrange(0, max(1, n - 50))}"
            urls.append(url)
        with ThreadPoolExecutor(args.clients) as pool:  # warm every worker's catalog connection
            list(pool.map(_get, urls[: 2 * args.workers * args.threads]))
        load_before = os.getloadavg()[0]
        cpu0 = _tree_cpu_s(proc.pid)
        t1 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            res = list(pool.map(_get, urls))
        wall = time.perf_counter() - t1
        cpu = _tree_cpu_s(proc.pid) - cpu0
        lat = sorted(r[0] for r in res)
        out = {
            "benchmark": "service", "city": args.city, "collection": f"{args.city}-buildings",
            "n_features": n, "requests": len(res), "clients": args.clients, "features_per_request": 50,
            "workers": args.workers, "threads": args.threads,
            "p50_ms": round(statistics.median(lat), 1),
            "p95_ms": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
            "max_ms": round(lat[-1], 1), "errors": sum(1 for r in res if not r[1]),
            "server_cpu_ms_per_request": round(cpu / len(res) * 1000.0, 1),
            "throughput_rps": round(len(res) / wall, 1), "server_start_s": round(start_s, 1),
            "load_1m_before": round(load_before, 2), "load_1m_after": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
