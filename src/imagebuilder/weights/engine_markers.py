"""Header markers -> the oldest ComfyUI that loads a file correctly: the table, as data.

An older ComfyUI does not refuse a file it does not understand: 0.3.64 loads a
mixed-precision file with one log line (``unet unexpected: [... comfy_quant ...]``) and
uses the FP8 weights without their scales, so the images are wrong and nothing fails.
Each row names one marker the safetensors header carries, the first ComfyUI release that
honours it, and where that fact comes from (ComfyUI pull requests and its changelog).
docs/engine.md shows this table; tests check it against the loopback Hub's 2511 files.

A row matches a tensor by exact name or by name suffix, optionally only when the layer's
own ``.weight`` (the tensor the marker describes) or the marker tensor itself has one of
the listed dtypes: ``.comfy_quant`` beside an FP8 weight is fp8 mixed precision (0.3.68),
beside a packed U8 weight it is NVFP4 (0.8.0). ``_quantization_metadata`` rows match the
``format`` values inside that metadata entry (the older writer's spelling).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Match(StrEnum):
    TENSOR = "tensor"  # a tensor with exactly this name
    SUFFIX = "suffix"  # any tensor whose name ends with this
    QUANT_FORMAT = "quant-format"  # a layer format in __metadata__ or a .comfy_quant tensor


@dataclass(frozen=True)
class Marker:
    match: Match
    pattern: str
    comfyui: str  # the first release that honours it
    capability: str  # what the marker means, as docs and messages say it
    source: str  # where the version floor was read
    weight_dtypes: frozenset[str] = frozenset()  # dtype of <layer>.weight; empty: any
    own_dtypes: frozenset[str] = frozenset()  # dtype of the marker tensor; empty: any


_FP8 = frozenset({"F8_E4M3", "F8_E5M2"})
_FLOATS = frozenset({"F32", "F16", "BF16"})
_MIXED_PR = "ComfyUI #10498; changelog 0.3.68"

MARKERS: tuple[Marker, ...] = (
    Marker(
        Match.TENSOR,
        "__index_timestep_zero__",
        "0.5.0",
        "Qwen-Image-Edit-2511 (index_timestep_zero reference method, auto-detected)",
        "ComfyUI #11340; changelog 0.5.0",
    ),
    Marker(
        Match.SUFFIX,
        ".comfy_quant",
        "0.3.68",
        "mixed precision, FP8 layers (comfy_quant)",
        _MIXED_PR,
        weight_dtypes=_FP8,
    ),
    Marker(
        Match.SUFFIX,
        ".weight_scale",
        "0.3.68",
        "mixed precision, FP8 per-layer weight_scale",
        _MIXED_PR,
        weight_dtypes=_FP8,
        own_dtypes=_FLOATS,
    ),
    Marker(
        Match.SUFFIX,
        ".input_scale",
        "0.3.68",
        "mixed precision, FP8 input_scale",
        _MIXED_PR,
        weight_dtypes=_FP8,
    ),
    Marker(
        Match.SUFFIX,
        ".comfy_quant",
        "0.8.0",
        "mixed precision, NVFP4 layers (packed U8)",
        "changelog 0.8.0",
        weight_dtypes=frozenset({"U8"}),
    ),
    Marker(Match.SUFFIX, ".weight_scale_2", "0.8.0", "NVFP4 second-level scale", "changelog 0.8.0"),
    Marker(
        Match.SUFFIX, ".pre_quant_scale", "0.8.0", "NVFP4 pre-quantization scale", "changelog 0.8.0"
    ),
    Marker(
        Match.SUFFIX,
        ".weight_scale",
        "0.18.0",
        "MXFP8 block scales (E8M0)",
        "changelog 0.18.0",
        own_dtypes=frozenset({"F8_E8M0"}),
    ),
    Marker(
        Match.SUFFIX,
        ".comfy_quant",
        "0.27.0",
        "mixed precision, int8 layers",
        "changelog 0.27.0",
        weight_dtypes=frozenset({"I8"}),
    ),
    Marker(
        Match.SUFFIX,
        ".weight_scale",
        "0.27.0",
        "int8 per-layer weight_scale",
        "changelog 0.27.0",
        weight_dtypes=frozenset({"I8"}),
    ),
    Marker(Match.QUANT_FORMAT, "float8_e4m3fn", "0.3.68", "mixed precision, FP8 E4M3", _MIXED_PR),
    Marker(Match.QUANT_FORMAT, "float8_e5m2", "0.3.68", "mixed precision, FP8 E5M2", _MIXED_PR),
    Marker(Match.QUANT_FORMAT, "nvfp4", "0.8.0", "mixed precision, NVFP4", "changelog 0.8.0"),
    Marker(Match.QUANT_FORMAT, "mxfp8", "0.18.0", "mixed precision, MXFP8", "changelog 0.18.0"),
    Marker(Match.QUANT_FORMAT, "int8", "0.27.0", "mixed precision, int8", "changelog 0.27.0"),
)

# `__metadata__` key of the older mixed-precision writer: {"layers": {name: {"format"}}}.
QUANT_METADATA_KEY = "_quantization_metadata"
# Any quantization metadata, whatever formats it names, needs the mixed-precision system.
MIXED_PRECISION_FLOOR = "0.3.68"
