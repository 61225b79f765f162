"""The fault proxy itself: each fault does to a real client what it says, nothing more."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest

from faultproxy import Fault, FaultProxy, Kind
from hubserver.server import HubServer

REPO = "Comfy-Org/Qwen-Image-Edit_ComfyUI"
MODEL_INFO = f"/api/models/{REPO}"


@pytest.fixture
def proxy(qwen_small_hub: HubServer) -> Iterator[FaultProxy]:
    port = int(qwen_small_hub.host_port.rsplit(":", 1)[1])
    with FaultProxy(port) as running:
        yield running


def get(proxy: FaultProxy, path: str, **options: object) -> httpx2.Response:
    with httpx2.Client(timeout=5) as client:
        return client.get(proxy.url + path, **options)  # type: ignore[arg-type]


def test_relays_unchanged_without_rules(proxy: FaultProxy, qwen_small_hub: HubServer) -> None:
    direct = httpx2.get(qwen_small_hub.url + MODEL_INFO)
    through = get(proxy, MODEL_INFO)
    assert through.status_code == 200
    assert through.content == direct.content
    assert proxy.faults_applied() == 0


def test_status_fault_applies_n_times_then_relays(proxy: FaultProxy) -> None:
    proxy.add(Fault(Kind.STATUS, status=429, retry_after="100000"), path="/api/models/", times=2)
    first, second, third = (get(proxy, MODEL_INFO) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "100000"
    assert proxy.faults_applied() == 2


def test_reset_is_a_transport_error(proxy: FaultProxy) -> None:
    proxy.add(Fault(Kind.RESET))
    with pytest.raises(httpx2.TransportError):
        get(proxy, MODEL_INFO)


def test_truncate_cuts_the_body_short(proxy: FaultProxy) -> None:
    proxy.add(Fault(Kind.TRUNCATE))
    with pytest.raises(httpx2.RemoteProtocolError):
        get(proxy, MODEL_INFO)


def test_corrupt_flips_one_byte(proxy: FaultProxy, qwen_small_hub: HubServer) -> None:
    direct = httpx2.get(qwen_small_hub.url + MODEL_INFO).content
    proxy.add(Fault(Kind.CORRUPT))
    corrupted = get(proxy, MODEL_INFO).content
    assert len(corrupted) == len(direct)
    assert sum(a != b for a, b in zip(corrupted, direct, strict=True)) == 1


def test_hang_never_answers(proxy: FaultProxy) -> None:
    proxy.add(Fault(Kind.HANG))
    started = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout), httpx2.Client(timeout=0.5) as client:
        client.get(proxy.url + MODEL_INFO)
    assert time.monotonic() - started < 3


def test_delay_then_relays(proxy: FaultProxy) -> None:
    proxy.add(Fault(Kind.DELAY, seconds=0.3))
    started = time.monotonic()
    assert get(proxy, MODEL_INFO).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_rules_match_method_path_and_header(proxy: FaultProxy) -> None:
    proxy.add(Fault(Kind.STATUS, status=500), method="POST", path="/api/models/")
    proxy.add(Fault(Kind.STATUS, status=502), header=("Range", "bytes=5-"))
    assert get(proxy, MODEL_INFO).status_code == 200
    assert get(proxy, MODEL_INFO, headers={"Range": "bytes=5-9"}).status_code == 502
