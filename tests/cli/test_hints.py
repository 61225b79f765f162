"""Each error's hint names the right thing: the Hub's endpoint for a Hub that is down
(not "the registry host"), the registry's host for a registry, the command line for a
repo id typed there (not models.yaml), models.yaml for one read from it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from imagebuilder.oci.transport import RegistryTransport
from imagebuilder.origins import unreachable_hint

ROOT = Path(__file__).resolve().parents[2]

MISSING_REPO = "nobody/no-such-repo/model.safetensors"


def write_project(tmp_path: Path) -> Path:
    """The shipped models.yaml and workflows in a folder of their own."""
    (tmp_path / "workflows").mkdir()
    for template in (ROOT / "workflows").glob("*.json"):
        (tmp_path / "workflows" / template.name).write_bytes(template.read_bytes())
    config = tmp_path / "models.yaml"
    config.write_text((ROOT / "models.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return config


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hint(err: str) -> str:
    _, _, hint = " ".join(err.split()).partition("hint: ")
    assert hint, err
    return hint


def test_a_hub_that_is_down_names_hf_endpoint_not_a_registry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("IMAGEBUILDER_RETRIES", "0")
    capsys.readouterr()
    assert main(["inspect", MISSING_REPO]) == ExitCode.NETWORK
    hint = _hint(capsys.readouterr().err)
    assert f"HF_ENDPOINT (the Hub: {endpoint})" in hint
    assert "registry" not in hint


def test_a_registry_that_is_down_names_its_host_not_hf_endpoint() -> None:
    host = f"127.0.0.1:{_closed_port()}"
    RegistryTransport(host, None).close()
    hint = unreachable_hint(f"http://{host}/v2/")
    assert f"the registry host {host}" in hint and "image.name" in hint
    assert "HF_ENDPOINT" not in hint


def test_an_unknown_host_is_named_as_itself() -> None:
    hint = unreachable_hint("http://10.255.255.1:8188/prompt")
    assert "10.255.255.1:8188" in hint and "HF_ENDPOINT" not in hint


def test_a_repo_typed_on_the_command_line_is_not_blamed_on_models_yaml(
    qwen_hub: Any, hub_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_env(qwen_hub)
    capsys.readouterr()
    assert main(["inspect", MISSING_REPO]) == ExitCode.HUB
    hint = _hint(capsys.readouterr().err)
    assert "check the repo id given on the command line" in hint
    assert "models.yaml" not in hint


def test_a_repo_read_from_models_yaml_is_blamed_on_models_yaml(
    qwen_hub: Any, hub_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_env(qwen_hub)
    config = write_project(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("lightx2v/Qwen-Image-Lightning", "nobody/no-such-repo"))
    capsys.readouterr()
    assert main(["lock", "-c", str(config)]) == ExitCode.HUB
    assert "check the repo id in models.yaml" in _hint(capsys.readouterr().err)


def test_a_missing_file_typed_on_the_command_line_points_at_the_path(
    qwen_hub: Any, hub_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_env(qwen_hub)
    capsys.readouterr()
    assert main(["inspect", "Comfy-Org/Qwen-Image-Edit_ComfyUI/nope.safetensors"]) == ExitCode.HUB
    hint = _hint(capsys.readouterr().err)
    assert hint.startswith("check the path inside the repo") and "check-updates" not in hint


def test_a_test_target_that_is_down_names_the_target_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_project(tmp_path)
    target = f"http://127.0.0.1:{_closed_port()}"
    capsys.readouterr()
    code = main(["test", "-c", str(config), "--target", target, "--report", str(tmp_path / "r")])
    assert code == ExitCode.NETWORK
    assert "--target" in _hint(capsys.readouterr().err)
