"""`service.app.wait_healthy`: the start-up wait shared by the service tests and benchmark."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading

import pytest

from service.app import wait_healthy
from twin.errors import TwinError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # the stdlib handler method name
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(status: int):
    handler = type("H", (_Health,), {"status": status})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def test_returns_once_health_answers_200():
    httpd, url = _serve(200)
    try:
        assert 0 <= wait_healthy(url + "/", timeout_s=10, poll_s=0.05) < 10
    finally:
        httpd.shutdown()


def test_a_503_is_waited_on_until_the_timeout():
    httpd, url = _serve(503)
    try:
        with pytest.raises(TwinError, match=r"/health did not answer 200 within 0.5 s"):
            wait_healthy(url, timeout_s=0.5, poll_s=0.05)
    finally:
        httpd.shutdown()


def test_nothing_listening_times_out():
    with pytest.raises(TwinError, match="did not answer 200"):
        wait_healthy(f"http://127.0.0.1:{_free_port()}", timeout_s=0.3, poll_s=0.05)


def test_a_server_that_exits_stops_the_wait_with_its_status():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(timeout=30)
    with pytest.raises(TwinError, match="exited with status 3"):
        wait_healthy(f"http://127.0.0.1:{_free_port()}", proc, timeout_s=60, poll_s=0.05)
