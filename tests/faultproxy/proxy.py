"""FaultProxy: relays HTTP between a client and one upstream on loopback, breaking on cue.

Every client connection carries one request (answers say `Connection: close`), so the
proxy never has to frame a keep-alive stream, and a fault on one request never leaks
into the next. Real sockets, real resets: what the client sees is what a broken network
or server would give it.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from infra.loopback import OnLoopback

from ._http import Closed, Head, Reader, request_body
from .rules import Fault, Kind, Rule


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    fault: str | None  # the fault's label when one was applied
    authorization: str | None = None  # the request's Authorization header, as sent


class FaultProxy(OnLoopback):
    """`with FaultProxy(upstream_port) as proxy:` then point the client at proxy.url."""

    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name="faultproxy")
        self._open: set[socket.socket] = set()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- rules --------------------------------------------------------------------------

    def add(
        self,
        fault: Fault,
        *,
        path: str = ".*",
        method: str | None = None,
        times: int = 1,
        header: tuple[str, str] | None = None,
    ) -> Rule:
        rule = Rule(fault, path=path, method=method, times=times, header=header)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def faults_applied(self) -> int:
        with self._lock:
            return sum(1 for seen in self.seen if seen.fault is not None)

    # --- relay --------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            (self._open.add if add else self._open.discard)(sock)

    def _serve(self, client: socket.socket) -> None:
        self._track(client, True)
        try:
            self._one_request(client)
        except (Closed, OSError):
            pass
        finally:
            self._track(client, False)
            with contextlib.suppress(OSError):
                client.close()

    def _pick(self, method: str, target: str, head: Head) -> Fault | None:
        with self._lock:
            rules = list(self.rules)
        lowered = head.lowered()
        fault = next((r.fault for r in rules if r.claim(method, target, lowered)), None)
        with self._lock:
            label = fault.label() if fault else None
            self.seen.append(Seen(method, target, label, head.get("Authorization")))
        return fault

    def _one_request(self, client: socket.socket) -> None:
        reader = Reader(client)
        head = Head.parse(reader.head())
        method, target = [*head.first_line.split(" "), "", ""][:2]
        fault = self._pick(method, target, head)
        if fault is not None and fault.kind is Kind.HANG:
            self._stop.wait(fault.seconds or None)
            return
        if fault is not None and fault.kind in (Kind.RESET, Kind.DIE):
            if fault.kind is Kind.DIE:
                with contextlib.suppress(OSError):
                    self._listener.close()
            _reset(client)
            return
        if fault is not None and fault.kind in (Kind.STATUS, Kind.ANSWER):
            for _ in request_body(reader, head):
                pass
            client.sendall(_status_answer(fault))
            return
        if fault is not None and fault.kind is Kind.DELAY:
            time.sleep(fault.seconds)
        self._relay(client, reader, head, method, fault)

    def _relay(
        self, client: socket.socket, reader: Reader, head: Head, method: str, fault: Fault | None
    ) -> None:
        with socket.create_connection(self.upstream, timeout=60) as upstream:
            self._track(upstream, True)
            try:
                upstream.sendall(head.closing())
                for piece in request_body(reader, head):
                    upstream.sendall(piece)
                answer = Reader(upstream)
                answer_head = Head.parse(answer.head())
                client.sendall(answer_head.closing())
                length = answer_head.get("Content-Length") or ""
                size = int(length) if length.isdigit() and method != "HEAD" else 0
                _relay_body(client, answer, fault, size)
            finally:
                self._track(upstream, False)


def _relay_body(client: socket.socket, answer: Reader, fault: Fault | None, size: int) -> None:
    kind = fault.kind if fault is not None else None
    if kind is Kind.TRICKLE and fault is not None:
        _trickle(client, answer, fault.seconds)
        return
    cut = max(1, size // 2) if kind is Kind.TRUNCATE else None
    flip_at = size // 2 if kind is Kind.CORRUPT else None
    sent = 0
    for received in answer.until_eof():
        piece = received
        if cut is not None and sent + len(piece) >= cut:
            client.sendall(piece[: cut - sent])
            return  # closing here leaves the answer short of its Content-Length
        if flip_at is not None and sent <= flip_at < sent + len(piece):
            index = flip_at - sent
            piece = piece[:index] + bytes([piece[index] ^ 0xFF]) + piece[index + 1 :]
        client.sendall(piece)
        sent += len(piece)


def _trickle(client: socket.socket, answer: Reader, seconds: float) -> None:
    """The body one byte at a time: every read the client makes gets something."""
    for received in answer.until_eof():
        for index in range(len(received)):
            client.sendall(received[index : index + 1])
            time.sleep(seconds)


def _status_answer(fault: Fault) -> bytes:
    body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
    if fault.kind is Kind.ANSWER:
        body = fault.body
    lines = [
        f"HTTP/1.1 {fault.status} Injected",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if fault.retry_after is not None:
        lines.append(f"Retry-After: {fault.retry_after}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
