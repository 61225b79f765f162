"""Shared HTTP plumbing of the loopback servers: threads, JSON answers, injected 5xx."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class Faults:
    """Failures to inject: the next N requests to a route prefix answer 503."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.http_errors: dict[str, int] = {}
        self.served_errors = 0

    def fail_next(self, route_prefix: str, times: int = 1) -> None:
        with self._lock:
            self.http_errors[route_prefix] = self.http_errors.get(route_prefix, 0) + times

    def take(self, path: str) -> bool:
        with self._lock:
            for prefix, left in self.http_errors.items():
                if left > 0 and path.startswith(prefix):
                    self.http_errors[prefix] = left - 1
                    self.served_errors += 1
                    return True
        return False


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the
    # client's delayed ACK (40 ms on Linux), an artefact no real server has.
    disable_nagle_algorithm = True
    faults: Faults

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_json(self, status: int, data: Any) -> None:
        self.send(status, json.dumps(data).encode(), "application/json")

    def injected_fault(self) -> bool:
        if self.faults.take(self.path):
            self.body()  # drain it: the keep-alive connection carries the next request
            self.send_json(503, {"error": "injected fault: service unavailable"})
            return True
        return False
