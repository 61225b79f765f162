"""Precision, fingerprints, LoRA-to-base checks and model comparisons on generated headers."""

from __future__ import annotations

from typing import Any

import pytest

from hubserver._safetensors import TensorSpec, build_layout
from hubserver.qwen import LORA_CONVENTIONS, lightning_lora, qwen_image_transformer
from imagebuilder.project.precision import PrecisionFamily
from imagebuilder.weights.compat import Compatibility, check_lora, compare_models
from imagebuilder.weights.header import Header, parse_header
from imagebuilder.weights.inspection import Precision, summarize

SMALL: dict[str, Any] = {"layers": 2, "hidden": 64}


def header(generated: tuple[dict[str, TensorSpec], dict[str, str]], name: str = "f") -> Header:
    layout = build_layout(*generated)
    return parse_header(layout.header, layout.size, name=name)


def base(**kwargs: Any) -> Header:
    return header(qwen_image_transformer(**{**SMALL, **kwargs}), "base.safetensors")


@pytest.mark.parametrize("convention", LORA_CONVENTIONS)
def test_matching_lora_applies_under_each_convention(convention: str) -> None:
    lora = header(lightning_lora(rank=4, convention=convention, **SMALL), "x-Lightning.safetensors")
    info = summarize(lora).lora
    assert info is not None and info.ranks == (4,) and info.targets == 2 * 12
    check = check_lora(lora, base(dtype="BF16"))
    assert check.applies, check.mismatches
    assert check.matched == 24 and check.warnings == ()


def test_wrong_shape_fails_naming_the_tensor() -> None:
    tensors, meta = lightning_lora(rank=4, **SMALL)
    tensors["transformer_blocks.1.attn.to_k.lora_down.weight"] = TensorSpec("BF16", (4, 32))
    check = check_lora(header((tensors, meta)), base())
    assert not check.applies and check.total_mismatches == 1
    assert check.mismatches[0].target == "transformer_blocks.1.attn.to_k"
    assert "shape mismatch" in check.mismatches[0].problem


def test_rank_mismatch_between_down_and_up() -> None:
    tensors, meta = lightning_lora(rank=4, **SMALL)
    tensors["transformer_blocks.0.attn.to_q.lora_up.weight"] = TensorSpec("BF16", (64, 8))
    check = check_lora(header((tensors, meta)), base())
    assert [m.target for m in check.mismatches] == ["transformer_blocks.0.attn.to_q"]
    assert "rank differs" in check.mismatches[0].problem


def test_lora_for_another_architecture_fails() -> None:
    wider = header(lightning_lora(rank=4, layers=2, hidden=128))
    check = check_lora(wider, base())
    assert not check.applies and check.total_mismatches == 24
    deeper = header(lightning_lora(rank=4, layers=3, hidden=64))
    missing = check_lora(deeper, base())
    assert missing.total_mismatches == 12
    assert missing.mismatches[0].problem == "no such weight in the base model"


def test_lightning_on_plain_fp8_warns_scaled_does_not() -> None:
    lora = header(lightning_lora(rank=4, **SMALL), "Qwen-Lightning-4steps.safetensors")
    assert check_lora(lora, base(dtype="F8_E4M3")).warnings
    assert not check_lora(lora, base(dtype="F8_E4M3", scaled=True)).warnings


def test_precision_classification() -> None:
    assert summarize(base(dtype="F8_E4M3")).precision is Precision.FP8_E4M3
    assert summarize(base(dtype="F8_E5M2")).precision is Precision.FP8_E5M2
    scaled = summarize(base(dtype="F8_E4M3", scaled=True))
    assert (
        scaled.precision is Precision.FP8_SCALED
        and scaled.fp8_format is not None
        and scaled.fp8_scaled
    )
    assert scaled.precision_label == "FP8 E4M3 scaled"
    tensors, meta = qwen_image_transformer(dtype="F8_E4M3", **SMALL)
    tensors["img_in.comfy_quant"] = TensorSpec("U8", (27,))
    mixed = summarize(header((tensors, meta)))
    assert mixed.precision is Precision.FP8_MIXED and mixed.precision.family is PrecisionFamily.FP8
    assert summarize(base(dtype="BF16")).precision is Precision.BF16


def test_fingerprint_of_the_edit_2511_transformer() -> None:
    arch = summarize(base(edit_2511=True)).architecture
    assert (arch.family, arch.layers, arch.hidden_size, arch.in_channels, arch.variant) == (
        "qwen_image", 2, 64, 64, "edit_2511",
    )  # fmt: skip


def test_compare_models() -> None:
    fp8 = base(dtype="F8_E4M3")
    assert compare_models(fp8, base(dtype="BF16")).verdict is Compatibility.DROP_IN
    assert compare_models(fp8, base(dtype="BF16")).dtype_changes > 0
    changed = compare_models(fp8, base(dtype="F8_E4M3", scaled=True, edit_2511=True))
    assert changed.verdict is Compatibility.COMPATIBLE_WITH_CHANGES
    assert any("scaled_fp8" in d or "scale_weight" in d for d in changed.differences)
    other = compare_models(fp8, base(layers=3))
    assert other.verdict is Compatibility.DIFFERENT_ARCHITECTURE
    assert other.differences == ("layers: 2 -> 3",)
