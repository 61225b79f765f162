"""Every request huggingface_hub sends goes through the network policy here.

The client asks for no timeout on many calls (``model_info(timeout=None)`` and friends),
retries some routes itself with an uncapped Retry-After, and others not at all. Wrapping
the transport of the client it builds (its public ``set_client_factory`` hook) gives each
request the policy's timeouts, whatever the call passed, and one retry loop for all
routes. A request that still fails raises an imagebuilder error, which the client's own
backoff does not catch: it never retries on top, and prints nothing.
"""

from __future__ import annotations

import threading

import httpx2
from huggingface_hub.utils import set_client_factory

# No public name: the factory whose client (hooks, proxies from the environment) we wrap.
from huggingface_hub.utils._http import default_client_factory

from imagebuilder import network

# Answers up to this size are read inside the retry loop, so a JSON answer or a header
# range cut off mid-way is retried like a reset. Larger bodies and whole-file downloads
# stream to the caller.
BUFFER_LIMIT = 4 << 20


class BudgetTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport):
        self.inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        network.known_unreachable(request.url)
        what = f"{request.method} {request.url.path}"
        attempts = network.Attempts(what, request.url, name_unreachable=False)
        # Only a body held in memory can be sent twice; the client's calls all have one.
        replayable = isinstance(request.stream, httpx2.ByteStream)
        while True:
            network.DEADLINE.check(what, None)
            request.extensions["timeout"] = network.timeouts().as_dict()
            try:
                response = self.inner.handle_request(request)
                if replayable and response.status_code in network.RETRY_STATUSES:
                    retry_after = response.headers.get("Retry-After")
                    response.close()
                    attempts.failed_status(response.status_code, retry_after)
                    continue
                if _whole_file_download(request):
                    return response  # streams to the caller, which resumes with Range
                return _buffered(response, request.method)
            except httpx2.TransportError as error:
                if not replayable:
                    raise
                attempts.failed_transport(error)

    def close(self) -> None:
        self.inner.close()


def _whole_file_download(request: httpx2.Request) -> bool:
    return "/resolve/" in request.url.path and "range" not in request.headers


def _buffered(response: httpx2.Response, method: str) -> httpx2.Response:
    length = response.headers.get("Content-Length", "")
    if method == "HEAD" or not (length.isascii() and length.isdigit()):
        return response
    if int(length) > BUFFER_LIMIT:
        return response
    try:
        body = b"".join(response.iter_raw())  # still encoded: the client decodes it
    finally:
        response.close()
    if len(body) != int(length):
        raise httpx2.RemoteProtocolError(f"answer cut off at {len(body)} of {length} bytes")
    return httpx2.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx2.ByteStream(body),
        extensions=response.extensions,
    )


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


def _client_within_budget() -> httpx2.Client:
    client = default_client_factory()
    client.event_hooks["response"] = [*client.event_hooks["response"], refuse_oversized_answer]
    # Wrap the transports the client chose, proxies from the environment included.
    client._transport = BudgetTransport(client._transport)
    client._mounts = {
        pattern: None if transport is None else BudgetTransport(transport)
        for pattern, transport in client._mounts.items()
    }
    return client


_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Once per process, before the first request: the client's session gets the budget."""
    global _installed  # noqa: PLW0603 -- the client's session is process-wide, so is this
    with _install_lock:
        if not _installed:
            set_client_factory(_client_within_budget)
            _installed = True
