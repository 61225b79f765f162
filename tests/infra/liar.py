"""A loopback HTTP server that answers exactly what a test tells it to.

The loopback Hub in tests/hubserver only ever answers well-formed data; the hostile-input
and security tests need a Hub or registry that lies (malformed JSON, false lengths,
redirects to another host), talked to by the real clients.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra.loopback import OnLoopback

Answer = tuple[int, dict[str, str], bytes]


class _Handler(BaseHTTPRequestHandler):
    server: LyingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers)))
        path = self.path.split("?", 1)[0]
        for prefix, (status, headers, body) in sorted(
            self.server.routes.items(), key=lambda route: -len(route[0])
        ):  # the longest prefix wins
            if path.startswith(prefix):
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(OSError):  # a client may hang up on a lie
                    self.wfile.write(body)
                return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()


class LyingServer(OnLoopback, ThreadingHTTPServer):
    """Answers each path with what `answer` set for its longest matching prefix, else 404."""

    routes: dict[str, Answer]
    seen: list[tuple[str, dict[str, str]]]  # each request's path and headers, in order

    def last_headers(self, prefix: str) -> dict[str, str]:
        """The headers of the last request for a path under ``prefix``, names lowercased."""
        found = [headers for path, headers in self.seen if path.startswith(prefix)]
        assert found, f"nothing asked for {prefix}"
        return {name.lower(): value for name, value in found[-1].items()}

    def answer(self, prefix: str, body: Any, status: int = 200, **headers: str) -> None:
        """JSON unless ``body`` is bytes; ``headers`` may override even Content-Length."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[prefix] = (status, {"Content-Type": "application/json", **headers}, raw)


@pytest.fixture
def liar(monkeypatch: pytest.MonkeyPatch) -> Iterator[LyingServer]:
    """A started LyingServer with nothing to answer yet, and no Hub token in the env."""
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    server = LyingServer(("127.0.0.1", 0), _Handler)
    server.routes, server.seen = {}, []
    server.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
