"""Fixtures for `imagebuilder test`: a small project with three variants, and the
loopback ComfyUI and RunPod servers (tests/comfyserver)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from comfyserver import ComfyServer, RunpodServer
from comfyserver.cli import CasesRunner
from comfyserver.project import make_project
from imagebuilder import network


@pytest.fixture(autouse=True)
def quick_retries() -> Iterator[None]:
    """The project's retry policy with millisecond backoffs: the same attempts, less waiting."""
    network.reset(network.Policy(backoff_s=0.01, max_backoff_s=0.05))
    yield
    network.reset()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def run_cases(project: Path, capsys: pytest.CaptureFixture[str]) -> CasesRunner:
    return CasesRunner(project, capsys)


@pytest.fixture
def comfy() -> Iterator[ComfyServer]:
    with ComfyServer(seconds_per_step=0.01, fixed_seconds=0.02, hang_s=20) as server:
        yield server


@pytest.fixture
def runpod(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunpodServer]:
    with RunpodServer(
        seconds_per_step=0.01, fixed_seconds=0.02, cold_start_s=0.2, hang_s=20
    ) as server:
        monkeypatch.setenv("RUNPOD_API_KEY", server.api_key)
        monkeypatch.setenv("RUNPOD_API_BASE", server.api_base)
        yield server
