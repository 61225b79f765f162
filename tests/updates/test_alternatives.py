"""check-updates: the same base in a better FP8 form, and fused base+LoRA files.

Against the loopback Hub at the 2509 state, lightx2v's scaled 2509 file sits beside the
pinned LoRA (full-size virtual files: only headers are read). The engine is what the
lock records; until the lock records one, ComfyUI 0.3.64 is assumed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubserver.releases import (
    FUSED_2511,
    LORA_2511_REPO,
    LORA_REPO,
    SCALED_2509,
    add_2511_lora_repo,
    publish_2511,
    transformer,
)
from hubserver.server import HubServer
from imagebuilder.cli.app import main
from imagebuilder.errors import ExitCode
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import build_lock, resolve_entries
from imagebuilder.project.comfyversion import ComfyVersion
from imagebuilder.project.config import Config
from imagebuilder.project.load import LoadedConfig, load_config
from imagebuilder.project.lock import Lock, load_lock
from imagebuilder.updates.basefacts import Engine, model_name
from imagebuilder.updates.check import check_updates
from imagebuilder.updates.proposal import Change, ChangeKind, Proposal

WIDE_PATTERN = (
    r"(?:^|/)qwen_image_edit_(?:(?P<version>\d{4})_)?(?P<precision>[a-z0-9_]+)\.safetensors$"
)


@pytest.fixture
def pinned(shipped: LoadedConfig, hub: Hub) -> Lock:
    return build_lock(resolve_entries(shipped.config, hub))


def run(config: Config, lock: Lock, hub: Hub, engine: str | None = None) -> Proposal:
    known = Engine(ComfyVersion.parse(engine), known=True) if engine else None
    return check_updates(config, lock, hub, engine=known)


def options_of(proposal: Proposal, kind: ChangeKind) -> list[Change]:
    return [o for o in proposal.options if o.kind is kind]


def test_the_scaled_2509_base_is_an_option_with_its_reason_and_saving(
    shipped: LoadedConfig, pinned: Lock, hub: Hub
) -> None:
    proposal = run(shipped.config, pinned, hub)
    assert proposal.exit_code() is ExitCode.OK  # an option alone changes nothing
    assert proposal.changes == ()
    (option,) = options_of(proposal, ChangeKind.BETTER_PRECISION)
    assert option.entry == "diffusion_model"
    assert (option.proposed.repo, option.proposed.path) == (LORA_REPO, SCALED_2509)
    assert option.header is not None and option.header.startswith("FP8 E4M3 scaled")
    assert "grid artifacts" in option.why  # the pinned LoRA is a Lightning LoRA
    # The committed GPU measurement (cost.variants.scaled_fp8), per workflow.
    assert "17.1% less per step (qwen_image_edit_1" in option.why
    assert "14.3% less per step (qwen_image_edit_2" in option.why
    assert "ComfyUI 0.3.64" in option.why


def test_a_mixed_precision_copy_needs_a_newer_engine(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    """The .weight_scale / .comfy_quant layout is the same base too, but ComfyUI 0.3.64
    would load it without its scales: proposed only where the engine reads it."""
    mixed = "Qwen-Image-Edit-2509/qwen_image_edit_2509_fp8mixed.safetensors"
    qwen_hub.commit(
        LORA_REPO,
        {mixed: transformer("2509-mixed", "F8_E4M3", 91, mixed=True)},
        title="Add a mixed copy",
    )
    proposal = run(shipped.config, pinned, hub)
    paths = [o.proposed.path for o in options_of(proposal, ChangeKind.BETTER_PRECISION)]
    assert paths == [SCALED_2509]
    assert any("fp8mixed" in n and "needs ComfyUI >= 0.3.68" in n for n in proposal.notes)
    newer = run(shipped.config, pinned, hub, engine="0.3.75")
    paths = [o.proposed.path for o in options_of(newer, ChangeKind.BETTER_PRECISION)]
    assert sorted(paths) == sorted([SCALED_2509, mixed])


def test_another_release_or_layout_is_never_a_precision_alternative(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    qwen_hub.commit(
        LORA_REPO,
        {
            # Same layout, another release (text-to-image): the name keeps it out.
            "qwen_image_fp8_e4m3fn_scaled.safetensors": transformer(
                "t2i-scaled", "F8_E4M3", 92, scaled=True
            ),
            # Same release name, but a block short: the header keeps it out.
            "Qwen-Image-Edit-2509/qwen_image_edit_2509_fp8_e4m3fn_scaled_v2.safetensors": (
                transformer("short", "F8_E4M3", 93, scaled=True, layers=59)
            ),
        },
        title="Add look-alikes",
    )
    proposal = run(shipped.config, pinned, hub)
    paths = [o.proposed.path for o in options_of(proposal, ChangeKind.BETTER_PRECISION)]
    assert paths == [SCALED_2509]
    assert any("scaled_v2" in n and "not the same base" in n for n in proposal.notes)
    assert not any("qwen_image_fp8_e4m3fn_scaled" in n for n in proposal.notes)


def test_a_scaled_pin_has_no_alternative(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    text = shipped.source.text.replace(
        "repo: Comfy-Org/Qwen-Image-Edit_ComfyUI\n    file: split_files/diffusion_models/"
        "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
        f"repo: {LORA_REPO}\n    file: {SCALED_2509}",
    ).replace(
        "pattern: 'split_files/diffusion_models/qwen_image_edit_",
        "pattern: '(?:^|/)qwen_image_edit_",
    )
    path = Path(shipped.source.path)
    path.write_text(text)
    config = load_config(path).config
    lock = build_lock(resolve_entries(config, hub))
    proposal = run(config, lock, hub)
    assert options_of(proposal, ChangeKind.BETTER_PRECISION) == []
    assert proposal.exit_code() is ExitCode.OK


def test_the_rule_can_ask_for_a_change_and_update_applies_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.read_text()
    text = text.replace(
        "pattern: 'split_files/diffusion_models/qwen_image_edit_",
        "pattern: '(?:^|/)qwen_image_edit_",
    ).replace("      precision: fp8\n", "      precision: fp8\n      alternatives: change\n")
    project.write_text(text)
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project), "--json"]) == ExitCode.UPDATES_AVAILABLE
    (change,) = json.loads(capsys.readouterr().out)["changes"]
    assert (change["kind"], change["proposed"]["file"]) == ("better-precision", SCALED_2509)
    assert main(["update", "-c", str(project)]) == 0
    config = load_config(project).config
    assert (config.models["diffusion_model"].repo, config.models["diffusion_model"].file) == (
        LORA_REPO,
        SCALED_2509,
    )
    lock = load_lock(project.with_name("models.lock.json"))
    assert lock is not None and lock.models["diffusion_model"].file == SCALED_2509
    capsys.readouterr()
    assert main(["check-updates", "-c", str(project), "--json"]) == ExitCode.OK


def test_a_change_the_pattern_cannot_hold_stays_an_option(
    shipped: LoadedConfig, pinned: Lock, hub: Hub
) -> None:
    text = shipped.source.text.replace(
        "      precision: fp8\n", "      precision: fp8\n      alternatives: change\n"
    )
    Path(shipped.source.path).write_text(text)
    config = load_config(Path(shipped.source.path)).config
    proposal = run(config, pinned, hub)
    assert proposal.changes == ()
    (option,) = options_of(proposal, ChangeKind.BETTER_PRECISION)
    assert "updates.pattern does not match it" in option.why


def test_alternatives_off_looks_for_nothing(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    text = shipped.source.text.replace(
        "      precision: fp8\n", "      precision: fp8\n      alternatives: 'off'\n"
    )
    Path(shipped.source.path).write_text(text)
    qwen_hub.stats.reset()
    proposal = run(load_config(Path(shipped.source.path)).config, pinned, hub)
    assert proposal.options == ()
    assert qwen_hub.stats.matching(route="resolve") == []


def test_a_fused_2511_file_is_only_ever_a_pair_with_the_lora_going(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    publish_2511(qwen_hub)  # the 2511 base, its LoRAs and lightx2v's fused 4-step base
    on_pinned = run(shipped.config, pinned, hub)  # ComfyUI 0.3.64 cannot run 2511
    assert options_of(on_pinned, ChangeKind.FUSED_LORA) == []
    assert options_of(on_pinned, ChangeKind.LORA_MERGED) == []
    assert any(FUSED_2511 in n and "needs ComfyUI >= 0.5.0" in n for n in on_pinned.notes)

    proposal = run(shipped.config, pinned, hub, engine="0.5.0")
    (fused,) = options_of(proposal, ChangeKind.FUSED_LORA)
    (merged,) = options_of(proposal, ChangeKind.LORA_MERGED)
    assert (fused.entry, fused.proposed.repo, fused.proposed.path) == (
        "diffusion_model",
        LORA_2511_REPO,
        FUSED_2511,
    )
    assert fused.goes_with == ("lightning_lora",) and merged.goes_with == ("diffusion_model",)
    assert merged.entry == "lightning_lora" and "removed" in merged.why
    assert "LoRA node" in fused.why
    # Never a change: nothing applies one half without the other.
    assert not any(
        c.kind in (ChangeKind.FUSED_LORA, ChangeKind.LORA_MERGED) for c in proposal.changes
    )
    kinds = {option["kind"] for option in json.loads(json.dumps(proposal.as_dict()))["options"]}
    assert kinds >= {"fused-lora", "lora-merged"}


def test_a_fused_file_for_other_steps_is_not_proposed(
    shipped: LoadedConfig, pinned: Lock, hub: Hub, qwen_hub: HubServer
) -> None:
    add_2511_lora_repo(qwen_hub, fused=False)
    eight = FUSED_2511.replace("4steps", "8steps")
    qwen_hub.commit(
        LORA_2511_REPO,
        {eight: transformer("fused-8", "F8_E4M3", 94, scaled=True)},
        title="Add an 8-step fused base",
    )
    proposal = run(shipped.config, pinned, hub, engine="0.5.0")
    assert options_of(proposal, ChangeKind.FUSED_LORA) == []
    assert any("8-step" in n and "4-step" in n for n in proposal.notes)


def test_model_names_split_release_from_precision() -> None:
    assert model_name(
        "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors"
    ).release == ("qwen_image_edit_2509")
    assert model_name(SCALED_2509).release == "qwen_image_edit_2509"
    fused = model_name(FUSED_2511)
    assert (fused.line, fused.version) == ("qwen_image_edit", 2511)
    assert model_name("qwen_image_edit_fp8_e4m3fn.safetensors").version is None
