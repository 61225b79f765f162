"""The one module that talks to the Hugging Face Hub, through huggingface_hub only.

Everything else sees plain dataclasses (``RemoteFile``, ``RepoSnapshot``) and
imagebuilder errors. Every request the client sends is timed and retried by the network
policy (``hub.transport``); ranged reads are retried whole when their body is cut off;
what still fails becomes a clear error here.
The token comes from HF_TOKEN or the standard token file and is never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import httpx2
from huggingface_hub import HfApi, get_token, hf_hub_url
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import ModelInfo, RepoFile
from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_stream_backoff

from imagebuilder import network
from imagebuilder.hub import answers, transport
from imagebuilder.hub.failures import DEFAULT_ENDPOINT, hub_endpoint, translate
from imagebuilder.project import redact

__all__ = ["CommitInfo", "Hub", "RemoteFile", "RepoSnapshot", "hub_endpoint"]
from imagebuilder.errors import AnswerCutOff, ConfigError, FileNotFoundOnHub, HubError, NetworkError

_T = TypeVar("_T")


@dataclass(frozen=True)
class RemoteFile:
    repo: str
    path: str
    commit: str
    size: int
    sha256: str | None  # None for small files the Hub keeps in git, not LFS
    blob_id: str | None = None


@dataclass(frozen=True)
class RepoSnapshot:
    """One repo at one revision, as a single model-info answer saw it."""

    requested_repo: str
    repo: str  # canonical id: differs from requested_repo when the repo was renamed
    revision: str
    commit: str
    last_modified: datetime | None
    files: dict[str, RemoteFile]

    @property
    def renamed(self) -> bool:
        return self.repo.lower() != self.requested_repo.lower()


@dataclass(frozen=True)
class CommitInfo:
    commit: str
    title: str
    date: datetime | None


def public_file_url(repo: str, path: str, commit: str) -> str:
    """The file's URL on the public Hub, whatever HF_ENDPOINT says: what an image's
    content tag is computed from, so a mirror or a loopback Hub gives the same tag."""
    return hf_hub_url(repo, path, revision=commit, endpoint=DEFAULT_ENDPOINT)


class Hub:
    """Hub access for imagebuilder. Pass one in explicitly; tests point it at a loopback."""

    def __init__(self, endpoint: str | None = None, token: str | None = None):
        self.endpoint = (endpoint or hub_endpoint()).rstrip("/")
        transport.install()
        self._token = token if token is not None else get_token()
        redact.remember(self._token)  # a token file's token is as secret as HF_TOKEN
        self._api = HfApi(endpoint=self.endpoint, token=self._token or False)

    def __repr__(self) -> str:  # never show the token
        return f"Hub(endpoint={self.endpoint!r}, token={'set' if self._token else 'none'})"

    def _call(self, where: str, action: Callable[[], _T]) -> _T:
        # Retries happen per request, in the transport; here failures only get their names.
        try:
            return action()
        except (NetworkError, HfHubHTTPError, httpx2.HTTPError, OSError) as error:
            raise translate(error, where) from None
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            # The client parses answers as it reads them: a body that is not JSON, a
            # date that is not a date, a list for an object. A Hub error, not a crash.
            raise answers.unreadable(error, where) from error

    def snapshot(self, repo: str, revision: str) -> RepoSnapshot:
        """Commit and every file's sha256 and size at ``revision``: one request, no download."""
        info: ModelInfo = self._call(
            f"{repo}@{revision}",
            lambda: self._api.model_info(repo, revision=revision, files_metadata=True),
        )
        where = f"{repo}@{revision}"
        # Every field is checked: these values end up in the lock, models.yaml and URLs.
        commit = answers.commit_sha(info.sha, where)
        canonical = answers.repo_id(info.id, where)
        files: dict[str, RemoteFile] = {}
        for sibling in info.siblings or []:
            path = answers.file_path(sibling.rfilename, where)
            lfs = sibling.lfs
            files[path] = RemoteFile(
                repo=canonical,
                path=path,
                commit=commit,
                size=answers.file_size(lfs.size if lfs else (sibling.size or 0), where),
                sha256=answers.optional_sha256(lfs.sha256 if lfs else None, where),
                blob_id=sibling.blob_id,
            )
        return RepoSnapshot(
            requested_repo=repo,
            repo=canonical,
            revision=revision,
            commit=commit,
            last_modified=info.last_modified,
            files=files,
        )

    def search_models(self, author: str, search: str, limit: int = 100) -> list[str]:
        def models() -> list[str]:
            return [m.id for m in self._api.list_models(author=author, search=search, limit=limit)]

        return self._call(f"search author={author} search={search}", models)

    def last_commits(self, repo: str, revision: str, paths: list[str]) -> dict[str, CommitInfo]:
        """The commit that last changed each path at ``revision``: one request for all paths."""

        def info() -> dict[str, CommitInfo]:
            found = {}
            for item in self._api.get_paths_info(repo, paths, expand=True, revision=revision):
                last = getattr(item, "last_commit", None)
                if isinstance(item, RepoFile) and last is not None:
                    found[item.path] = CommitInfo(last.oid, last.title, last.date)
            return found

        return self._call(f"{repo}@{revision}", info)

    def file_url(self, repo: str, path: str, commit: str) -> str:
        """The immutable download URL of a file at a commit."""
        return hf_hub_url(repo, path, revision=commit, endpoint=self.endpoint)

    def auth_headers(self) -> dict[str, str]:
        headers: dict[str, str] = build_hf_headers(token=self._token or False)
        return headers

    @contextmanager
    def stream(
        self, repo: str, path: str, commit: str, start: int = 0, end: int | None = None
    ) -> Iterator[httpx2.Response]:
        """Stream a file (or a byte range of it) at a commit.

        The request is retried by the network policy; a body cut off mid-way raises
        ``AnswerCutOff`` and callers resume (``read_range``, the publish stream).
        """
        headers = self.auth_headers()
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        where = f"{repo}@{commit[:12]}/{path}"
        body_error: Exception | None = None
        try:
            # No retries of the client's own: the transport applies the one policy.
            with http_stream_backoff(
                "GET",
                self.file_url(repo, path, commit),
                headers=headers,
                follow_redirects=True,
                retry_on_exceptions=(),
                retry_on_status_codes=(),
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    hf_raise_for_status(response)  # -> the client's typed errors
                try:
                    yield response
                except (httpx2.HTTPError, OSError) as error:
                    body_error = error
        except (NetworkError, HfHubHTTPError, httpx2.HTTPError, OSError) as error:
            raise translate(error, where) from None
        if body_error is not None:
            raise AnswerCutOff(
                f"the Hub's answer was cut off ({type(body_error).__name__})",
                location=where,
                hint="check the network; run again",
            )

    def read_small_file(self, repo: str, path: str, revision: str, max_bytes: int) -> bytes:
        """A whole small file (a workflow JSON), refused unread when the Hub says it is
        over ``max_bytes``: one metadata request, then one ranged read of its size."""
        snapshot = self.snapshot(repo, revision)
        remote = snapshot.files.get(path)
        if remote is None:
            raise FileNotFoundOnHub(
                f"{path}: file not found at this revision",
                location=f"{repo}@{revision}",
                hint="check the path inside the repo (case matters) and the revision",
            )
        if remote.size > max_bytes:
            raise ConfigError(
                f"{path} is {remote.size:,} bytes, over the {max_bytes:,} this reads",
                location=f"{repo}@{revision}",
                hint="point at the workflow JSON itself, not a model file",
            )
        if remote.size == 0:
            return b""
        return self.read_range(remote.repo, path, remote.commit, 0, remote.size)

    def read_range(self, repo: str, path: str, commit: str, start: int, length: int) -> bytes:
        """Bytes [start, start+length) of a file; never more, whatever the server sends.

        A read cut off mid-way (reset, truncated) is read again, under the network policy.
        """
        where = f"{repo}@{commit[:12]}/{path}"
        attempts = network.Attempts(
            f"ranged read of bytes {start}-{start + length - 1}",
            self.file_url(repo, path, commit),
            where,
        )
        while True:
            try:
                return self._read_range_once(repo, path, commit, start, length)
            except AnswerCutOff as cut:
                attempts.failed(cut)

    def _read_range_once(self, repo: str, path: str, commit: str, start: int, length: int) -> bytes:
        chunks: list[bytes] = []
        received = 0
        where = f"{repo}@{commit[:12]}/{path}"
        with self.stream(repo, path, commit, start, start + length - 1) as response:
            if response.status_code == 200 and start:
                raise HubError(
                    "the server ignored the Range request",
                    location=where,
                    hint="a proxy between you and the Hub may strip Range headers",
                )
            if response.status_code == 206:
                answers.check_content_range(response.headers.get("Content-Range"), start, where)
            for chunk in response.iter_bytes():
                chunks.append(chunk[: length - received])
                received += len(chunks[-1])
                if received >= length:
                    break  # a server that ignores Range must not make us read 20 GB
        return b"".join(chunks)
