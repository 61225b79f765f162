"""Where a test server on loopback listens, said once for every such server."""

from __future__ import annotations


class OnLoopback:
    """`host` and `url` of a plain-http server listening on 127.0.0.1 at `port`."""

    port: int

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"
