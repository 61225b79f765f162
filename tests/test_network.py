"""The network policy as data: waits, caps, budgets and what each failure becomes."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx2
import pytest

from imagebuilder import network
from imagebuilder.errors import (
    CommandAborted,
    EndpointUnreachable,
    NetworkError,
    RateLimited,
    TimedOut,
)


@pytest.fixture(autouse=True)
def fresh_policy() -> Iterator[None]:
    network.reset(network.Policy(backoff_s=0.001, max_backoff_s=0.002, retry_after_cap_s=0.01))
    network.DEADLINE.start(1.0)
    yield
    network.reset()
    network.DEADLINE.start(network.DEFAULT_DEADLINE_MIN)


def test_retry_after_is_capped_and_only_seconds_count() -> None:
    policy = network.Policy(retry_after_cap_s=30)
    assert policy.retry_after("3") == 3.0
    assert policy.retry_after("100000") == 30.0
    assert policy.retry_after("²") is None  # isdigit() but not a number float() reads
    assert policy.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert policy.retry_after(None) is None


def test_backoff_grows_with_full_jitter_up_to_the_cap() -> None:
    policy = network.Policy(backoff_s=0.5, max_backoff_s=8)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 8.0)):
        waits = {policy.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered


def test_environment_sets_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(network.READ_TIMEOUT_ENV, "0.5")
    monkeypatch.setenv(network.RETRY_AFTER_CAP_ENV, "2")
    monkeypatch.setenv(network.RETRIES_ENV, "1")
    policy = network.Policy.from_env()
    assert (policy.read_timeout_s, policy.retry_after_cap_s, policy.retries) == (0.5, 2.0, 1)
    monkeypatch.setenv(network.READ_TIMEOUT_ENV, "soon")
    with pytest.raises(NetworkError, match="IMAGEBUILDER_READ_TIMEOUT"):
        network.Policy.from_env()


def test_timeouts_never_outlast_the_deadline() -> None:
    network.DEADLINE.start(0.5 / 60)  # half a second
    timeouts = network.timeouts()
    assert timeouts.read is not None and timeouts.read <= 0.5
    assert timeouts.connect is not None and timeouts.connect <= 0.5


def test_statuses_are_retried_then_named() -> None:
    attempts = network.Attempts("GET /x", "http://127.0.0.1:1/x", "repo@main")
    for _ in range(attempts.policy.retries):
        attempts.failed_status(503, None)
    with pytest.raises(NetworkError, match=r"GET /x: .* answered 503 5 times"):
        attempts.failed_status(503, None)
    attempts = network.Attempts("GET /x", "http://127.0.0.1:1/x")
    for _ in range(attempts.policy.retries):
        attempts.failed_status(429, "100000")  # capped to 0.01 s here, so this is quick
    with pytest.raises(RateLimited):
        attempts.failed_status(429, "100000")


def test_a_refused_connection_ends_the_command_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/models/a/b"
    started = time.monotonic()
    attempts = network.Attempts("model info", url)
    with pytest.raises(CommandAborted) as first:
        try:
            httpx2.get(url, timeout=network.timeouts())
        except httpx2.TransportError as error:
            attempts.failed_transport(error)
    assert isinstance(first.value.error, EndpointUnreachable)
    assert "connection was refused" in first.value.error.message
    with pytest.raises(CommandAborted) as again:  # known: no second connection attempt
        network.known_unreachable(url.replace("/a/b", "/c/d"))
    assert again.value is first.value
    assert time.monotonic() - started < 1


def test_a_spent_deadline_names_the_operation() -> None:
    network.DEADLINE.start(0.0001 / 60)
    time.sleep(0.01)
    attempts = network.Attempts("ranged read", "http://127.0.0.1:1/", "org/x@main/f")
    with pytest.raises(CommandAborted) as aborted:
        attempts.failed_status(503, None)
    assert isinstance(aborted.value.error, TimedOut)
    assert "ranged read was still unfinished" in aborted.value.error.message
    assert aborted.value.error.location == "org/x@main/f"


def test_a_read_timeout_is_tried_once_more_then_ends_the_command() -> None:
    attempts = network.Attempts("GET /x", "http://127.0.0.1:1/x")
    attempts.failed_transport(httpx2.ReadTimeout("slow"))
    with pytest.raises(CommandAborted) as aborted:
        attempts.failed_transport(httpx2.ReadTimeout("slow"))
    assert isinstance(aborted.value.error, TimedOut)
    assert "no answer from http://127.0.0.1:1 within" in aborted.value.error.message
