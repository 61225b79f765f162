"""Pure parts of check-updates/update: YAML value edits, proposals, rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagebuilder.errors import ConfigError, ExitCode, FileNotFoundOnHub, NetworkError
from imagebuilder.project.yamledit import render_scalar, set_scalars
from imagebuilder.updates.proposal import (
    Change,
    ChangeKind,
    EntryProblem,
    FileRef,
    Proposal,
    merge_entry_changes,
)
from imagebuilder.updates.report import markdown, md
from imagebuilder.weights.compat import Compatibility
from infra.golden import check_golden

ROOT = Path(__file__).resolve().parents[2]

COMMENTED = """\
# top comment
models:
  a:   # trailing comment on a key
    repo: "org/old"        # double-quoted, with a comment
    file: 'dir/it''s.safetensors'
    search: {author: x, search: "y"}   # flow mapping stays as written
    other: keep
  b:
    repo: org/old
"""


def test_set_scalars_changes_only_the_values_keeping_style() -> None:
    edited = set_scalars(
        COMMENTED,
        {
            ("models", "a", "repo"): "org/new",
            ("models", "a", "file"): "dir/new.safetensors",
            ("models", "b", "repo"): "org/renamed",
        },
    )
    assert edited == COMMENTED.replace('"org/old"', '"org/new"').replace(
        "'dir/it''s.safetensors'", "'dir/new.safetensors'"
    ).replace("repo: org/old\n", "repo: org/renamed\n")


def test_set_scalars_round_trips_models_yaml_byte_for_byte() -> None:
    text = (ROOT / "models.yaml").read_text(encoding="utf-8")
    assert set_scalars(text, {}) == text
    same: dict[tuple[str, ...], str] = {("models", "vae", "repo"): "Comfy-Org/Qwen-Image_ComfyUI"}
    assert set_scalars(text, same) == text


def test_set_scalars_refuses_what_it_cannot_edit_in_place() -> None:
    with pytest.raises(ConfigError, match="no scalar value"):
        set_scalars(COMMENTED, {("models", "a", "missing"): "x"})
    with pytest.raises(ConfigError, match="no scalar value"):
        set_scalars(COMMENTED, {("models", "a", "search"): "x"})
    folded = "models:\n  a:\n    repo: >-\n      org/\n      old\n"
    with pytest.raises(ConfigError, match="several lines"):
        set_scalars(folded, {("models", "a", "repo"): "org/new"})


@pytest.mark.parametrize(
    ("value", "style", "expected"),
    [
        ("org/name", None, "org/name"),
        ("true", None, "'true'"),
        ("2511", None, "'2511'"),
        ("a: b", None, "'a: b'"),
        ("it's", "'", "'it''s'"),
        ('say "hi"', '"', '"say \\"hi\\""'),
    ],
)
def test_render_scalar(value: str, style: str | None, expected: str) -> None:
    assert render_scalar(value, style) == expected


def _change(entry: str, kind: ChangeKind, why: str = "", path: str = "new.safetensors") -> Change:
    return Change(
        entry,
        kind,
        FileRef("org/a", "old.safetensors", "a" * 40, "1" * 64, 100),
        FileRef("org/a", path, "b" * 40, "2" * 64, 150),
        Compatibility.DROP_IN,
        why,
        "FP8 E4M3, 20.43 B params, qwen_image",
    )


def test_merge_prefers_a_new_file_and_keeps_the_rename_note() -> None:
    renamed = _change("x", ChangeKind.REPO_RENAMED, "the Hub redirects org/a to org/b")
    newer = _change("x", ChangeKind.NEWER_RELEASE, "newer release 2511")
    merged = merge_entry_changes([renamed, newer])
    assert merged is not None and merged.kind is ChangeKind.NEWER_RELEASE
    assert merged.why == "newer release 2511; the Hub redirects org/a to org/b"
    assert merge_entry_changes([]) is None


def test_exit_codes() -> None:
    assert Proposal().exit_code() is ExitCode.OK
    updates = Proposal(changes=(_change("x", ChangeKind.CONTENT_CHANGED),))
    assert updates.exit_code() is ExitCode.UPDATES_AVAILABLE
    failing = Proposal(
        changes=updates.changes,
        problems=(
            EntryProblem("v", FileNotFoundOnHub("gone")),
            EntryProblem("w", NetworkError("down")),
        ),
    )
    assert failing.exit_code() is ExitCode.NETWORK
    assert failing.as_dict()["status"] == "error"


def test_markdown_escapes_hub_supplied_names() -> None:
    hostile = "x|<img src=x onerror=alert(1)>](javascript:alert(1)).safetensors"
    change = _change("diffusion_model", ChangeKind.NEWER_RELEASE, "why *bold*", hostile)
    body = markdown(Proposal(changes=(change,)), "https://huggingface.co")
    assert "<img" not in body and "](javascript" not in body
    assert md("a|b") == "a\\|b"
    assert "https://huggingface.co/org/a/commit/" + "b" * 40 in body


def golden_proposal() -> Proposal:
    edit = "Comfy-Org/Qwen-Image-Edit_ComfyUI"
    base = Change(
        "diffusion_model",
        ChangeKind.NEWER_RELEASE,
        FileRef(edit, "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors",
                "1" * 40, "a" * 64, 20_430_000_000, datetime(2025, 9, 22, tzinfo=UTC)),
        FileRef(edit, "split_files/diffusion_models/qwen_image_edit_2511_fp8mixed.safetensors",
                "2" * 40, "b" * 64, 20_520_000_000, datetime(2025, 12, 23, tzinfo=UTC)),
        Compatibility.COMPATIBLE_WITH_CHANGES,
        "newer release 2511 (was 2509); fp8 confirmed from the header",
        "FP8 E4M3 scaled, 20.43 B params, qwen_image",
    )  # fmt: skip
    lora = Change(
        "lightning_lora",
        ChangeKind.LORA_FOR_NEW_BASE,
        FileRef("lightx2v/Qwen-Image-Lightning",
                "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors",
                "3" * 40, "c" * 64, 849_608_296),
        FileRef("lightx2v/Qwen-Image-Edit-2511-Lightning",
                "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16.safetensors",
                "4" * 40, "d" * 64, 849_608_296),
        Compatibility.DROP_IN,
        "LoRA for base 2511 (4 steps, bf16)",
        "BF16, LoRA rank 64, 720 targets",
    )  # fmt: skip
    cheaper = Change(
        "lightning_lora",
        ChangeKind.FEWER_STEPS,
        lora.current,
        FileRef("lightx2v/Qwen-Image-Edit-2511-Lightning",
                "Qwen-Image-Edit-2511-Lightning-2steps-V1.0-bf16.safetensors", "4" * 40),
        Compatibility.DROP_IN,
        "2 steps instead of 4: ~50% less denoising time per job; set sampler.steps to 2",
    )  # fmt: skip
    return Proposal(
        changes=(base, lora),
        options=(cheaper,),
        problems=(EntryProblem("vae", FileNotFoundOnHub("file not found", location="org/x@main")),),
        up_to_date=("text_encoder",),
    )


def test_markdown_body_is_golden() -> None:
    body = markdown(golden_proposal(), "https://huggingface.co")
    check_golden("check-updates-pr-body.md", body)
