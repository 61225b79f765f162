"""check-updates against the loopback Hub: one scenario per kind of update the issue names.

The Hub starts as the real 2509 FP8 + Lightning stack (full-size virtual files: only
headers are ever read); each test then changes the Hub the way upstream did or might.
"""

from __future__ import annotations

import pytest

from hubserver.releases import (
    DIFFUSION_DIR,
    EDIT_REPO,
    IMAGE_REPO,
    LORA_2511_REPO,
    LORA_REPO,
    TEXT_ENCODER,
    VAE,
    add_2511_lora_repo,
    add_2511_release,
    lora,
    made_up_sha,
    transformer,
)
from hubserver.server import HubServer
from imagebuilder.errors import ExitCode, FileNotFoundOnHub, NetworkError
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import build_lock, resolve_entries
from imagebuilder.project.load import LoadedConfig
from imagebuilder.project.lock import Lock
from imagebuilder.updates.check import check_updates
from imagebuilder.updates.proposal import Change, ChangeKind, Proposal
from imagebuilder.weights.compat import Compatibility


@pytest.fixture
def pinned(shipped: LoadedConfig, hub: Hub) -> Lock:
    """The lock as `imagebuilder lock` wrote it before upstream moved on."""
    return build_lock(resolve_entries(shipped.config, hub))


def run(shipped: LoadedConfig, pinned: Lock, hub: Hub) -> Proposal:
    return check_updates(shipped.config, pinned, hub)


def change_of(proposal: Proposal, entry: str) -> Change:
    found = [c for c in proposal.changes if c.entry == entry]
    assert len(found) == 1, proposal.as_dict()
    return found[0]


def test_up_to_date_stack_reads_only_the_headers_it_shortlists(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.stats.reset()
    proposal = run(shipped, pinned, hub)
    assert proposal.exit_code() is ExitCode.OK
    assert set(proposal.up_to_date) == set(shipped.config.models)
    # No newer release; the scaled 2509 file beside the LoRA is the one alternative the
    # names shortlist: its header and the pin's are read, nothing else.
    read = {(r.file or "").rsplit("/", 1)[-1] for r in qwen_hub.stats.matching(route="resolve")}
    assert read == {
        "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
        "qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors",
    }


def test_2511_proposes_only_fp8mixed_and_the_2511_lora(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    add_2511_release(qwen_hub)
    add_2511_lora_repo(qwen_hub)
    proposal = run(shipped, pinned, hub)

    diffusion = change_of(proposal, "diffusion_model")
    assert diffusion.kind is ChangeKind.NEWER_RELEASE
    assert diffusion.proposed.path.endswith("qwen_image_edit_2511_fp8mixed.safetensors")
    assert diffusion.compat in (Compatibility.DROP_IN, Compatibility.COMPATIBLE_WITH_CHANGES)
    assert diffusion.header is not None and "FP8" in diffusion.header
    assert diffusion.proposed.date is not None and diffusion.proposed.date.year == 2025

    lora_change = change_of(proposal, "lightning_lora")
    assert lora_change.kind is ChangeKind.LORA_FOR_NEW_BASE
    assert lora_change.proposed.repo == LORA_2511_REPO  # found through the model search
    assert (
        lora_change.proposed.path == "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16.safetensors"
    )
    assert set(proposal.up_to_date) == {"text_encoder", "vae"}
    assert proposal.exit_code() is ExitCode.UPDATES_AVAILABLE
    assert any("int8_convrot" in note for note in proposal.notes)
    assert any("2511_bf16" in note for note in proposal.notes)


def test_header_decides_precision_not_the_name(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.commit(
        EDIT_REPO,
        {
            # Named fp8, holds BF16: refused. Named bf16, holds FP8: accepted.
            f"{DIFFUSION_DIR}/qwen_image_edit_2511_fp8_e4m3fn.safetensors": transformer(
                "liar-fp8", "BF16", 44
            ),
            f"{DIFFUSION_DIR}/qwen_image_edit_2511_bf16.safetensors": transformer(
                "liar-bf16", "F8_E4M3", 45
            ),
        },
        title="Add mislabeled 2511",
    )
    add_2511_lora_repo(qwen_hub)
    proposal = run(shipped, pinned, hub)
    diffusion = change_of(proposal, "diffusion_model")
    assert diffusion.proposed.path.endswith("qwen_image_edit_2511_bf16.safetensors")
    assert diffusion.compat is Compatibility.DROP_IN  # same tensors and shapes as the 2509 FP8 pin
    assert any("2511_fp8_e4m3fn" in note and "BF16" in note for note in proposal.notes)


def test_new_base_without_its_lora_is_held_back(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.commit(
        EDIT_REPO,
        {
            f"{DIFFUSION_DIR}/qwen_image_edit_2511_fp8mixed.safetensors": transformer(
                "m", "F8_E4M3", 46
            )
        },
    )
    proposal = run(shipped, pinned, hub)
    assert proposal.changes == ()
    held = [o for o in proposal.options if o.entry == "diffusion_model"]
    assert held and "held back" in held[0].why
    assert proposal.exit_code() is ExitCode.OK


def test_cheaper_and_newer_loras_are_options(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    folder = "Qwen-Image-Edit-2509"
    qwen_hub.commit(
        LORA_REPO,
        {
            f"{folder}/Qwen-Image-Edit-2509-Lightning-2steps-V1.0-bf16.safetensors": lora("2", 71),
            f"{folder}/Qwen-Image-Edit-2509-Lightning-4steps-V2.0-bf16.safetensors": lora("v2", 72),
        },
    )
    proposal = run(shipped, pinned, hub)
    assert proposal.changes == ()
    kinds = {o.kind: o for o in proposal.options}
    assert kinds[ChangeKind.FEWER_STEPS].proposed.path.endswith("2steps-V1.0-bf16.safetensors")
    assert kinds[ChangeKind.NEWER_LORA].proposed.path.endswith("4steps-V2.0-bf16.safetensors")
    assert kinds[ChangeKind.FEWER_STEPS].compat is Compatibility.DROP_IN


def test_reuploaded_text_encoder_is_a_content_change(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    spec = {
        "generator": "qwen_text_encoder",
        "args": {"dtype": "F8_E4M3", "scaled": True},
        "seed": 99,
        "sha256": made_up_sha("reupload"),
    }
    new_commit = qwen_hub.commit(
        IMAGE_REPO, {TEXT_ENCODER: spec}, title="Re-upload", date="2026-01-05T09:00:00.000Z"
    )
    proposal = run(shipped, pinned, hub)
    change = change_of(proposal, "text_encoder")
    assert change.kind is ChangeKind.CONTENT_CHANGED
    assert change.current.commit == pinned.models["text_encoder"].commit
    assert change.current.sha256 == pinned.models["text_encoder"].sha256
    assert (change.proposed.commit, change.proposed.sha256) == (new_commit, made_up_sha("reupload"))
    assert change.proposed.date is not None and change.proposed.date.year == 2026
    assert change.current.date is not None and change.current.date.year == 2025
    assert change.compat is Compatibility.DROP_IN
    assert not change.edits_config
    # The VAE lives in the same repo: its branch moved, its bytes did not.
    assert "vae" in proposal.up_to_date


def test_moved_branch_with_identical_bytes_is_not_an_update(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.commit(IMAGE_REPO, {"README.md": {"text": "new readme"}}, title="Docs")
    proposal = run(shipped, pinned, hub)
    assert proposal.exit_code() is ExitCode.OK
    assert {"text_encoder", "vae"} <= set(proposal.up_to_date)
    assert any("branch moved" in note for note in proposal.notes)


def test_renamed_repo_reports_the_new_name(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.rename_repo(IMAGE_REPO, "Comfy-Org/Qwen-Image-Repackaged")
    proposal = run(shipped, pinned, hub)
    for entry in ("text_encoder", "vae"):
        change = change_of(proposal, entry)
        assert change.kind is ChangeKind.REPO_RENAMED
        assert change.proposed.repo == "Comfy-Org/Qwen-Image-Repackaged"
        assert change.current.repo == IMAGE_REPO
        assert change.compat is Compatibility.SAME_BYTES


def test_vanished_file_fails_its_entry_only(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.delete_file(IMAGE_REPO, VAE)
    proposal = run(shipped, pinned, hub)
    assert [p.entry for p in proposal.problems] == ["vae"]
    assert isinstance(proposal.problems[0].error, FileNotFoundOnHub)
    assert {"diffusion_model", "text_encoder", "lightning_lora"} <= set(proposal.up_to_date)
    assert proposal.exit_code() is ExitCode.HUB


def test_rate_limits_are_retried(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.faults.add(
        r"^/api/models/Comfy-Org/Qwen-Image_ComfyUI", status=429, times=2,
        headers={"Retry-After": "0"},
    )  # fmt: skip
    qwen_hub.faults.add(r"^/api/models\?|^/api/models$", status=503, times=1)
    proposal = run(shipped, pinned, hub)
    assert proposal.exit_code() is ExitCode.OK, proposal.as_dict()
    statuses = [r.status for r in qwen_hub.stats.requests]
    assert statuses.count(429) == 2 and statuses.count(503) == 1


def test_a_repo_that_keeps_failing_fails_its_entries_only(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.faults.add(r"^/api/models/Comfy-Org/Qwen-Image_ComfyUI", status=503, times=None)
    proposal = run(shipped, pinned, hub)
    assert sorted(p.entry for p in proposal.problems) == ["text_encoder", "vae"]
    assert all(isinstance(p.error, NetworkError) for p in proposal.problems)
    assert {"diffusion_model", "lightning_lora"} <= set(proposal.up_to_date)
    assert proposal.exit_code() is ExitCode.NETWORK


def test_pickle_and_foreign_files_are_never_candidates(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.commit(
        EDIT_REPO,
        {
            f"{DIFFUSION_DIR}/qwen_image_edit_2512_fp8_e4m3fn.safetensors.ckpt": {
                "raw": {"size": 4096, "seed": 1}
            },
            f"{DIFFUSION_DIR}/qwen_image_edit_2512_fp8_e4m3fn.pt": {
                "raw": {"size": 4096, "seed": 2}
            },
        },
    )
    qwen_hub.stats.reset()
    proposal = run(shipped, pinned, hub)
    assert proposal.changes == ()
    read = [r.file or "" for r in qwen_hub.stats.matching(route="resolve")]
    assert not any(path.endswith((".ckpt", ".pt")) for path in read)


def test_a_different_architecture_is_offered_never_proposed(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.commit(
        EDIT_REPO,
        {
            f"{DIFFUSION_DIR}/qwen_image_edit_2511_fp8_e4m3fn.safetensors": transformer(
                "other-arch", "F8_E4M3", 47, layers=30
            )
        },
    )
    add_2511_lora_repo(qwen_hub)
    proposal = run(shipped, pinned, hub)
    assert proposal.changes == ()
    [option] = [
        o
        for o in proposal.options
        if o.entry == "diffusion_model" and o.kind is ChangeKind.NEWER_RELEASE
    ]
    assert option.compat is Compatibility.DIFFERENT_ARCHITECTURE
    assert "never applied automatically" in option.why


def test_a_reupload_whose_header_cannot_be_parsed_is_held_back(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    """Any candidate, not only a LoRA: bytes that are no safetensors header are never
    proposed as a change, only listed (held back, with the reason)."""
    garbage = {"raw": {"size": 5_000_000, "seed": 3}, "sha256": made_up_sha("garbage")}
    qwen_hub.commit(IMAGE_REPO, {TEXT_ENCODER: garbage}, title="Oops")
    proposal = run(shipped, pinned, hub)
    assert "text_encoder" not in {change.entry for change in proposal.changes}
    (held,) = [o for o in proposal.options if o.entry == "text_encoder"]
    assert held.kind is ChangeKind.CONTENT_CHANGED
    assert "held back: its header could not be read or parsed" in held.why
    assert any(note.startswith("text_encoder: held back") for note in proposal.notes)
