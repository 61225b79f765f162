"""The first hour of a user: the shipped models.yaml against a Hub holding only the real repos.

The loopback Hub serves the four repos that exist upstream (qwen-stack facts) and
nothing else: no alias, no guessed repo. The shipped config must be quiet (exit 0) at
the pinned state and propose the 2511 fp8mixed model with its 4-step LoRA once they
appear, with a lock and without one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from hubserver.releases import (
    EDIT_REPO,
    IMAGE_REPO,
    LORA_2511_REPO,
    LORA_REPO,
    add_2511_lora_repo,
    add_2511_release,
)
from hubserver.server import HubServer
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
# Every repo the shipped stack may name, each checked on the Hub (see docs/updates.md).
VERIFIED_REPOS = {EDIT_REPO, IMAGE_REPO, LORA_REPO, LORA_2511_REPO}
FP8MIXED = "split_files/diffusion_models/qwen_image_edit_2511_fp8mixed.safetensors"
ENTRIES = ("diffusion_model", "text_encoder", "vae", "lightning_lora")
LORA_2511 = "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16.safetensors"


def shipped_repos() -> set[str]:
    data = YAML(typ="safe").load((ROOT / "models.yaml").read_text())
    repos = set()
    for entry in data["models"].values():
        repos.add(entry["repo"])
        repos.update((entry.get("updates") or {}).get("repos") or [])
    return repos


def test_shipped_config_names_only_verified_repos() -> None:
    assert shipped_repos() <= VERIFIED_REPOS


def test_loopback_hub_serves_only_real_repos(qwen_hub: HubServer) -> None:
    served = set(qwen_hub.state.repos) | set(qwen_hub.state.renamed)
    assert served <= VERIFIED_REPOS, "a repo that does not exist upstream is served"


@pytest.fixture
def fresh(tmp_path: Path, qwen_hub: HubServer, hub_env: Callable[[HubServer], Path]) -> Path:
    """A new checkout: the shipped models.yaml and no lock."""
    hub_env(qwen_hub)
    shutil.copy(ROOT / "models.yaml", tmp_path / "models.yaml")
    return tmp_path / "models.yaml"


def check(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check-updates", "-c", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def proposed(out: str) -> dict[str, tuple[str, str, str]]:
    data = json.loads(out)
    return {
        c["entry"]: (c["kind"], c["proposed"]["repo"], c["proposed"]["file"])
        for c in data["changes"]
    }


@pytest.mark.parametrize("locked", [True, False], ids=["locked", "no-lock"])
def test_pinned_state_is_quiet(
    fresh: Path, locked: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    if locked:
        assert main(["lock", "-c", str(fresh)]) == 0
    code, out, err = check(fresh, capsys)
    assert code == ExitCode.OK, out + err
    assert "warning" not in err
    lock_hints = [line for line in err.splitlines() if "imagebuilder lock" in line]
    assert len(lock_hints) == (0 if locked else 1)
    if not locked:  # said once, at the end
        assert err.rstrip().splitlines()[-1] == lock_hints[0]


@pytest.mark.parametrize("locked", [True, False], ids=["locked", "no-lock"])
def test_2511_is_proposed_with_its_lora(
    fresh: Path, qwen_hub: HubServer, locked: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    if locked:
        assert main(["lock", "-c", str(fresh)]) == 0
    add_2511_release(qwen_hub)
    add_2511_lora_repo(qwen_hub)
    code, out, err = check(fresh, capsys, "--json")
    assert code == ExitCode.UPDATES_AVAILABLE, err
    assert proposed(out) == {
        "diffusion_model": ("newer-release", EDIT_REPO, FP8MIXED),
        "lightning_lora": ("lora-for-new-base", LORA_2511_REPO, LORA_2511),
    }
    unlocked = json.loads(out)["unlocked"]
    assert unlocked == ([] if locked else list(ENTRIES))
    code, table, _ = check(fresh, capsys)
    assert code == ExitCode.UPDATES_AVAILABLE
    assert "2511_fp8mixed" in table and "2511" in table.splitlines()[3]  # the LoRA's row
