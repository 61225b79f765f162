"""Requests to a target with retries on transient failures, bounded by a job's deadline.

Connection errors, timeouts, 429 and 5xx are retried with the project's policy
(imagebuilder.network: attempts, jittered backoff and a capped Retry-After, from the
environment); any other answer goes back to the caller to interpret. The deadline is
wall clock: every socket wait is cut to what is left of it (abtest._wallclock), so a
worker trickling a byte a second ends the job at its limit like one that never answers.
When the retries or the deadline run out the job fails with kind ``http`` (or
``timeout``) and a message that names the route but never a header: the RunPod key
travels in one. ``poll_until`` and ``cancel_on_timeout`` are the waiting both targets
do for a queued job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2

from imagebuilder import network
from imagebuilder.abtest._wallclock import check_deadline, until, wall_clock_transport
from imagebuilder.abtest.jobs import FailureKind, JobFailed
from imagebuilder.errors import EndpointUnreachable, TimedOut

MAX_ANSWER_BYTES = 200_000_000  # a few output PNGs as base64; more is a broken target
# JSON is parsed into Python objects, ~10x its size; RunPod's /status carries the outputs
# as base64 (RunPod caps a job's result far below this).
MAX_JSON_BYTES = 100_000_000

Answer = TypeVar("Answer")


class TargetHttp:
    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.policy = network.policy()
        self.attempts = self.policy.retries + 1
        self.sleep = sleep
        self.retries = 0  # counted for the report: flaky targets show up
        self.read_timeout_s = timeout_s
        self._client = httpx2.Client(
            base_url=self.base_url,
            headers=headers or {},
            timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            follow_redirects=False,
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=32),
            transport=wall_clock_transport(
                httpx2.Limits(max_connections=64, max_keepalive_connections=32)
            ),
        )

    def close(self) -> None:
        self._client.close()

    def probe(self, path: str, *, target: str) -> httpx2.Response:
        """The first request to a target: a refused connection or an unknown name ends
        the command here (the project's fail-fast rule) instead of failing every job."""
        seconds = min(self.read_timeout_s, 30.0, max(0.01, network.DEADLINE.remaining()))
        try:
            with until(time.monotonic() + seconds):
                return self._send("GET", path, seconds, {})
        except httpx2.ConnectError as error:
            raise EndpointUnreachable(
                f"nothing answers at {target} ({type(error).__name__})",
                location=target,
                hint="start the worker (ComfyUI listens on :8188) or fix --target",
            ) from None
        except httpx2.TimeoutException:
            raise TimedOut(
                f"GET {path}: no complete answer from {target} within {seconds:g} s",
                location=target,
                hint="the worker accepts connections but answers too slowly; check it",
            ) from None

    def _send(
        self, method: str, path: str, timeout: float, kwargs: dict[str, Any]
    ) -> httpx2.Response:
        """One request whose body is read up to MAX_ANSWER_BYTES: answers are hostile."""
        request = self._client.build_request(method, path, timeout=timeout, **kwargs)
        response = self._client.send(request, stream=True)
        try:
            declared = int(response.headers.get("Content-Length") or 0)
            body = bytearray()
            if declared <= MAX_ANSWER_BYTES:
                for chunk in response.iter_bytes():
                    check_deadline()  # also bounds a trickle through a proxy
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        break
            if declared > MAX_ANSWER_BYTES or len(body) > MAX_ANSWER_BYTES:
                raise JobFailed(
                    FailureKind.HTTP, f"{method} {path}: answer over {MAX_ANSWER_BYTES} bytes"
                )
        finally:
            response.close()
        # The body is decoded already: a Content-Encoding header would decode it twice.
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"]
        return httpx2.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        deadline: float,
        what: str,
        cleanup: bool = False,
        **kwargs: Any,
    ) -> httpx2.Response:
        """The first non-transient answer; JobFailed once retries or time run out.
        The command's deadline (--deadline) bounds every request but a ``cleanup`` (a
        cancel after a timeout, with its own short deadline)."""
        last = ""
        if not cleanup:
            deadline = min(deadline, time.monotonic() + network.DEADLINE.remaining())
        for attempt in range(self.attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JobFailed(FailureKind.TIMEOUT, f"time limit reached during {what}")
            asked: float | None = None
            try:
                with until(deadline):
                    response = self._send(method, path, min(remaining, self.read_timeout_s), kwargs)
            except httpx2.TransportError as error:
                if time.monotonic() >= deadline:
                    raise JobFailed(
                        FailureKind.TIMEOUT,
                        f"time limit reached during {what} (the answer was still arriving)",
                    ) from None
                last = f"{type(error).__name__}: {error}"
            else:
                if response.status_code not in network.RETRY_STATUSES:
                    return response
                asked = self.policy.retry_after(response.headers.get("Retry-After"))
                last = f"HTTP {response.status_code}: {response.text[:200]!r}"
            if attempt + 1 < self.attempts:
                self.retries += 1
                pause = asked if asked is not None else self.policy.backoff(attempt + 1)
                self.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        raise JobFailed(FailureKind.HTTP, f"{what} failed after {self.attempts} attempts ({last})")


def json_object(response: httpx2.Response, what: str) -> dict[str, Any]:
    """The answer as a JSON object; anything else (deep nesting included) fails the job."""
    if len(response.content) > MAX_JSON_BYTES:
        raise JobFailed(
            FailureKind.HTTP,
            f"{what}: a JSON answer of {len(response.content)} bytes, over {MAX_JSON_BYTES}",
        )
    try:
        data = response.json()
    except RecursionError:  # Python's parser recurses once per level
        raise JobFailed(FailureKind.HTTP, f"{what}: answer is JSON nested too deep") from None
    except ValueError:
        raise JobFailed(FailureKind.HTTP, f"{what}: answer is not JSON") from None
    if not isinstance(data, dict):
        raise JobFailed(FailureKind.HTTP, f"{what}: answer is not a JSON object")
    return data


def poll_until(
    finished: Callable[[], Answer | None], *, poll_s: float, deadline: float, what: str
) -> Answer:
    """Ask ``finished`` every ``poll_s`` seconds until it answers; a ``timeout`` failure
    naming ``what`` when the next poll would fall past the deadline."""
    while True:
        answer = finished()
        if answer is not None:
            return answer
        if time.monotonic() + poll_s >= deadline:
            raise JobFailed(FailureKind.TIMEOUT, f"{what} did not finish in time")
        time.sleep(poll_s)


def cancel_on_timeout(wait: Callable[[], Answer], cancel: Callable[[], None]) -> Answer:
    """``wait()``, cancelling the job first when it timed out, so the worker is left as
    it was found for the next job."""
    try:
        return wait()
    except JobFailed as failure:
        if failure.kind is FailureKind.TIMEOUT:
            cancel()
        raise
