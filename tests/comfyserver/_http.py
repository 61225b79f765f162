"""Shared plumbing of the loopback servers: lifecycle, threads, JSON answers, injected 5xx."""

from __future__ import annotations

import json
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


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


class LoopbackService:
    """Start/stop of a loopback service: one HTTP thread, one worker taking queued jobs.

    Both real services run one job at a time per worker, so a single worker thread
    takes (job id, request) pairs in order; subclasses say how one job runs (``take``).
    """

    handler: ClassVar[type[JsonHandler]]
    thread_prefix: ClassVar[str]

    def __init__(self, *, port: int = 0) -> None:
        self.port = port
        self.faults = Faults()
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.cancelled: set[str] = set()
        self.interrupt = threading.Event()
        self.work: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._stop = threading.Event()
        self._httpd: QuietServer | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> Self:
        handler = type(
            f"Bound{type(self).__name__}Handler",
            (self.handler,),
            {"server_state": self, "faults": self.faults},
        )
        self._httpd = QuietServer(("127.0.0.1", self.port), handler)
        prefix = self.thread_prefix
        self._threads = [
            threading.Thread(target=self._httpd.serve_forever, daemon=True, name=f"{prefix}-http"),
            threading.Thread(target=self._worker, daemon=True, name=f"{prefix}-exec"),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.interrupt.set()
        self.work.put(None)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def count(self, route: str) -> None:
        with self.lock:
            self.requests[route] = self.requests.get(route, 0) + 1

    def take(self, job_id: str, request: Any) -> None:
        raise NotImplementedError

    def _worker(self) -> None:
        while not self._stop.is_set():
            item = self.work.get()
            if item is None:
                return
            self.take(*item)
