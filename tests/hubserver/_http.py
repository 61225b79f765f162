"""Low-level response writing: JSON, errors, byte ranges, streamed bodies, dropped links."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

from .stats import RequestRecord, Stats

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """[start, end) for a satisfiable single range; None to serve it all; False for 416.

    Multiple or malformed ranges are ignored (RFC 9110 allows that) and served whole.
    """
    if header is None:
        return None
    match = _RANGE_RE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return False
        return max(size - suffix, 0), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if start >= size or (last and int(last) < start):
        return False
    return start, end


class Responder:
    """Writes one response on a handler, counting every byte before it is sent."""

    def __init__(self, handler: BaseHTTPRequestHandler, stats: Stats, record: RequestRecord):
        self.handler, self.stats, self.record = handler, stats, record

    def head(self, status: int, headers: dict[str, str], length: int) -> None:
        self.record.status = status
        h = self.handler
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(length))
        h.end_headers()

    def json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_bytes(body, status, {"Content-Type": "application/json", **(headers or {})})

    def send_bytes(self, body: bytes, status: int, headers: dict[str, str]) -> None:
        self.head(status, headers, len(body))
        if self.handler.command != "HEAD":
            self.stats.sent(self.record, len(body), file_content=False)
            self.handler.wfile.write(body)

    def error(
        self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None
    ) -> None:
        extra = dict(headers or {})
        if code is not None:
            extra["X-Error-Code"] = code
        extra["X-Error-Message"] = message
        self.json({"error": message}, status, extra)

    def stream(
        self,
        status: int,
        headers: dict[str, str],
        chunks: Iterator[bytes],
        length: int,
        drop_after: int | None,
    ) -> None:
        self.head(status, headers, length)
        if self.handler.command == "HEAD":
            return
        sent = 0
        for chunk in chunks:
            piece = chunk
            if drop_after is not None and sent + len(piece) > drop_after:
                piece = piece[: drop_after - sent]
            if piece:
                self.stats.sent(self.record, len(piece), file_content=True)
                self.handler.wfile.write(piece)
                sent += len(piece)
            if drop_after is not None and sent >= drop_after:
                self.drop()
                return

    def drop(self) -> None:
        """Cut the connection mid-body, as a flaky network or proxy would."""
        h = self.handler
        h.close_connection = True
        try:
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
