"""Request routing for the loopback Hub: parse the URL, check access, answer like the Hub."""

from __future__ import annotations

import time
import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode

from . import payloads
from ._http import Responder, parse_range
from .blob import Blob
from .repo import Commit, Repo
from .stats import RequestRecord

if TYPE_CHECKING:
    from .server import HubServer

_TRUE = {"1", "true", "True", "yes"}
_API_ROUTES = {"tree": "tree", "paths-info": "paths_info", "refs": "refs", "commits": "commits"}


def route_of(segments: list[str]) -> str:
    if segments[:1] == ["api"]:
        if segments[1:2] == ["agent-harnesses"]:
            return "agent_harnesses"
        if segments[1:] == ["models"]:
            return "list_models"
        if segments[1:2] == ["models"] and len(segments) >= 4:
            rest = segments[4:]
            if not rest or rest[0] == "revision":
                return "model_info"
            return _API_ROUTES.get(rest[0], "unknown")
        return "unknown"
    if len(segments) >= 5 and segments[2] == "resolve":
        return "resolve"
    return "unknown"


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real Hub behind its CDN
    timeout = 60  # idle keep-alive connections give their thread back eventually
    hub: ClassVar[HubServer]

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line; the Stats log records everything."""

    def setup(self) -> None:
        super().setup()
        self.hub.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.hub.track(self.connection, False)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    # --- dispatch --------------------------------------------------------------------

    def _dispatch(self) -> None:
        raw_path, _, self.query = self.path.partition("?")
        self.raw_path = raw_path
        length = int(self.headers.get("Content-Length") or 0)
        # Always drain the body, or the next request on this keep-alive link is garbage.
        self.body = self.rfile.read(length) if length else b""
        self.segments = [unquote(s) for s in raw_path.split("/")[1:]]
        route = route_of(self.segments)
        record = RequestRecord(
            method=self.command,
            path=raw_path,
            query=self.query,
            range=self.headers.get("Range"),
            route=route,
            authorized=self.headers.get("Authorization") is not None,
        )
        self.record = self.hub.stats.open(record)
        self.out = Responder(self, self.hub.stats, record)
        try:
            self._answer(route)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            # A bug in the fixture must surface as a readable 500, not a silent hang-up.
            traceback.print_exc()
            self.close_connection = True
            if record.status == 0:
                self.out.error(500, None, f"hubserver bug: {exc!r}")

    def _answer(self, route: str) -> None:
        rule = self.hub.faults.take(self.command, self.raw_path)
        delay = self.hub.latency_s + (rule.latency_s if rule else 0.0)
        if delay > 0:
            time.sleep(delay)
        self.drop_after = rule.drop_after_bytes if rule else None
        if rule is not None and rule.status is not None:
            self.out.error(rule.status, None, f"injected fault {rule.status}", rule.headers)
            return
        if route == "agent_harnesses" or route == "unknown":
            self.out.error(404, None, "Not Found")
            return
        if not self._token_ok():
            return
        if route == "list_models":
            self._list_models()
            return
        repo = self._repo(route)
        if repo is not None:
            getattr(self, f"_{route}")(repo)

    def _token_ok(self) -> bool:
        required = self.hub.require_token
        if required is None:
            return True
        sent = self.headers.get("Authorization")
        if sent == f"Bearer {required}":
            return True
        if sent is None:
            self.out.error(401, "RepoNotFound", "Invalid username or password.")
        else:
            self.out.error(401, None, "Invalid credentials in Authorization header")
        return False

    def _repo(self, route: str) -> Repo | None:
        first = 2 if route != "resolve" else 0
        repo_id = "/".join(self.segments[first : first + 2])
        repo, renamed_to = self.hub.state.lookup(repo_id)
        if repo is not None:
            return repo
        if renamed_to is None:
            self.out.error(404, "RepoNotFound", "Repository not found")
            return None
        # The Hub answers an old repo name with a relative redirect to the new one.
        parts = self.raw_path.split("/")
        parts[first + 1 : first + 3] = [quote(p, safe="") for p in renamed_to.split("/")]
        location = "/".join(parts) + (f"?{self.query}" if self.query else "")
        self.out.send_bytes(b"", 307, {"Location": location})
        return None

    def _commit(self, repo: Repo, revision: str) -> Commit | None:
        with self.hub.state.lock:
            commit = repo.resolve(revision)
        if commit is None:
            self.out.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return commit

    # --- API routes ----------------------------------------------------------------

    def _model_info(self, repo: Repo) -> None:
        rest = self.segments[4:]
        revision = rest[1] if len(rest) >= 2 else "main"
        commit = self._commit(repo, revision)
        if commit is not None:
            blobs = parse_qs(self.query).get("blobs", [""])[0] in _TRUE
            self.out.json(payloads.model_info(repo, commit, blobs=blobs))

    def _tree(self, repo: Repo) -> None:
        if len(self.segments) < 6:
            self.out.error(404, None, "Not Found")
            return
        commit = self._commit(repo, self.segments[5])
        if commit is None:
            return
        params = parse_qs(self.query)
        folder = "/".join(self.segments[6:]).strip("/")
        with self.hub.state.lock:
            entries = payloads.tree_entries(
                repo,
                commit,
                folder,
                recursive=params.get("recursive", [""])[0] in _TRUE,
                expand=params.get("expand", [""])[0] in _TRUE,
            )
        if entries is None:
            self.out.error(404, "EntryNotFound", f"{folder} does not exist on {commit.id}")
            return
        self._page(entries, self.hub.page_sizes["tree"])

    def _paths_info(self, repo: Repo) -> None:
        if self.command != "POST" or len(self.segments) < 6:
            self.out.error(405, None, "paths-info takes a POST")
            return
        commit = self._commit(repo, self.segments[5])
        if commit is None:
            return
        form = parse_qs(self.body.decode(), keep_blank_values=True)
        expand = form.get("expand", [""])[0] in _TRUE
        with self.hub.state.lock:
            entries = payloads.paths_info(repo, commit, form.get("paths", []), expand=expand)
        self.out.json(entries)

    def _refs(self, repo: Repo) -> None:
        with self.hub.state.lock:
            self.out.json(payloads.refs(repo))

    def _commits(self, repo: Repo) -> None:
        revision = self.segments[5] if len(self.segments) > 5 else "main"
        commit = self._commit(repo, revision)
        if commit is None:
            return
        formatted = "formatted" in parse_qs(self.query).get("expand[]", [])
        with self.hub.state.lock:
            history = repo.history(commit)
        entries = [payloads.commit_entry(c, formatted=formatted) for c in history]
        self._page(entries, self.hub.page_sizes["commits"])

    def _list_models(self) -> None:
        params = parse_qs(self.query)
        author = params.get("author", [""])[0].lower()
        search = params.get("search", [""])[0].lower()
        limit = int(params.get("limit", ["0"])[0] or 0)
        with self.hub.state.lock:
            repos = sorted(self.hub.state.repos.values(), key=lambda r: r.id.lower())
            entries = [
                payloads.listed_model(r, r.commits[r.branches["main"]])
                for r in repos
                if (not author or r.author.lower() == author) and search in r.id.lower()
            ]
        size = self.hub.page_sizes["models"]
        self._page(entries, min(size, limit) if limit > 0 else size)

    def _page(self, entries: list[dict[str, Any]], size: int) -> None:
        """One page of a list answer; the next page's absolute URL goes in a Link header."""
        pairs = [(k, v) for k, v in parse_qsl(self.query, keep_blank_values=True) if k != "cursor"]
        start = int(dict(parse_qsl(self.query)).get("cursor", "0") or 0)
        page = entries[start : start + size]
        headers: dict[str, str] = {}
        if start + size < len(entries):
            host = self.headers.get("Host") or self.hub.host_port
            query = urlencode([*pairs, ("cursor", str(start + size))])
            headers["Link"] = f'<http://{host}{self.raw_path}?{query}>; rel="next"'
        self.out.json(page, headers=headers)

    # --- file downloads --------------------------------------------------------------

    def _resolve(self, repo: Repo) -> None:
        revision, path = self.segments[3], "/".join(self.segments[4:])
        with self.hub.state.lock:
            commit = repo.resolve(revision)
        if commit is None:
            self.out.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        base = {"X-Repo-Commit": commit.id}
        if repo.gated and not self._gate_open():
            sent = self.headers.get("Authorization") is not None
            message = f"Access to model {repo.id} is restricted. You must have access to it."
            self.out.error(403 if sent else 401, "GatedRepo", message, base)
            return
        version = commit.tree.get(path)
        if version is None:
            self.out.error(404, "EntryNotFound", f"{path} does not exist on {commit.id}", base)
            return
        self.record.file = f"{repo.id}/{path}"
        self._send_file(version.blob, base)

    def _gate_open(self) -> bool:
        sent = self.headers.get("Authorization", "")
        tokens = {*self.hub.gated_tokens, self.hub.require_token}
        return any(sent == f"Bearer {t}" for t in tokens if t)

    def _send_file(self, blob: Blob, base: dict[str, str]) -> None:
        headers = {
            **base,
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": f'"{blob.etag}"',
        }
        if blob.lfs:
            headers["X-Linked-Etag"] = f'"{blob.sha256}"'
            headers["X-Linked-Size"] = str(blob.size)
        size = blob.content.size
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted is False:
            self.out.send_bytes(b"", 416, {**headers, "Content-Range": f"bytes */{size}"})
            return
        start, end = wanted if isinstance(wanted, tuple) else (0, size)
        status = 200
        if isinstance(wanted, tuple):
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        chunks = blob.content.chunks(start, end) if self.command == "GET" else iter(())
        self.out.stream(status, headers, chunks, end - start, self.drop_after)
