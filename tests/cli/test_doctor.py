"""`imagebuilder doctor` asks the real things (the loopback Hub, a loopback ComfyUI, the
Docker Engine's socket) and gives the fix for each missing piece, never a secret."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from comfyserver import ComfyServer
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_doctorcanary0123456789"  # a canary: it must never be printed
PASSWORD = "registry-canary-password"


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main(["doctor", "-c", str(ROOT / "models.yaml"), *args, "--json"])
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert PASSWORD not in captured.out + captured.err
    return code, {c["name"]: c for c in json.loads(captured.out)["checks"]}, captured.err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_doctor_finds_what_is_there_and_says_where_from(
    qwen_hub: Any,
    hub_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub_env(qwen_hub)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_PASSWORD", PASSWORD)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with ComfyServer(seconds_per_step=0.01, fixed_seconds=0.01) as comfy:
        code, checks, _ = _doctor(capsys, "--target", comfy.url)
    assert checks["Hub"]["status"] == "ok" and qwen_hub.url.rstrip("/") in checks["Hub"]["detail"]
    assert checks["Hub token"] == checks["Hub token"] | {
        "status": "ok",
        "detail": "set, from HF_TOKEN",
    }
    registry = checks["registry credentials"]
    assert (
        registry["status"] == "ok" and registry["detail"] == "set for ghcr.io, from the environment"
    )
    assert checks["ComfyUI/RunPod target"]["status"] == "ok"
    engine = checks["Docker Engine"]
    assert engine["status"] == "missing" and "DOCKER_HOST" in engine["fix"]
    assert code == ExitCode.CHECK_FAILED  # one missing piece: the engine


def test_doctor_gives_the_fix_for_each_missing_piece(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("HF_ENDPOINT", hub)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_USERNAME", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    target = f"http://127.0.0.1:{_closed_port()}"
    code, checks, _ = _doctor(capsys, "--target", target)
    assert code == ExitCode.CHECK_FAILED
    assert checks["Hub"]["status"] == "missing" and "HF_ENDPOINT" in checks["Hub"]["fix"]
    assert checks["Hub token"]["status"] == "none" and "hf auth login" in checks["Hub token"]["fix"]
    assert "docker login ghcr.io" in checks["registry credentials"]["fix"]
    assert "--target" in checks["ComfyUI/RunPod target"]["fix"]


def test_doctor_prints_one_finding_per_check_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    capsys.readouterr()
    assert main(["doctor", "-c", str(ROOT / "models.yaml")]) == ExitCode.CHECK_FAILED
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    firsts = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert len(firsts) == 5 and set(firsts) <= {"ok", "missing", "none", "skipped"}
    assert "skipped  ComfyUI/RunPod target: no --target given" in out
