"""Architectures from headers: every family of weights.architectures on full-size headers
of its real key layout (tests/hubserver/families.py, qwen.py), and LoRA-to-base fit."""

from __future__ import annotations

from typing import Any

import pytest

from hubserver._safetensors import build_layout
from hubserver.qwen import generate
from imagebuilder.docgen.pages import architecture_table
from imagebuilder.weights.architectures import FAMILIES
from imagebuilder.weights.compat import check_lora
from imagebuilder.weights.header import Header, parse_header
from imagebuilder.weights.inspection import summarize


def header(generator: str, name: str = "f.safetensors", **args: Any) -> Header:
    layout = build_layout(*generate(generator, args))
    return parse_header(layout.header, layout.size, name=name)


@pytest.mark.parametrize(
    ("generator", "args", "family", "variant", "billions", "knobs"),
    [
        ("qwen_image_transformer", {}, "qwen_image", None, 20.4, {"layers": 60}),
        ("qwen_image_transformer", {"edit_2511": True}, "qwen_image", "edit_2511", 20.4, {}),
        ("flux_transformer", {}, "flux", "dev", 11.9, {"layers": 19, "in_channels": 16}),
        ("flux_transformer", {"guidance": False}, "flux", "schnell", 11.9, {}),
        ("flux_transformer", {"in_channels": 96}, "flux", "fill", 11.9, {"in_channels": 96}),
        ("wan_transformer", {}, "wan", "i2v_2.2", 14.3, {"layers": 40, "in_channels": 36}),
        ("wan_transformer", {"in_dim": 16}, "wan", "t2v", 14.3, {"hidden_size": 5120}),
        ("wan_transformer", {"clip_vision": True}, "wan", "i2v_2.1", 14.3, {}),
        (
            "wan_transformer",
            {"layers": 30, "dim": 3072, "ffn": 14336, "in_dim": 48, "out_dim": 48},
            "wan", "ti2v_2.2", 5.0, {"out_channels": 48},
        ),
        ("wan_transformer", {"layers": 30, "dim": 1536, "ffn": 8960, "in_dim": 16},
         "wan", "t2v", 1.4, {}),
        ("t5_encoder", {}, "t5", "t5xxl", 4.8, {"layers": 24}),
        ("t5_encoder", {"vocab": 256384}, "t5", "umt5_xxl", 5.7, {}),
        ("clip_text_encoder", {}, "clip_text", "clip_l", 0.12, {"layers": 12}),
        ("clip_text_encoder", {"layers": 32, "hidden": 1280}, "clip_text", "clip_g", 0.69, {}),
        ("qwen_text_encoder", {}, "qwen25_vl", None, 7.7, {"layers": 28}),
        ("qwen_vae", {}, "wan_vae", None, None, {"out_channels": 16}),
        ("image_vae", {}, "image_vae", "flux_ae", 0.08, {}),
        ("image_vae", {"z_channels": 4}, "image_vae", "sd", 0.08, {}),
        ("hidream_markers", {}, "hidream", None, None, {"hidden_size": 2560}),
        ("sdxl_unet_markers", {}, "sdxl", "base", None, {"text_dim": 2048}),
        ("sdxl_unet_markers", {"adm": 2560}, "sdxl", "refiner", None, {}),
    ],
)  # fmt: skip
def test_families_from_full_size_headers(
    generator: str,
    args: dict[str, Any],
    family: str,
    variant: str | None,
    billions: float | None,
    knobs: dict[str, int],
) -> None:
    summary = summarize(header(generator, **args))
    arch = summary.architecture
    assert (arch.family, arch.variant) == (family, variant)
    assert arch.label
    if billions is not None:  # the released files' parameter counts, to 3 digits
        assert round(summary.parameter_count / 1e9, 2 if billions < 1 else 1) == billions
    assert {k: arch.as_dict()[k] for k in knobs} == knobs


def test_every_family_is_in_the_docs_table_and_tested() -> None:
    table = architecture_table()
    assert all(f"`{family.name}`" in table for family in FAMILIES)


SMALL_WAN: dict[str, Any] = {"layers": 2, "dim": 64, "ffn": 128}


def test_a_wan_lora_applies_to_its_wan_base() -> None:
    base = header("wan_transformer", "wan.safetensors", **SMALL_WAN)
    lora = header("family_lora", "lora.safetensors", layers=2, hidden=64, ffn=128, rank=4)
    check = check_lora(lora, base)
    assert check.applies and check.targets == check.matched == 20


def test_a_flux_lora_applies_to_its_flux_base() -> None:
    base = header("flux_transformer", depth=2, single=1, hidden=64)
    lora = header("family_lora", family="flux", layers=2, hidden=64, rank=4)
    assert check_lora(lora, base).applies


def test_a_lora_of_another_family_is_named_as_such() -> None:
    flux = header("flux_transformer", "flux.safetensors", depth=2, single=1, hidden=64)
    wan_lora = header("family_lora", layers=2, hidden=64, ffn=128, rank=4)
    check = check_lora(wan_lora, flux)
    assert not check.applies and check.total_mismatches == 20
    assert check.mismatches[0].problem == (
        "a LoRA for Wan 2.1 / 2.2 (wan); the base is Flux.1 dev / Kontext dev (one layout) (flux)"
    )
    qwen_lora = header("lightning_lora", layers=2, hidden=64)
    wan = header("wan_transformer", **SMALL_WAN)
    assert (
        "a LoRA for Qwen-Image / Qwen-Image-Edit"
        in check_lora(qwen_lora, wan).mismatches[0].problem
    )


def test_a_wan_lora_with_the_wrong_width_fails_by_shape() -> None:
    base = header("wan_transformer", **SMALL_WAN)
    lora = header("family_lora", layers=2, hidden=128, ffn=128, rank=4)
    check = check_lora(lora, base)
    assert not check.applies and "shape mismatch" in check.mismatches[0].problem
