"""HubServer: a loopback Hugging Face Hub the real huggingface_hub client talks to unchanged.

Usage: `with HubServer("qwen_small") as hub: HfApi(endpoint=hub.url).model_info(...)`.
Pass `endpoint=` explicitly: HF_ENDPOINT is read once, when huggingface_hub is imported.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Mapping
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from ._handler import HubHandler
from .blob import Blob
from .repo import Repo
from .scenario import read_scenario
from .state import HubState
from .stats import Faults, Stats

DEFAULT_PAGE_SIZES = {"tree": 1000, "commits": 50, "models": 1000}
GATED_TOKEN = "hf_gated_access"  # Bearer token that opens gated repos by default


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck keep-alive connection must never block interpreter exit
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that stop reading early (ranged header reads, cut-connection tests) are
        # normal here: keep test output free of their reset tracebacks, show the rest.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class HubServer:
    """Start/stop, scenario state, mutations, counters and faults of one loopback Hub."""

    def __init__(
        self,
        scenario: str | Path | Mapping[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        page_size: int | None = None,
        require_token: str | None = None,
        gated_tokens: tuple[str, ...] = (GATED_TOKEN,),
    ) -> None:
        self.state = HubState()
        self.stats = Stats()
        self.faults = Faults()
        self.latency_s = latency_s
        self.page_sizes = dict(DEFAULT_PAGE_SIZES)
        if page_size is not None:
            self.set_page_size(page_size)
        self.require_token = require_token
        self.gated_tokens = set(gated_tokens)
        self._host, self._port = host, port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        if scenario is not None:
            self.load(scenario)

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> HubServer:
        if self._httpd is not None:
            return self
        handler = type("BoundHubHandler", (HubHandler,), {"hub": self})
        self._httpd = _Server((self._host, self._port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        # Keep-alive connections outlive the listening socket; close them so pooled client
        # connections fail fast instead of talking to a stopped server.
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conns_lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    @property
    def host_port(self) -> str:
        if self._httpd is None:
            raise RuntimeError("HubServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        """Endpoint to hand the client, e.g. http://127.0.0.1:43123 (no trailing slash)."""
        return f"http://{self.host_port}"

    # --- configuration ---------------------------------------------------------------

    def set_page_size(self, size: int) -> None:
        """Force small pages on every paginated route (tree, commits, models)."""
        for key in self.page_sizes:
            self.page_sizes[key] = size

    def load(self, scenario: str | Path | Mapping[str, Any]) -> None:
        self.state.load(read_scenario(scenario))

    # --- reading state (for assertions) ----------------------------------------------

    def repo(self, repo_id: str) -> Repo:
        return self.state.repo(repo_id)

    def head(self, repo_id: str, branch: str = "main") -> str:
        with self.state.lock:
            return self.state.repo(repo_id).branches[branch]

    def blob(self, repo_id: str, path: str, revision: str = "main") -> Blob:
        """The file the server would serve, e.g. to compare sha256 or bytes in a test."""
        with self.state.lock:
            commit = self.state.repo(repo_id).resolve(revision)
            if commit is None or path not in commit.tree:
                raise KeyError(f"{repo_id}@{revision}: no file {path!r}")
            return commit.tree[path].blob

    # --- mutations (thread-safe, visible to the next request) ------------------------

    def add_repo(self, spec: Mapping[str, Any]) -> Repo:
        return self.state.add_repo(spec)

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, Any],
        *,
        title: str = "Update files",
        branch: str = "main",
        date: Any = None,
        commit_id: str | None = None,
        message: str = "",
    ) -> str:
        """New commit on top of `branch` (created from main if missing); returns its id.

        `files` maps path -> file spec (as in scenarios) or DELETE/None/{"delete": True}.
        """
        return self.state.commit(
            repo_id,
            files,
            title=title,
            branch=branch,
            date=date,
            commit_id=commit_id,
            message=message,
        )

    def delete_file(self, repo_id: str, path: str, *, branch: str = "main") -> str:
        return self.state.delete_file(repo_id, path, branch=branch)

    def move_branch(self, repo_id: str, branch: str, commit: str | int) -> None:
        self.state.move_branch(repo_id, branch, commit)

    def set_tag(self, repo_id: str, tag: str, commit: str | int) -> None:
        self.state.set_tag(repo_id, tag, commit)

    def rename_repo(self, old: str, new: str) -> None:
        self.state.rename_repo(old, new)

    def delete_repo(self, repo_id: str) -> None:
        """The repo is gone: every request for it answers RepoNotFound from now on."""
        self.state.delete_repo(repo_id)

    def set_gated(self, repo_id: str, gated: bool = True) -> None:
        self.state.set_gated(repo_id, gated)
