"""A loopback port nobody listens on: the fastest way to a Hub or registry that is down."""

from __future__ import annotations

import socket


def closed_port_host() -> str:
    """host:port of a port that was free a moment ago and has no listener now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
