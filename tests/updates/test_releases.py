"""Release tokens, precision families and LoRA matching: pure, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imagebuilder.project.load import load_config
from imagebuilder.project.precision import PrecisionFamily
from imagebuilder.updates.releases import (
    FIRST_RELEASE,
    Release,
    fewer_step_loras,
    lora_for_base,
    newer_base_releases,
    newer_lora_version,
    parse_release,
    precision_family,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "models.yaml").config


def rule_pattern(entry: str) -> re.Pattern[str]:
    rule = CONFIG.models[entry].updates
    assert rule is not None
    return re.compile(rule.pattern)


BASE = rule_pattern("diffusion_model")
LORA = rule_pattern("lightning_lora")
DIR = "split_files/diffusion_models"


@pytest.mark.parametrize(
    ("token", "family"),
    [
        ("fp8_e4m3fn", PrecisionFamily.FP8),
        ("fp8_e5m2", PrecisionFamily.FP8),
        ("fp8_scaled", PrecisionFamily.FP8),
        ("fp8mixed", PrecisionFamily.FP8),
        ("bf16", PrecisionFamily.BF16),
        ("fp16", PrecisionFamily.FP16),
        ("fp32", PrecisionFamily.FP32),
        ("int8_convrot", PrecisionFamily.INT8),
        ("Q4_K_M.gguf", PrecisionFamily.GGUF),
        ("mystery", PrecisionFamily.UNKNOWN),
        (None, PrecisionFamily.UNKNOWN),
    ],
)
def test_precision_family(token: str | None, family: PrecisionFamily) -> None:
    assert precision_family(token) is family


def test_version_tokens_order_none_2509_2511() -> None:
    paths = [
        f"{DIR}/qwen_image_edit_fp8_e4m3fn.safetensors",
        f"{DIR}/qwen_image_edit_2509_fp8_e4m3fn.safetensors",
        f"{DIR}/qwen_image_edit_2511_fp8mixed.safetensors",
        f"{DIR}/qwen_image_edit_2511_bf16.safetensors",
        "README.md",
        "split_files/text_encoders/qwen_2.5_vl_7b.safetensors",
    ]
    found = [r for r in (parse_release(BASE, "r/r", path) for path in paths) if r is not None]
    assert [r.version for r in found] == [FIRST_RELEASE, 2509, 2511, 2511]
    assert found[0].precision == "fp8_e4m3fn"
    current = found[1]
    groups = newer_base_releases(current, found)
    assert [[r.precision for r in g] for g in groups] == [["bf16", "fp8mixed"]]
    assert newer_base_releases(found[2], found) == []


def test_lora_tokens() -> None:
    path = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"
    release = parse_release(LORA, "lightx2v/Qwen-Image-Lightning", path)
    assert release == Release(
        version=FIRST_RELEASE,
        repo="lightx2v/Qwen-Image-Lightning",
        path=path,
        precision="bf16",
        steps=4,
        lora_version=(1, 0),
        base_version=2509,
    )
    assert release.lora_version_text == "V1.0"


def test_hostile_tokens_make_no_candidate() -> None:
    pattern = re.compile(r"model_(?P<version>\w+)\.safetensors$")
    assert (
        parse_release(pattern, "r/r", "model_\uff12\uff15\uff11\uff11.safetensors") is None
    )  # fullwidth digits
    assert parse_release(pattern, "r/r", "model_99999999999999.safetensors") is None
    assert parse_release(pattern, "r/r", "model_abc.safetensors") is None
    dotted = re.compile(r"V(?P<lora_version>[\d.]+)\.safetensors$")
    assert parse_release(dotted, "r/r", "V1.2.3.4.5.safetensors") is None
    assert parse_release(dotted, "r/r", "V1..0.safetensors") is None


def _lora(
    base: int, steps: int, version: str, precision: str = "bf16", repo: str = "a/b"
) -> Release:
    parts = tuple(int(p) for p in version.split("."))
    return Release(
        FIRST_RELEASE, repo, f"{base}-{steps}-{version}-{precision}", precision, steps, parts, base
    )


def test_lora_for_base_keeps_steps_precision_and_version() -> None:
    current = _lora(2509, 4, "1.0")
    candidates = [
        _lora(2511, 8, "1.0"),
        _lora(2511, 4, "1.0", "fp32"),
        _lora(2511, 4, "1.0", repo="x/2511"),
        _lora(2511, 4, "2.0", repo="x/2511"),
    ]
    found = lora_for_base(current, candidates, 2511)
    assert found is not None and (found.steps, found.precision, found.lora_version) == (
        4,
        "bf16",
        (1, 0),
    )
    newer = newer_lora_version(found, candidates, 2511)
    assert newer is not None and newer.lora_version == (2, 0)
    assert lora_for_base(current, candidates, 2512) is None


def test_lora_for_base_takes_the_newest_when_the_pinned_version_is_absent() -> None:
    current = _lora(2509, 4, "1.0")
    found = lora_for_base(current, [_lora(2511, 4, "2.0"), _lora(2511, 4, "1.1")], 2511)
    assert found is not None and found.lora_version == (2, 0)


def test_fewer_steps_are_cheaper_options_newest_first_per_step_count() -> None:
    current = _lora(2509, 8, "1.0")
    candidates = [
        _lora(2509, 4, "1.0"),
        _lora(2509, 4, "2.0"),
        _lora(2509, 2, "1.0"),
        _lora(2509, 8, "2.0"),
    ]
    found = fewer_step_loras(current, candidates, 2509)
    assert [(r.steps, r.lora_version) for r in found] == [(4, (2, 0)), (2, (1, 0))]
