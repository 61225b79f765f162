"""Just enough HTTP/1.1 framing to relay one request and its answer byte for byte."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
CHUNK = 64 * 1024


class Closed(Exception):
    """The peer closed before a whole head arrived."""


class Reader:
    """Buffered reads from a socket: heads up to a blank line, then exact byte counts."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(CHUNK)
        self.buffer += data
        return bool(data)

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD or not self._fill():
                raise Closed
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise Closed
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line + b"\r\n"

    def exactly(self, count: int) -> Iterator[bytes]:
        while count > 0:
            if not self.buffer and not self._fill():
                raise Closed
            piece, self.buffer = self.buffer[:count], self.buffer[count:]
            count -= len(piece)
            yield piece

    def until_eof(self) -> Iterator[bytes]:
        if self.buffer:
            yield self.buffer
            self.buffer = b""
        while data := self.sock.recv(CHUNK):
            yield data


@dataclass
class Head:
    first_line: str
    headers: list[tuple[str, str]]

    @classmethod
    def parse(cls, raw: bytes) -> Head:
        lines = raw.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        return cls(lines[0], headers)

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def lowered(self) -> dict[str, str]:
        return {key.lower(): value for key, value in self.headers}

    def closing(self) -> bytes:
        """This head with `Connection: close`: one request per connection keeps framing simple."""
        kept = [(k, v) for k, v in self.headers if k.lower() not in ("connection", "keep-alive")]
        lines = [self.first_line, *(f"{k}: {v}" for k, v in kept), "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1")


def request_body(reader: Reader, head: Head) -> Iterator[bytes]:
    """The raw body bytes (chunk framing included) of a request, as they arrive."""
    if (head.get("Transfer-Encoding") or "").lower() == "chunked":
        while True:
            size_line = reader.line()
            yield size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (trailer := reader.line()) != b"\r\n":
                    yield trailer
                yield b"\r\n"
                return
            yield from reader.exactly(size + 2)
    length = head.get("Content-Length")
    if length and length.isdigit():
        yield from reader.exactly(int(length))
