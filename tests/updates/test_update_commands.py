"""The check-updates and update commands as a contract: exit codes, JSON, Markdown, files."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubserver.releases import (
    DIFFUSION_DIR,
    EDIT_REPO,
    FP8MIXED_2511,
    IMAGE_REPO,
    LORA_2511_4STEPS,
    LORA_2511_REPO,
    TEXT_ENCODER,
    add_2511_lora_repo,
    made_up_sha,
    transformer,
)
from hubserver.server import HubServer
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import load_lock, require_current
from imagebuilder.updates import applying
from imagebuilder.updates.check import check_updates
from infra.snapshot import project_bytes

OLD_DIFFUSION = f"{DIFFUSION_DIR}/qwen_image_edit_2509_fp8_e4m3fn.safetensors"
OLD_LORA = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"


def publish_fp8mixed_2511(server: HubServer) -> None:
    """Only the fp8mixed file of the 2511 base (with its own made-up sha) and the LoRAs."""
    server.commit(
        EDIT_REPO,
        {FP8MIXED_2511: transformer("cli-2511", "F8_E4M3", 42, edit_2511=True, scaled=True)},
        title="Add Qwen-Image-Edit-2511",
    )
    add_2511_lora_repo(server)


def test_exit_codes_follow_npm_outdated(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-updates", "-c", str(project)]) == ExitCode.OK
    publish_fp8mixed_2511(qwen_hub)
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project)]) == ExitCode.UPDATES_AVAILABLE
    out = capsys.readouterr().out
    assert "diffusion_model" in out and "lightning_lora" in out
    qwen_hub.faults.add(r"^/api/models/Comfy-Org/Qwen-Image_ComfyUI", status=404, times=None)
    assert main(["check-updates", "-c", str(project)]) == ExitCode.HUB


def test_json_schema(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_fp8mixed_2511(qwen_hub)
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project), "--json"]) == ExitCode.UPDATES_AVAILABLE
    data = json.loads(capsys.readouterr().out)
    assert data["schema_version"] == 1
    assert data["status"] == "updates-available" and data["exit_code"] == 100
    assert set(data) == {
        "schema_version", "status", "exit_code", "changes", "options", "problems",
        "up_to_date", "notes", "skipped_sources", "unlocked", "engine",
    }  # fmt: skip
    change = data["changes"][0]
    assert set(change) == {
        "entry", "kind", "current", "proposed", "compat", "size_delta", "why", "header",
        "goes_with",
    }  # fmt: skip
    assert set(change["proposed"]) == {"repo", "file", "commit", "sha256", "size", "date"}
    assert [c["entry"] for c in data["changes"]] == ["diffusion_model", "lightning_lora"]


def test_markdown_is_a_pull_request_body(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_fp8mixed_2511(qwen_hub)
    capsys.readouterr()
    main(["check-updates", "-c", str(project), "--markdown"])
    body = capsys.readouterr().out
    assert body.startswith("## Model updates")
    assert f"{qwen_hub.url}/{EDIT_REPO}/commit/" in body
    assert "### Headers of the proposed files" in body and "FP8" in body


def test_update_rewrites_only_the_changed_values(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = project.read_bytes()
    publish_fp8mixed_2511(qwen_hub)
    assert main(["update", "-c", str(project)]) == 0
    after = project.read_bytes()
    changed = [
        line
        for line in difflib.unified_diff(
            before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        f"-    file: {OLD_DIFFUSION}",
        f"+    file: {FP8MIXED_2511}",
        "-    repo: lightx2v/Qwen-Image-Lightning",
        f"-    file: {OLD_LORA}",
        f"+    repo: {LORA_2511_REPO}",
        f"+    file: {LORA_2511_4STEPS}",
    ]
    # Byte-for-byte elsewhere: put the old values back and the file is the original.
    restored = (
        after.decode()
        .replace(FP8MIXED_2511, OLD_DIFFUSION)
        .replace(LORA_2511_4STEPS, OLD_LORA)
        .replace(LORA_2511_REPO, "lightx2v/Qwen-Image-Lightning")
    )
    assert restored.encode() == before
    loaded = load_config(project)
    lock = require_current(loaded.config, load_lock(project.with_name("models.lock.json")), project)
    assert lock.models["diffusion_model"].file == FP8MIXED_2511
    assert lock.models["lightning_lora"].repo == LORA_2511_REPO
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project)]) == ExitCode.OK


def test_update_dry_run_shows_the_diff_and_writes_nothing(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = project_bytes(project)
    publish_fp8mixed_2511(qwen_hub)
    capsys.readouterr()
    assert main(["update", "-c", str(project), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- a/models.yaml" in out and f"+    file: {FP8MIXED_2511}" in out
    assert "--- a/models.lock.json" in out
    assert project_bytes(project) == before


def reupload_text_encoder(server: HubServer) -> str:
    spec = {
        "generator": "qwen_text_encoder",
        "args": {"dtype": "F8_E4M3", "scaled": True},
        "seed": 5,
        "sha256": made_up_sha("cli-reupload"),
    }
    return server.commit(IMAGE_REPO, {TEXT_ENCODER: spec}, title="Re-upload")


def update_one_entry(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str], entry: str
) -> list[str]:
    """With a new base and a re-uploaded text encoder upstream: the entries `update ENTRY`
    applied."""
    publish_fp8mixed_2511(qwen_hub)
    reupload_text_encoder(qwen_hub)
    capsys.readouterr()
    assert main(["update", "-c", str(project), entry, "--json"]) == 0
    return [change["entry"] for change in json.loads(capsys.readouterr().out)["applied"]]


def test_update_of_one_entry_leaves_the_others_pinned(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert update_one_entry(project, qwen_hub, capsys, "text_encoder") == ["text_encoder"]
    lock = load_lock(project.with_name("models.lock.json"))
    assert lock is not None
    assert lock.models["text_encoder"].sha256 == made_up_sha("cli-reupload")
    assert lock.models["diffusion_model"].file.endswith("2509_fp8_e4m3fn.safetensors")
    assert main(["update", "-c", str(project), "no_such_entry"]) == ExitCode.USAGE


def test_naming_the_lora_brings_its_base_along(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = update_one_entry(project, qwen_hub, capsys, "lightning_lora")
    assert applied == ["diffusion_model", "lightning_lora"]


def test_update_of_a_content_change_moves_only_the_lock(
    project: Path, qwen_hub: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = project.read_bytes()
    new_commit = reupload_text_encoder(qwen_hub)
    assert main(["update", "-c", str(project)]) == 0
    assert project.read_bytes() == before
    lock = load_lock(project.with_name("models.lock.json"))
    assert lock is not None
    assert lock.models["text_encoder"].sha256 == made_up_sha("cli-reupload")
    assert lock.models["text_encoder"].commit == new_commit
    # The VAE shares the repo; its branch moved but its pin must not.
    assert lock.models["vae"].commit != new_commit


def test_update_follows_a_renamed_repo(project: Path, qwen_hub: HubServer) -> None:
    qwen_hub.rename_repo(IMAGE_REPO, "Comfy-Org/Qwen-Image-Repackaged")
    before = project.read_text()
    assert main(["update", "-c", str(project)]) == 0
    after = project.read_text()
    assert after == before.replace(
        f"repo: {IMAGE_REPO}\n", "repo: Comfy-Org/Qwen-Image-Repackaged\n"
    )
    lock = load_lock(project.with_name("models.lock.json"))
    assert lock is not None
    assert lock.models["vae"].repo == "Comfy-Org/Qwen-Image-Repackaged"
    assert main(["check-updates", "-c", str(project)]) == ExitCode.OK


def test_a_pattern_that_misses_its_pin_points_at_its_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.read_text()
    project.write_text(text.replace("qwen_image_edit_(?:", "qwen_image_EDIT_(?:"))
    line = next(n for n, row in enumerate(project.read_text().splitlines(), 1) if "EDIT_" in row)
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project), "--json"]) == ExitCode.CONFIG
    captured = capsys.readouterr()
    [problem] = json.loads(captured.out)["problems"]
    assert problem["entry"] == "diffusion_model"
    assert problem["location"] == f"models.yaml:{line}"
    assert f"warning: models.yaml:{line}" in captured.err  # stderr too, not only the result


def reupload_again(server: HubServer) -> str:
    """Upstream re-uploads the text encoder a second time, with other bytes again."""
    spec = {
        "generator": "qwen_text_encoder",
        "args": {"dtype": "F8_E4M3", "scaled": True},
        "seed": 6,
        "sha256": made_up_sha("cli-reupload-again"),
    }
    return server.commit(IMAGE_REPO, {TEXT_ENCODER: spec}, title="Re-upload again")


def hub_moves_after_the_proposal(
    monkeypatch: pytest.MonkeyPatch, move: Callable[[], object]
) -> None:
    """`update` makes its proposal, then ``move`` changes the Hub before it writes."""
    real = check_updates

    def check_then_move(*args: Any, **kwargs: Any) -> Any:
        proposal = real(*args, **kwargs)
        move()
        return proposal

    monkeypatch.setattr(applying, "check_updates", check_then_move)


def test_update_refuses_when_the_hub_moved_after_its_proposal(
    project: Path,
    qwen_hub: HubServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reupload_text_encoder(qwen_hub)
    before = project_bytes(project)
    hub_moves_after_the_proposal(monkeypatch, lambda: reupload_again(qwen_hub))
    capsys.readouterr()
    assert main(["update", "-c", str(project)]) == ExitCode.BUSY
    err = capsys.readouterr().err
    assert "the Hub moved after the proposal was made; nothing was written" in err
    assert f"text_encoder: {IMAGE_REPO}@main now serves sha256" in err
    assert project_bytes(project) == before  # neither file written


def test_update_writes_exactly_the_pins_its_proposal_shows(
    project: Path,
    qwen_hub: HubServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The branch moves on after the proposal, to a commit with the same bytes for the
    proposed file: the lock pins the proposal's commit, sha256 and size, not the new head."""
    shown_commit = reupload_text_encoder(qwen_hub)
    unrelated = {"README.md": {"text": "docs only"}}
    hub_moves_after_the_proposal(
        monkeypatch, lambda: qwen_hub.commit(IMAGE_REPO, unrelated, title="Docs")
    )
    capsys.readouterr()
    assert main(["update", "-c", str(project), "--json"]) == 0
    applied = json.loads(capsys.readouterr().out)["applied"]
    proposed = next(c["proposed"] for c in applied if c["entry"] == "text_encoder")
    lock = load_lock(project.with_name("models.lock.json"))
    assert lock is not None
    pin = lock.models["text_encoder"]
    assert (pin.commit, pin.sha256, pin.size) == (
        proposed["commit"], proposed["sha256"], proposed["size"]
    )  # fmt: skip
    assert pin.commit == shown_commit
