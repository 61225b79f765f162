"""How Hub calls fail and when to try again: the client's errors -> imagebuilder errors,
the retry policy for API calls, and timeouts on the client's shared HTTP session.

Private to ``hub``; kept apart so the Hub class reads as the list of calls it makes.
"""

from __future__ import annotations

import os
import threading

import httpx2
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import set_client_factory

# No public name: the factory we wrap to add timeouts to the client's own session.
from huggingface_hub.utils._http import default_client_factory

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
            hint="check the repo id in models.yaml; private repos need HF_TOKEN",
        )
    if isinstance(error, RevisionNotFoundError):
        return RevisionNotFound(
            "revision not found", location=where, hint="check the branch, tag or commit sha"
        )
    if isinstance(error, RemoteEntryNotFoundError):
        return FileNotFoundOnHub(
            "file not found at this revision",
            location=where,
            hint="the file may have been renamed or removed; run `imagebuilder check-updates`",
        )
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
            f"could not reach the Hub at {hub_endpoint()}: {type(error).__name__}",
            location=where,
            hint="check the network or HF_ENDPOINT; the client already retried with backoff",
        )
    raise error


# API calls the Hub may answer better on a second try: rate limits, overload, timeouts.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
RETRY_BASE_S = 1.0
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 60.0  # a hostile or confused server must not park us for hours


def retry_wait(error: Exception, attempt: int, base_s: float) -> float | None:
    """Seconds to wait before retrying after ``error``, or None when a retry cannot help."""
    backoff = float(min(base_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
    if isinstance(error, HfHubHTTPError):
        response = error.response
        if response is None or response.status_code not in RETRY_STATUSES:
            return None
        retry_after = response.headers.get("Retry-After", "").strip()
        if retry_after.isdigit() and retry_after.isascii():
            return min(float(retry_after), MAX_RETRY_AFTER_S)
        return backoff
    if isinstance(error, httpx2.TransportError | OSError):
        return backoff  # timeouts, refused or dropped connections
    return None


# huggingface_hub's shared client waits forever by default; a hung Hub must become a
# timeout, which ``_call`` and the client's download backoff then retry. Per read, so a
# long download is fine as long as bytes keep coming.
HTTP_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
_timeouts_lock = threading.Lock()
_timeouts_set = False


def _client_with_timeouts() -> httpx2.Client:
    client = default_client_factory()
    client.timeout = HTTP_TIMEOUT
    client.event_hooks["response"] = [*client.event_hooks["response"], refuse_oversized_answer]
    return client


# API answers are JSON the client reads whole into memory; the largest real one (model
# info with every file of a big repo) is a few MB. Downloads (/resolve/) are streamed and
# not limited here.
MAX_API_ANSWER_BYTES = 64 * 1024 * 1024


def refuse_oversized_answer(response: httpx2.Response) -> None:
    """Runs when the headers arrive, before the body is read: an API answer that says it
    is larger than any real one is refused (ValueError: ``Hub._call`` makes it a HubError,
    "an answer that cannot be read"), instead of being loaded into memory."""
    if not response.request.url.path.startswith("/api/"):
        return
    length = response.headers.get("Content-Length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_API_ANSWER_BYTES:
        response.close()
        raise ValueError(f"answer of {length} bytes, over {MAX_API_ANSWER_BYTES}")


def use_timeouts() -> None:
    """Once per process, before the first request: the client factory gets timeouts."""
    global _timeouts_set  # noqa: PLW0603 -- the client is process-wide, so is this switch
    with _timeouts_lock:
        if not _timeouts_set:
            set_client_factory(_client_with_timeouts)
            _timeouts_set = True
