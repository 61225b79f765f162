"""A loopback TCP proxy that cuts one upload mid-stream: a registry connection dropped
halfway through a blob, at the byte the test picks."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    """A loopback TCP proxy that cuts one client connection after N upstream bytes, once."""

    def __init__(self, upstream_port: int, cut_after: int):
        self.upstream_port, self.cut_after = upstream_port, cut_after
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if upload and self.cuts == 0 and sent + len(data) > self.cut_after:
                    self.cuts += 1
                    sink.sendall(data[: self.cut_after - sent])
                    raise OSError("cut")
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._server.close()
