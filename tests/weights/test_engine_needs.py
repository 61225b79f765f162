"""The header marker -> minimum ComfyUI table, on the loopback Hub's 2511 files and crafted
headers (hostile metadata included)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hubserver._safetensors import TensorSpec, build_layout
from hubserver.qwen import qwen_image_transformer
from hubserver.releases import EDIT_REPO, FP8MIXED_2511, INT8_2511, publish_2511
from imagebuilder.cli import main
from imagebuilder.hub.client import Hub
from imagebuilder.project.comfyversion import ComfyVersion
from imagebuilder.weights.engine_markers import MARKERS, Match
from imagebuilder.weights.engine_needs import engine_need
from imagebuilder.weights.header import Header, parse_header
from imagebuilder.weights.remote import fetch_header

SMALL: dict[str, Any] = {"layers": 2, "hidden": 64}
DM_2509 = "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors"
BF16_2511 = "split_files/diffusion_models/qwen_image_edit_2511_bf16.safetensors"


def header(tensors: dict[str, TensorSpec], metadata: dict[str, str] | None = None) -> Header:
    layout = build_layout(tensors, metadata or {})
    return parse_header(layout.header, layout.size, name="f.safetensors")


def test_every_row_is_well_formed() -> None:
    for marker in MARKERS:
        ComfyVersion.parse(marker.comfyui)
        assert marker.capability and marker.source and marker.pattern
        if marker.match is Match.QUANT_FORMAT:
            assert not marker.weight_dtypes and not marker.own_dtypes


@pytest.mark.parametrize(
    ("path", "floor", "capabilities"),
    [
        (DM_2509, None, set()),
        (BF16_2511, "0.5.0", {"Qwen-Image-Edit-2511"}),
        (FP8MIXED_2511, "0.5.0", {"Qwen-Image-Edit-2511", "FP8 layers", "input_scale"}),
        (INT8_2511, "0.27.0", {"int8 layers", "int8 per-layer", "Qwen-Image-Edit-2511"}),
    ],
)
def test_the_loopback_hubs_2511_files(qwen_hub, path, floor, capabilities) -> None:  # type: ignore[no-untyped-def]
    publish_2511(qwen_hub)
    hub = Hub(endpoint=qwen_hub.url)
    remote = hub.snapshot(EDIT_REPO, "main").files[path]
    qwen_hub.stats.reset()
    need = engine_need(fetch_header(hub, EDIT_REPO, path, remote.commit, remote.size))
    assert qwen_hub.stats.bytes_served < 2 << 20  # the header only, never the 20 GB
    assert (str(need.comfyui) if need.comfyui else None) == floor
    found = " | ".join(hit.marker.capability for hit in need.hits)
    assert all(part in found for part in capabilities), found
    if floor:
        assert need.problem_with(ComfyVersion.parse("0.3.64")) is not None
        assert need.problem_with(ComfyVersion.parse(floor)) is None


def test_the_floor_names_both_versions_and_why() -> None:
    need = engine_need(header(qwen_image_transformer(**SMALL, edit_2511=True, mixed=True)[0]))
    message = need.problem_with(ComfyVersion.parse("0.3.64"))
    assert message is not None
    assert "needs ComfyUI >= 0.5.0" in message and "ComfyUI 0.3.64" in message
    assert "__index_timestep_zero__" in message and "wrong images" in message


def test_mixed_fp8_without_the_2511_marker_needs_0_3_68() -> None:
    need = engine_need(header(qwen_image_transformer(**SMALL, mixed=True)[0]))
    assert str(need.comfyui) == "0.3.68"
    assert {h.marker.pattern for h in need.hits} == {
        ".comfy_quant",
        ".weight_scale",
        ".input_scale",
    }


def test_legacy_scaled_fp8_has_no_floor() -> None:
    assert engine_need(header(qwen_image_transformer(**SMALL, scaled=True)[0])).comfyui is None


def test_nvfp4_and_mxfp8_by_dtype() -> None:
    nvfp4 = {
        "a.weight": TensorSpec("U8", (4, 4)),
        "a.comfy_quant": TensorSpec("U8", (8,)),
        "a.weight_scale_2": TensorSpec("F32", ()),
    }
    assert str(engine_need(header(nvfp4)).comfyui) == "0.8.0"
    mxfp8 = {
        "a.weight": TensorSpec("F8_E4M3", (4, 32)),
        "a.weight_scale": TensorSpec("F8_E8M0", (4, 1)),
    }
    assert str(engine_need(header(mxfp8)).comfyui) == "0.18.0"


def test_quantization_metadata_formats() -> None:
    tensors = {"a.weight": TensorSpec("F8_E4M3", (4, 4))}
    layers = {"a": {"format": "float8_e4m3fn"}, "b": {"format": "nvfp4"}, "c": {"format": "zzz9"}}
    meta = {"_quantization_metadata": json.dumps({"format_version": "1.0", "layers": layers})}
    need = engine_need(header(tensors, meta))
    assert str(need.comfyui) == "0.8.0" and need.unknown_formats == ("zzz9",)


@pytest.mark.parametrize(
    "raw", ["not json", "[1, 2]", '{"layers": 5}', '{"layers": {"a": 1}}', "[" * 100_000]
)
def test_hostile_quantization_metadata_still_needs_mixed_precision(raw: str) -> None:
    need = engine_need(
        header({"a.weight": TensorSpec("BF16", (2, 2))}, {"_quantization_metadata": raw})
    )
    assert str(need.comfyui) == "0.3.68"


def test_inspect_shows_the_requirement(qwen_hub, hub_env, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    publish_2511(qwen_hub)
    assert main(["inspect", f"{EDIT_REPO}/{FP8MIXED_2511}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["needs_engine"]["comfyui"] == "0.5.0"
    assert report["needs_engine"]["markers"][0]["marker"] == "__index_timestep_zero__"
    assert main(["inspect", f"{EDIT_REPO}/{FP8MIXED_2511}"]) == 0
    out = capsys.readouterr().out
    assert "needs ComfyUI" in out and ">= 0.5.0" in out
