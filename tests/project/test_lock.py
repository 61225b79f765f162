"""`imagebuilder lock` against the loopback Hub, with the real huggingface_hub client."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubserver import HubServer
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = {
    "diffusion_model": (
        "Comfy-Org/Qwen-Image-Edit_ComfyUI",
        "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors",
    ),
    "text_encoder": (
        "Comfy-Org/Qwen-Image_ComfyUI",
        "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors",
    ),
    "vae": ("Comfy-Org/Qwen-Image_ComfyUI", "split_files/vae/qwen_image_vae.safetensors"),
    "lightning_lora": (
        "lightx2v/Qwen-Image-Lightning",
        "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors",
    ),
}
HubEnv = Callable[[HubServer], Path]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "models.yaml", tmp_path / "models.yaml")
    return tmp_path


def run(workdir: Path, *args: str) -> int:
    return main([*args, "--config", str(workdir / "models.yaml")])


def read_lock(workdir: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((workdir / "models.lock.json").read_text())
    assert data["version"] == 1
    models: dict[str, dict[str, Any]] = data["models"]
    return models


def test_lock_pins_all_four_files_without_downloading(
    qwen_hub: HubServer, hub_env: HubEnv, workdir: Path
) -> None:
    hub_env(qwen_hub)
    qwen_hub.stats.reset()
    assert run(workdir, "lock") == 0
    models = read_lock(workdir)
    assert set(models) == set(ENTRIES)
    for name, (repo, path) in ENTRIES.items():
        blob = qwen_hub.blob(repo, path)
        assert models[name] == {
            "repo": repo,
            "file": path,
            "revision": "main",
            "commit": qwen_hub.head(repo),
            "sha256": blob.sha256,
            "size": blob.size,
        }
    assert models["diffusion_model"]["size"] > 20_000_000_000  # the real ~20.4 GB file
    assert qwen_hub.stats.bytes_served < 1_000_000
    # One model-info request per distinct repo@revision: three repos, four entries.
    assert qwen_hub.stats.by_route["model_info"] == 3


def test_lock_is_stable_and_keeps_pins_when_only_the_branch_moved(
    qwen_hub: HubServer, hub_env: HubEnv, workdir: Path
) -> None:
    hub_env(qwen_hub)
    assert run(workdir, "lock") == 0
    first = (workdir / "models.lock.json").read_bytes()
    assert run(workdir, "lock") == 0
    assert (workdir / "models.lock.json").read_bytes() == first
    repo = "Comfy-Org/Qwen-Image_ComfyUI"
    old_head = qwen_hub.head(repo)
    qwen_hub.commit(repo, {"README.md": {"text": "docs only\n"}}, title="Update README")
    assert qwen_hub.head(repo) != old_head
    assert run(workdir, "lock") == 0
    assert (workdir / "models.lock.json").read_bytes() == first


def test_lock_follows_changed_bytes(qwen_hub: HubServer, hub_env: HubEnv, workdir: Path) -> None:
    hub_env(qwen_hub)
    assert run(workdir, "lock") == 0
    repo, path = ENTRIES["vae"]
    new_commit = qwen_hub.commit(repo, {path: {"raw": {"size": 4096, "seed": 7}}}, title="fix")
    assert run(workdir, "lock") == 0
    vae = read_lock(workdir)["vae"]
    assert vae["commit"] == new_commit
    assert vae["size"] == 4096
    assert vae["sha256"] == qwen_hub.blob(repo, path).sha256


def test_lock_check_catches_drift(
    qwen_hub: HubServer,
    hub_env: HubEnv,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub_env(qwen_hub)
    assert run(workdir, "lock", "--check") == ExitCode.LOCK_DRIFT
    assert "no lock file" in capsys.readouterr().err
    assert run(workdir, "lock") == 0
    assert run(workdir, "lock", "--check") == 0
    config = workdir / "models.yaml"
    text = config.read_text()
    text = text.replace("4steps-V1.0-bf16", "8steps-V1.0-bf16")
    text = text.replace(
        "    file: split_files/vae/qwen_image_vae.safetensors\n    revision: main",
        "    file: split_files/vae/qwen_image_vae.safetensors\n    revision: v2",
    )
    config.write_text(text)
    capsys.readouterr()
    assert run(workdir, "lock", "--check") == ExitCode.LOCK_DRIFT
    err = capsys.readouterr().err
    assert "lightning_lora: models.yaml says" in err
    assert "8steps" in err
    assert "vae: models.yaml says" in err
    assert "diffusion_model" not in err
    assert "run `imagebuilder lock`" in err


def test_lock_json_output(
    qwen_hub: HubServer, hub_env: HubEnv, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_env(qwen_hub)
    assert run(workdir, "lock", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["changed"] is True
    assert set(data["models"]) == set(ENTRIES)


def test_missing_file_fails_and_writes_nothing(
    qwen_hub: HubServer, hub_env: HubEnv, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_env(qwen_hub)
    repo, path = ENTRIES["lightning_lora"]
    qwen_hub.delete_file(repo, path)
    assert run(workdir, "lock") == ExitCode.HUB
    err = capsys.readouterr().err
    assert "lightx2v/Qwen-Image-Lightning@main (entry lightning_lora)" in err
    assert "not in the repo" in err
    assert not (workdir / "models.lock.json").exists()


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("repo", "repo not found"),
        ("revision", "revision not found"),
    ],
)
def test_hub_errors_are_clear(
    qwen_hub: HubServer,
    hub_env: HubEnv,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    breakage: str,
    expected: str,
) -> None:
    hub_env(qwen_hub)
    config = workdir / "models.yaml"
    text = config.read_text()
    if breakage == "repo":
        text = text.replace("repo: lightx2v/Qwen-Image-Lightning", "repo: lightx2v/No-Such-Repo")
    else:
        text = text.replace(
            "    folder: loras", "    folder: loras\n    revision: no-such-branch"
        ).replace("    revision: main\n    folder: loras", "    folder: loras")
    config.write_text(text)
    assert run(workdir, "lock") == ExitCode.HUB
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_rate_limit_is_retried(qwen_hub: HubServer, hub_env: HubEnv, workdir: Path) -> None:
    hub_env(qwen_hub)
    qwen_hub.faults.add(
        r"^/api/models/lightx2v/", status=429, times=2, headers={"Retry-After": "0"}
    )
    assert run(workdir, "lock") == 0
    assert "lightning_lora" in read_lock(workdir)


def test_token_is_sent_but_never_printed(
    load_scenario: Callable[..., HubServer],
    hub_env: HubEnv,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "hf_" + "SecretValue" * 3
    server = load_scenario("qwen_2509", require_token=token)
    hub_env(server)
    assert run(workdir, "lock") == ExitCode.HUB  # no token: refused
    monkeypatch.setenv("HF_TOKEN", token)
    assert run(workdir, "lock", "--debug") == 0
    assert all(record.authorized for record in server.stats.requests[-3:])
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err
    assert token not in (workdir / "models.lock.json").read_text()
