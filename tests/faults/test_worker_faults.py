"""`imagebuilder test` against slow and hostile workers, through the fault proxy.

A loopback ComfyUI or RunPod endpoint sits behind the proxy, which trickles answers a
byte a second, answers with JSON nested 100,000 deep, or rate-limits with Retry-After.
Every case ends within its bound with a clean job failure (or passes, where the policy
says it recovers); none ends in an internal error.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from comfyserver import MANY_OUTPUTS_MARK, ComfyServer, RunpodServer
from comfyserver.cli import CasesRun, CasesRunner
from comfyserver.project import make_project
from faultproxy import Fault, FaultProxy, Kind
from faults.matrix import ROUND_TWO
from imagebuilder import network
from imagebuilder.abtest import _http

TRICKLE = Fault(Kind.TRICKLE, seconds=1.0)
DEEP = b"[" * 100_000 + b"]" * 100_000
ONE_JOB = ("--variant", "steps4")  # the baseline alone: one job, no warm-up


@dataclass
class Worker:
    server: ComfyServer | RunpodServer
    proxy: FaultProxy
    url: str  # --target, or RUNPOD_API_BASE
    run: CasesRunner

    def timed(self, target: str, *args: str) -> tuple[CasesRun, float]:
        started = time.monotonic()
        outcome = self.run(target, {"cat": "a cat"}, *ONE_JOB, *args)
        return outcome, time.monotonic() - started


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(network.BACKOFF_ENV, "0.01")
    network.reset()
    yield
    network.reset()


@pytest.fixture
def comfy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Worker]:
    with ComfyServer(seconds_per_step=0.01) as server, FaultProxy(_port(server.origin)) as proxy:
        yield Worker(server, proxy, proxy.url, CasesRunner(make_project(tmp_path), capsys))


@pytest.fixture
def runpod(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Worker, RunpodServer]]:
    with RunpodServer(seconds_per_step=0.01) as server, FaultProxy(_port(server.origin)) as proxy:
        monkeypatch.setenv("RUNPOD_API_KEY", server.api_key)
        monkeypatch.setenv("RUNPOD_API_BASE", f"{proxy.url}/v2")
        runner = CasesRunner(make_project(tmp_path), capsys)
        yield Worker(server, proxy, f"runpod://{server.endpoint_id}", runner), server


def _port(origin: str) -> int:
    return int(origin.rsplit(":", 1)[1])


def _row(outcome: CasesRun) -> dict[str, Any]:
    (row,) = outcome.document["rows"]
    assert isinstance(row, dict)
    return row


def test_a_view_trickling_a_byte_a_second_ends_at_the_job_limit(comfy: Worker) -> None:
    assert ROUND_TWO["trickle-view"]
    comfy.proxy.add(TRICKLE, method="GET", path=r"^/view", times=-1)
    outcome, seconds = comfy.timed(comfy.url, "--timeout", "2")
    assert outcome.code == 13, outcome.err
    row = _row(outcome)
    assert row["failure_kind"] == "timeout" and "time limit" in str(row["failure"]), row
    assert float(row["wall_s"]) < 2 + 1
    assert seconds < 60  # the whole command, config and report included (not 7,000 s)


def test_a_history_trickle_ends_at_the_command_deadline(
    comfy: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ROUND_TWO["trickle-history-deadline"]
    comfy.proxy.add(TRICKLE, method="GET", path=r"^/history/", times=-1)
    # --deadline 0.25: 15 s for the whole command, loading the project included
    monkeypatch.setenv(network.DEADLINE_ENV, "0.25")
    outcome, seconds = comfy.timed(comfy.url, "--timeout", "600")
    assert outcome.code == 13, outcome.err
    row = _row(outcome)
    assert row["failure_kind"] == "timeout", row
    assert any(seen.method == "POST" and seen.target == "/queue" for seen in comfy.proxy.seen)
    assert seconds < 15 + 7  # the deadline, then the cancel's 5 s grace at most


def test_a_runpod_status_trickle_ends_at_the_job_limit(
    runpod: tuple[Worker, RunpodServer],
) -> None:
    assert ROUND_TWO["trickle-status"]
    worker, _ = runpod
    worker.proxy.add(TRICKLE, method="GET", path=r"/status/", times=-1)
    outcome, seconds = worker.timed(worker.url, "--timeout", "2")
    assert outcome.code == 13, outcome.err
    row = _row(outcome)
    assert row["failure_kind"] == "timeout", row
    assert float(row["wall_s"]) < 2 + 1
    assert seconds < 60


def test_deep_json_from_system_stats_is_no_internal_error(comfy: Worker) -> None:
    assert ROUND_TWO["deep-json-stats"]
    comfy.proxy.add(Fault(Kind.ANSWER, status=200, body=DEEP), path=r"^/system_stats")
    outcome, _ = comfy.timed(comfy.url)
    assert outcome.code == 0, outcome.err
    assert outcome.document["target"]["gpu"] is None


def test_deep_json_from_runpod_health_is_no_internal_error(
    runpod: tuple[Worker, RunpodServer],
) -> None:
    assert ROUND_TWO["deep-json-health"]
    worker, _ = runpod
    worker.proxy.add(Fault(Kind.ANSWER, status=200, body=DEEP), path=r"/health")
    outcome, _ = worker.timed(worker.url)
    assert outcome.code == 0, outcome.err


def test_deep_json_from_history_fails_the_job_cleanly(comfy: Worker) -> None:
    assert ROUND_TWO["deep-json-history"]
    comfy.proxy.add(Fault(Kind.ANSWER, status=200, body=DEEP), path=r"^/history/", times=-1)
    outcome, _ = comfy.timed(comfy.url, "--timeout", "5")
    assert outcome.code == 13, outcome.err
    row = _row(outcome)
    assert row["failure_kind"] == "http" and "nested too deep" in str(row["failure"]), row


def test_huge_json_from_history_fails_the_job_unparsed(
    comfy: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ROUND_TWO["huge-json-history"]
    monkeypatch.setattr(_http, "MAX_JSON_BYTES", 1_000_000)
    huge = b"[" + b"0," * 1_000_000 + b"0]"
    comfy.proxy.add(Fault(Kind.ANSWER, status=200, body=huge), path=r"^/history/", times=-1)
    outcome, _ = comfy.timed(comfy.url, "--timeout", "5")
    assert outcome.code == 13, outcome.err
    row = _row(outcome)
    assert row["failure_kind"] == "http" and "over 1000000" in str(row["failure"]), row


def test_runpod_429_waits_as_long_as_retry_after_asks(
    runpod: tuple[Worker, RunpodServer],
) -> None:
    assert ROUND_TWO["retry-after-run"]
    worker, _ = runpod
    limited = Fault(Kind.STATUS, status=429, retry_after="1")
    worker.proxy.add(limited, method="POST", path=r"/run$", times=3)
    outcome, _ = worker.timed(worker.url, "--timeout", "30")
    assert outcome.code == 0, outcome.err
    assert worker.proxy.faults_applied() == 3
    assert float(_row(outcome)["wall_s"]) >= 3.0


def test_runpod_retry_after_is_capped(
    runpod: tuple[Worker, RunpodServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ROUND_TWO["retry-after-cap"]
    worker, _ = runpod
    monkeypatch.setenv(network.RETRY_AFTER_CAP_ENV, "0.5")
    limited = Fault(Kind.STATUS, status=429, retry_after="100000")
    worker.proxy.add(limited, method="POST", path=r"/run$", times=2)
    outcome, _ = worker.timed(worker.url, "--timeout", "30")
    assert outcome.code == 0, outcome.err
    assert 1.0 <= float(_row(outcome)["wall_s"]) < 4.0


def _smooth_png(side: int, wave: float) -> bytes:
    """A gradient with a faint wave: compresses small, decodes to side x side pixels."""
    ramp = np.linspace(0, 200, side, dtype=np.float32)
    wave_row = wave * np.sin(np.arange(side, dtype=np.float32) / 7)
    plane = (ramp[:, None] + wave_row[None, :]).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([plane] * 3), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def test_large_outputs_are_scored_on_a_bounded_copy(comfy: Worker) -> None:
    assert ROUND_TWO["large-outputs"]
    for wave in (0.0, 20.0):  # the baseline's /view first, then the variant's
        answer = Fault(Kind.ANSWER, status=200, body=_smooth_png(2400, wave))
        comfy.proxy.add(answer, method="GET", path=r"^/view")
    outcome = comfy.run(comfy.url, {"cat": "a cat"}, "--variant", "steps3", "--concurrency", "1")
    assert outcome.code == 0, outcome.err
    rows = outcome.rows()
    variant = rows[("cat", "steps3")]
    assert (variant["width"], variant["height"]) == (2400, 2400)
    assert variant["scored_size"] == "1449x1449"
    assert variant["ssim"] is not None and variant["ssim"] < 1.0
    assert variant["identical"] is False


def test_a_key_the_gateway_echoes_is_in_no_output(
    runpod: tuple[Worker, RunpodServer],
) -> None:
    assert ROUND_TWO["echoed-key"]
    worker, server = runpod
    echo = (
        '{"id": "job-1", "status": "FAILED", "error": "upstream 401 for request with '
        f'headers {{Authorization: Bearer {server.api_key}}}"}}'
    )
    worker.proxy.add(Fault(Kind.ANSWER, status=200, body=echo.encode()), path=r"/status/", times=-1)
    folder = worker.run.project.parent
    markdown, json_out = folder / "summary.md", folder / "result.json"
    outcome, _ = worker.timed(
        worker.url, "--markdown-out", str(markdown), "--json-out", str(json_out)
    )
    assert outcome.code == 13, outcome.err
    assert "upstream 401" in str(_row(outcome)["failure"])
    files = [markdown.read_text(), json_out.read_text(), worker.run.report.read_text()]
    for text in [outcome.out, outcome.err, *files]:
        assert server.api_key not in text
    assert "Bearer ***" in markdown.read_text()


SECRETS = {
    "HF_TOKEN": "hf_faultsuiteSecretToken",
    "IMAGEBUILDER_REGISTRY_PASSWORD": "registry-faultsuite-pw",
    "RUNPOD_API_KEY": "rpa_faultsuiteRunpodKey",
}


@pytest.mark.parametrize(
    ("target", "api_base"),
    [
        ("runpod://user:hunter2secret@endpoint", None),
        ("ftp+weird://user:hunter2secret@host/x", None),
        ("http://user:hunter2secret@127.0.0.1:1", None),
        ("runpod://endpoint", "gopher://user:hunter2secret@127.0.0.1/v2"),
        ("runpod://endpoint", "http://user:hunter2secret@203.0.113.9/v2"),
        *[(f"runpod://{value}!", None) for value in SECRETS.values()],
    ],
)
def test_no_secret_is_echoed_from_a_target(
    comfy: Worker, monkeypatch: pytest.MonkeyPatch, target: str, api_base: str | None
) -> None:
    assert ROUND_TWO["secrets-in-target"]
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    if api_base is not None:
        monkeypatch.setenv("RUNPOD_API_BASE", api_base)
    outcome = comfy.run(target, {"cat": "a cat"})
    assert outcome.code == 3, outcome.err
    for secret in ["hunter2secret", *SECRETS.values()]:
        assert secret not in outcome.out and secret not in outcome.err


def test_a_node_listing_hundreds_of_images_fails_before_downloading(comfy: Worker) -> None:
    """Before: every listed image was downloaded (400 refs -> 400 /view per job)."""
    assert ROUND_TWO["many-images-per-node"]
    outcome, _ = comfy.timed(comfy.url)
    assert outcome.code == 0
    outcome = comfy.run(comfy.url, {"cat": f"{MANY_OUTPUTS_MARK} a cat"}, *ONE_JOB)
    assert outcome.code == 13, outcome.err
    row = _row(outcome)
    assert row["failure_kind"] == "bad_output" and "lists 400 outputs" in row["failure"], row
    views = [seen for seen in comfy.proxy.seen if seen.target.startswith("/view")]
    assert len(views) == 1  # the first run's one output; none for the broken history


def test_an_output_that_is_no_image_is_described_not_repr(comfy: Worker) -> None:
    assert ROUND_TWO["not-an-image"]
    page = Fault(Kind.ANSWER, status=200, body=b"<html>502 Bad Gateway</html>")
    comfy.proxy.add(page, method="GET", path=r"^/view", times=-1)
    outcome, _ = comfy.timed(comfy.url)
    assert outcome.code == 13, outcome.err
    failure = str(_row(outcome)["failure"])
    assert "BytesIO" not in failure and "object at 0x" not in failure, failure
    assert "not an image (28 bytes, starting '<html>502 Bad Gateway</h')" in failure


def test_worker_text_in_the_markdown_summary_is_escaped(
    runpod: tuple[Worker, RunpodServer],
) -> None:
    assert ROUND_TWO["markdown-worker-text"]
    worker, _ = runpod
    hostile = r"<img src=x onerror=alert(1)> \u001b]8;;https://evil/\u0007click\u001b]8;;\u0007 `x`"
    body = f'{{"id": "job-1", "status": "FAILED", "error": "{hostile}"}}'.encode()
    worker.proxy.add(Fault(Kind.ANSWER, status=200, body=body), path=r"/status/", times=-1)
    summary = worker.run.project.parent / "summary.md"
    outcome, _ = worker.timed(worker.url, "--markdown-out", str(summary))
    assert outcome.code == 13, outcome.err
    text = summary.read_text()
    assert "onerror" in text  # the message is there ...
    assert "<img" not in text and "\x1b" not in text and "\x07" not in text  # ... defused
    assert "&lt;img src=x onerror=alert(1)>" in text
