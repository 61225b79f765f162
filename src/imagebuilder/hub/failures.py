"""How Hub calls fail: the client's errors -> imagebuilder errors. When to try again is
``imagebuilder.network``'s business (applied to every request in ``hub.transport``).

Private to ``hub``; kept apart so the Hub class reads as the list of calls it makes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx2
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from imagebuilder.errors import (
    FileNotFoundOnHub,
    GatedRepo,
    HubError,
    ImageBuilderError,
    NetworkError,
    RateLimited,
    RepoNotFound,
    RevisionNotFound,
)

DEFAULT_ENDPOINT = "https://huggingface.co"


# Where the repo ids of this command come from, for the hint of a repo not found:
# models.yaml for most commands; `inspect` and `import-template` take them as arguments.
REPO_IDS_FROM_CONFIG = "in models.yaml"
REPO_IDS_FROM: ContextVar[str] = ContextVar("repo_ids_from", default=REPO_IDS_FROM_CONFIG)


@contextmanager
def repo_ids_from(source: str) -> Iterator[None]:
    token = REPO_IDS_FROM.set(source)
    try:
        yield
    finally:
        REPO_IDS_FROM.reset(token)


def hub_endpoint() -> str:
    """HF_ENDPOINT read now, not at import (huggingface_hub reads it once at import)."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def translate(error: Exception, where: str) -> ImageBuilderError:
    if isinstance(error, GatedRepoError):
        return GatedRepo(
            "the repo is gated: your token has no access",
            location=where,
            hint="accept the repo's terms on the Hub, then set HF_TOKEN or run `hf auth login`",
        )
    if isinstance(error, RepositoryNotFoundError):
        return RepoNotFound(
            "repo not found (or private without a token)",
            location=where,
            hint=f"check the repo id {REPO_IDS_FROM.get()}; private repos need HF_TOKEN",
        )
    if isinstance(error, RevisionNotFoundError):
        return RevisionNotFound(
            "revision not found", location=where, hint="check the branch, tag or commit sha"
        )
    if isinstance(error, RemoteEntryNotFoundError):
        return FileNotFoundOnHub(
            "file not found at this revision",
            location=where,
            hint="check the path inside the repo (case matters) and the revision"
            if REPO_IDS_FROM.get() != REPO_IDS_FROM_CONFIG
            else "the file may have been renamed or removed; run `imagebuilder check-updates`",
        )
    if isinstance(error, NetworkError):  # from the network policy: already says it all
        if error.location is None:
            error.location = where
        return error
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else None
        if status == 429:
            return RateLimited(
                "the Hub kept rate-limiting after retries",
                location=where,
                hint="wait and run again; a token (HF_TOKEN) raises the limits",
            )
        if status is not None and status >= 500:
            return NetworkError(f"the Hub answered {status} after retries", location=where)
        return HubError(f"the Hub refused the request (HTTP {status})", location=where)
    if isinstance(error, httpx2.HTTPError | OSError):
        return NetworkError(
            f"the connection to the Hub at {hub_endpoint()} failed: {type(error).__name__}",
            location=where,
            hint="check the network or HF_ENDPOINT; the request was retried with backoff",
        )
    raise error
