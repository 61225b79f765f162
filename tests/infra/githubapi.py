"""A loopback server shaped like the GitHub REST API, for ComfyUI's release list.

Answers ``GET /repos/Comfy-Org/ComfyUI/releases`` with what the test sets (the fields
imagebuilder reads: tag_name, draft, prerelease, published_at), ``/git/ref/tags/<tag>``
and ``/git/tags/<sha>`` (lightweight and annotated tags) from ``tag()``, and counts
requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

REPO_PATH = "/repos/Comfy-Org/ComfyUI"


class GithubApi:
    def __init__(self) -> None:
        self.releases: list[dict[str, Any]] | bytes = []
        self.requests = 0
        self.git: dict[str, dict[str, Any] | bytes] = {}  # path under the repo -> answer
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests += 1
                path = self.path.split("?")[0]
                if path == f"{REPO_PATH}/releases":
                    raw: Any = api.releases
                elif path.removeprefix(REPO_PATH) in api.git:
                    raw = api.git[path.removeprefix(REPO_PATH)]
                else:
                    self.send_error(404)
                    return
                body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{REPO_PATH}"

    def release(self, tag: str, date: str, **extra: Any) -> None:
        assert isinstance(self.releases, list)
        self.releases.append({"tag_name": tag, "draft": False, "prerelease": False,
                              "published_at": f"{date}T00:00:00Z", **extra})  # fmt: skip

    def tag(self, version: str, commit: str, *, annotated: str | None = None) -> None:
        """The tag v<version> names ``commit`` (through the tag object ``annotated``)."""
        if annotated is None:
            self.git[f"/git/ref/tags/v{version}"] = {"object": {"type": "commit", "sha": commit}}
            return
        self.git[f"/git/ref/tags/v{version}"] = {"object": {"type": "tag", "sha": annotated}}
        self.git[f"/git/tags/{annotated}"] = {"object": {"type": "commit", "sha": commit}}


@pytest.fixture
def github_api() -> Iterator[GithubApi]:
    api = GithubApi()
    api.thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()
