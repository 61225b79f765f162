"""The one time budget and retry policy for every network call, Hub and registry alike.

* Timeouts: every request gets a connect and a read timeout, never "wait forever".
* Retries: 408, 429, 5xx, resets and cut-off answers are tried again with exponential
  backoff and full jitter; a read timeout is tried once more (a server that never
  answers would otherwise cost attempts x timeout); `Retry-After` is obeyed up to a cap.
* Fail fast: a name that does not resolve or a refused connection is not transient:
  the first one ends the command, and later calls to the same origin fail at once.
* A deadline per command: every wait is cut to what is left of it; when it is spent,
  the error says which operation was running.

Settings come from the environment (IMAGEBUILDER_DEADLINE in minutes, the others in
seconds), so tests and CI can run with short budgets. Why no retry library: pyproject."""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from imagebuilder.errors import (
    CommandAborted,
    NetworkError,
    RateLimited,
    TimedOut,
)
from imagebuilder.origins import unreachable

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

DEADLINE_ENV = "IMAGEBUILDER_DEADLINE"  # minutes, for one whole command
CONNECT_TIMEOUT_ENV = "IMAGEBUILDER_CONNECT_TIMEOUT"  # seconds
READ_TIMEOUT_ENV = "IMAGEBUILDER_READ_TIMEOUT"  # seconds without a byte
RETRIES_ENV = "IMAGEBUILDER_RETRIES"  # attempts after the first
RETRY_AFTER_CAP_ENV = "IMAGEBUILDER_RETRY_AFTER_CAP"  # seconds
BACKOFF_ENV = "IMAGEBUILDER_BACKOFF"  # seconds: first backoff ceiling (doubles, up to 8 s)

if TYPE_CHECKING:  # httpx2 is imported where a request is made: `validate` never pays for it
    import httpx2

DEFAULT_DEADLINE_MIN = 60.0
_log = logging.getLogger(__name__)


def _env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise NetworkError(
            f"{name}={raw!r} is not a number", hint=f"unset {name} or give a number"
        ) from None
    if not minimum <= value < float("inf"):
        raise NetworkError(f"{name}={raw!r} is out of range", hint=f"use a number >= {minimum}")
    return value


@dataclass(frozen=True)
class Policy:
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    retries: int = 4  # 5 attempts in all
    timeout_retries: int = 1  # a read timeout is retried once: 2 x read timeout at worst
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    retry_after_cap_s: float = 30.0

    @classmethod
    def from_env(cls) -> Policy:
        base = cls()
        return cls(
            connect_timeout_s=_env_float(CONNECT_TIMEOUT_ENV, base.connect_timeout_s, minimum=0.01),
            read_timeout_s=_env_float(READ_TIMEOUT_ENV, base.read_timeout_s, minimum=0.01),
            retries=int(_env_float(RETRIES_ENV, base.retries)),
            backoff_s=_env_float(BACKOFF_ENV, base.backoff_s),
            retry_after_cap_s=_env_float(RETRY_AFTER_CAP_ENV, base.retry_after_cap_s),
        )

    def backoff(self, attempt: int) -> float:
        # Full jitter: parallel uploads that failed together must not retry together.
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not crypto)

    def retry_after(self, header: str | None) -> float | None:
        """Seconds the server asked for, capped; None when absent or not a number of seconds."""
        value = (header or "").strip()
        # isascii: "²".isdigit() is True, and float("²") raises.
        if value.isascii() and value.isdigit():
            return min(float(value), self.retry_after_cap_s)
        return None


class Deadline:
    """The command's overall budget: started once by the CLI, read by every wait."""

    def __init__(self) -> None:
        self._ends_at: float | None = None
        self.minutes: float = DEFAULT_DEADLINE_MIN

    def start(self, minutes: float | None = None) -> None:
        self.minutes = (
            minutes
            if minutes is not None
            else _env_float(DEADLINE_ENV, DEFAULT_DEADLINE_MIN, minimum=0.001)
        )
        self._ends_at = time.monotonic() + self.minutes * 60

    def remaining(self) -> float:
        if self._ends_at is None:
            return float("inf")
        return self._ends_at - time.monotonic()

    def check(self, what: str, where: str | None) -> None:
        if self.remaining() <= 0:
            raise CommandAborted(
                TimedOut(
                    f"gave up: {what} was still unfinished when the {self.minutes:g}-minute "
                    "deadline ran out",
                    location=where,
                    hint=f"raise it with --deadline MINUTES or {DEADLINE_ENV}, or check the "
                    "network",
                )
            )


DEADLINE = Deadline()
_policy_lock = threading.Lock()
_policy: Policy | None = None
_unreachable: dict[str, CommandAborted] = {}  # origin -> the first failure to reach it


def policy() -> Policy:
    global _policy  # noqa: PLW0603 -- one policy per process, read from its environment
    with _policy_lock:
        if _policy is None:
            _policy = Policy.from_env()
        return _policy


def reset(new_policy: Policy | None = None) -> None:
    """Forget the cached policy and unreachable origins (a new command in the same process)."""
    global _policy  # noqa: PLW0603
    with _policy_lock:
        _policy = new_policy
        _unreachable.clear()


def origin(url: str | httpx2.URL) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}"


def timeouts() -> httpx2.Timeout:
    """This request's timeouts: the policy's, never past the command deadline."""
    import httpx2  # noqa: PLC0415 -- see TYPE_CHECKING above

    current = policy()
    left = max(0.01, DEADLINE.remaining())
    return httpx2.Timeout(
        min(current.read_timeout_s, left),
        connect=min(current.connect_timeout_s, left),
    )


def known_unreachable(url: str | httpx2.URL) -> None:
    """Fail at once when an earlier call found this origin unreachable: detected once."""
    aborted = _unreachable.get(origin(url))
    if aborted is not None:
        raise aborted


def abort(url: str | httpx2.URL, error: NetworkError) -> CommandAborted:
    """The command ends with ``error``; later calls to the same origin fail the same way."""
    with _policy_lock:
        return _unreachable.setdefault(origin(url), CommandAborted(error))


class Attempts:
    """One operation's tries: call ``failed`` after each failure; it waits or raises."""

    def __init__(
        self,
        what: str,
        url: str | httpx2.URL,
        where: str | None = None,
        *,
        retry: bool = True,
        name_unreachable: bool = True,
    ):
        self.what = what
        # The Hub client's first request is often a side call no user knows: name the
        # endpoint alone there. A registry names the operation (the upload that failed).
        self.name_unreachable = name_unreachable
        self.url = url
        self.where = where
        current = policy()
        # retry=False: one try (a request whose body cannot be sent again), same messages;
        # its caller decides what a timeout means (an upload asks the offset and resumes).
        self.retry = retry
        self.policy = current if retry else replace(current, retries=0, timeout_retries=0)
        self.count = 0
        self.timeouts = 0

    def failed(self, error: NetworkError) -> None:
        """After an operation failed with ``error`` (already named): wait, or raise it."""
        self.count += 1
        if self.count > self.policy.retries:
            raise error
        self._sleep(self.policy.backoff(self.count))

    def failed_transport(self, error: httpx2.TransportError) -> None:
        """After a connection-level failure: wait and return, or raise the final error."""
        import httpx2  # noqa: PLC0415 -- see TYPE_CHECKING above

        if isinstance(error, httpx2.ConnectError):
            raise abort(
                self.url,
                unreachable(error, self.url, self.what if self.name_unreachable else None),
            )
        self.count += 1
        if isinstance(error, httpx2.TimeoutException):
            self.timeouts += 1
            if self.timeouts > self.policy.timeout_retries:
                timed_out = TimedOut(
                    f"{self.what}: no answer from {origin(self.url)} within "
                    f"{self._timeout_of(error):g} s ({self.timeouts} tries)",
                    location=self.where,
                    hint="the server accepted the connection but does not answer; try "
                    "later, or raise IMAGEBUILDER_READ_TIMEOUT",
                )
                if not self.retry:
                    raise timed_out  # one try: the caller may resume (see abort)
                # Accepts but never answers: as good as down; the command ends here, once.
                raise abort(self.url, timed_out)
        elif self.count > self.policy.retries:
            raise NetworkError(
                f"{self.what}: the connection to {origin(self.url)} kept failing "
                f"({type(error).__name__}, {self.count} tries)",
                location=self.where,
                hint="check the network; the request was retried with backoff",
            )
        self._sleep(self.policy.backoff(self.count))

    def failed_status(self, status: int, retry_after: str | None) -> None:
        """After a retryable status (408/429/5xx): wait and return, or raise the final error."""
        self.count += 1
        if self.count > self.policy.retries:
            kind = RateLimited if status == 429 else NetworkError
            raise kind(
                f"{self.what}: {origin(self.url)} answered {status} {self.count} times",
                location=self.where,
                hint="the server is overloaded or rate-limiting: wait and run again"
                + ("; a token (HF_TOKEN) raises the Hub's limits" if status == 429 else ""),
            )
        asked = self.policy.retry_after(retry_after)
        self._sleep(asked if asked is not None else self.policy.backoff(self.count))

    def _sleep(self, seconds: float) -> None:
        DEADLINE.check(self.what, self.where)
        _log.debug("%s: try %d failed, next in %.1f s", self.what, self.count, seconds)
        time.sleep(max(0.0, min(seconds, DEADLINE.remaining())))
        DEADLINE.check(self.what, self.where)

    def _timeout_of(self, error: httpx2.TimeoutException) -> float:
        if type(error).__name__ == "ConnectTimeout":
            return self.policy.connect_timeout_s
        return self.policy.read_timeout_s


def quiet_client_logs(debug: bool) -> None:
    """The Hub client logs every retry as a warning: only with --debug. Set before the
    client is imported (it reads HF_HUB_VERBOSITY once), and on it if it already is."""
    level = "info" if debug else "error"
    os.environ["HF_HUB_VERBOSITY"] = level
    hub_logging = sys.modules.get("huggingface_hub.utils.logging")
    if hub_logging is not None:
        hub_logging.set_verbosity(logging.INFO if debug else logging.ERROR)
