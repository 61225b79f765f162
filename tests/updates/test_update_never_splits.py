"""`update` never splits the stack: a base moves only together with the LoRA that follows it.

When the LoRA for the new base cannot be looked up (its search fails, a candidate repo's
listing fails, its header read is cut, a search hit no longer exists), `update` must hold
the base back, report it as an option with the reason, and leave models.yaml and the lock
exactly as they were for both entries. Faults come from the loopback Hub's own injection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubserver.releases import (
    FP8MIXED_2511,
    LORA_2511_4STEPS,
    LORA_2511_REPO,
    publish_2511,
)
from hubserver.server import HubServer
from imagebuilder.cli.app import main
from imagebuilder.errors import ExitCode
from infra.snapshot import project_bytes


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Retries still happen (and still fail), without the real seconds of backoff."""
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real_sleep(min(seconds, 0.01)))
    yield


@pytest.fixture
def project(project: Path, qwen_hub: HubServer) -> Path:
    """Locked against the 2509 Hub, then upstream publishes the 2511 base and its LoRA."""
    publish_2511(qwen_hub)
    return project


def _lora_lookup_fails(server: HubServer, kind: str) -> None:
    faults = server.faults
    if kind == "search-500":
        faults.add(r"^/api/models$", status=500, times=None)
    elif kind == "lora-repo-listing-500":
        faults.add(rf"^/api/models/{LORA_2511_REPO}(/|$)", status=500, times=None)
    elif kind == "truncated-lora-header":
        faults.add(
            rf"^/{LORA_2511_REPO}/resolve/.*{LORA_2511_4STEPS}$",
            method="GET",
            drop_after_bytes=5,
            times=None,
        )
    elif kind == "pinned-lora-repo-500":  # the LoRA's own repo, where its pin lives
        faults.add(r"^/api/models/lightx2v/Qwen-Image-Lightning(/|$)", status=500, times=None)
    elif kind == "search-hit-404":
        faults.add(
            rf"^/api/models/{LORA_2511_REPO}(/|$)",
            status=404,
            headers={"X-Error-Code": "RepoNotFound"},
            times=None,
        )
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "options", "code"),
    [
        # A failing search or candidate repo is a skipped source (a note, not the exit
        # code: docs/updates.md); the base is still held back, naming the source.
        ("search-500", [], ExitCode.OK),
        ("lora-repo-listing-500", [], ExitCode.OK),
        ("truncated-lora-header", [], ExitCode.NETWORK),
        ("search-hit-404", [], ExitCode.OK),
        ("pinned-lora-repo-500", [], ExitCode.NETWORK),
        # Naming only the base still holds it back.
        ("lora-repo-listing-500", ["diffusion_model"], ExitCode.OK),
        # --strict turns the skipped source into the LoRA's error; still nothing is split.
        ("search-500", ["--strict"], ExitCode.NETWORK),
    ],
)
def test_a_failed_lora_lookup_holds_the_base_back(
    project: Path,
    qwen_hub: HubServer,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    options: list[str],
    code: ExitCode,
) -> None:
    before = project_bytes(project)
    _lora_lookup_fails(qwen_hub, kind)
    capsys.readouterr()

    assert main(["update", "-c", str(project), *options, "--json"]) == code
    captured = capsys.readouterr()

    assert project_bytes(project) == before  # base and LoRA: the same values and pins
    data = json.loads(captured.out)
    assert data["applied"] == []
    expected_problems = [] if code is ExitCode.OK else ["lightning_lora"]
    assert [p["entry"] for p in data["problems"]] == expected_problems
    [held] = [o for o in data["options"] if o["entry"] == "diffusion_model"]
    assert held["proposed"]["file"] == FP8MIXED_2511
    assert "held back" in held["why"] and "lightning_lora" in held["why"]
    assert "held back" in " ".join(captured.err.split())  # stderr says why too (wrapped)


def test_a_failed_lora_lookup_holds_the_base_back_in_check_updates(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-updates proposes what update would apply: no base change without its LoRA."""
    _lora_lookup_fails(qwen_hub, "search-500")
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project), "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert [c["entry"] for c in data["changes"]] == []
    assert any(o["entry"] == "diffusion_model" for o in data["options"])


def test_without_faults_base_and_lora_move_together(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: the same project, no fault, both entries move."""
    capsys.readouterr()
    assert main(["update", "-c", str(project), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["entry"] for c in data["applied"]] == ["diffusion_model", "lightning_lora"]
