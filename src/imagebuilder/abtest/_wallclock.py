"""A wall-clock bound on every socket operation of `test`, not a per-read timeout.

httpx's read timeout is per read: a worker that sends one byte a second never trips
it, and a body read in a loop outlives any job limit. Here the connection pool's
network backend caps each connect, read and write at what is left of the deadline set
by ``until`` for the calling thread (the job's time or the command's, whichever comes
first), and refuses to wait once it is spent: the request fails with a read timeout at
the deadline, whatever the shape of the trickle (headers or body).

Behind an HTTP proxy from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) the
client keeps httpx's own transport, which honours those settings; there the body is
still bounded (``check_deadline`` between chunks), a trickle of headers by the read
timeout only.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2

_local = threading.local()


@contextmanager
def until(deadline: float) -> Iterator[None]:
    """Every socket wait of this thread ends by ``deadline`` (time.monotonic) inside."""
    outer: float | None = getattr(_local, "deadline", None)
    _local.deadline = deadline if outer is None else min(outer, deadline)
    try:
        yield
    finally:
        _local.deadline = outer


def check_deadline() -> None:
    """Raise httpx's read timeout when this thread's deadline has passed."""
    _capped(None, httpx2.ReadTimeout)


def _capped(timeout: float | None, error: type[Exception]) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the time limit ran out while the answer was still arriving")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        bounded = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        bounded = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class WallClockTransport(httpx2.HTTPTransport):
    """httpx's own transport, on a connection pool whose sockets obey ``until``."""

    def __init__(self, *, limits: httpx2.Limits):
        super().__init__(limits=limits)
        # The transport takes no network backend; its pool does. Same settings otherwise.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )


_PROXY_ENVS = ("http_proxy", "https_proxy", "all_proxy")


def wall_clock_transport(limits: httpx2.Limits) -> httpx2.HTTPTransport | None:
    """The wall-clock transport; None (httpx's default, with its proxies) behind a proxy."""
    if any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_ENVS):
        return None
    return WallClockTransport(limits=limits)
