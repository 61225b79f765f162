"""What a validated header tells about a model: sizes, precision, architecture, LoRA shape.

Pure functions over ``Header``. Nothing here reads a file or the network; LoRA alpha
values come from ``Header.data_head`` when the header read already held them.
"""

from __future__ import annotations

import re
import struct
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imagebuilder.project.precision import PrecisionFamily
from imagebuilder.weights.architectures import detect, knob_values, variant_of
from imagebuilder.weights.header import DTYPE_BITS, Header
from imagebuilder.weights.lora_keys import LoraKey, parse_lora_key

FP8_DTYPES = {"F8_E4M3": "e4m3", "F8_E5M2": "e5m2", "F8_E4M3FNUZ": "e4m3", "F8_E5M2FNUZ": "e5m2"}
# Tensor-name suffixes and markers ComfyUI reads as "this FP8 file carries scales".
_SCALE_SUFFIXES = (".scale_weight", ".scale_input", ".weight_scale", ".input_scale")
_MIXED_SUFFIX = ".comfy_quant"
_SCALED_MARKER = "scaled_fp8"
_QUANT_METADATA = "_quantization_metadata"
# ComfyUI checkpoints sometimes prefix diffusion-model keys; fingerprints ignore that.
_MODEL_PREFIXES = ("model.diffusion_model.", "diffusion_model.")
_BLOCK_INDEX = re.compile(r"^transformer_blocks[._](\d+)[._]")  # "_" in kohya names


class Precision(StrEnum):
    FP8_E4M3 = "fp8_e4m3"  # plain downcast FP8, no scales
    FP8_E5M2 = "fp8_e5m2"
    FP8_SCALED = "fp8_scaled"  # FP8 with per-layer scales (scaled_fp8, .scale_weight, ...)
    FP8_MIXED = "fp8_mixed"  # ComfyUI mixed precision (.comfy_quant / quantization metadata)
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"
    FP64 = "fp64"
    INT8 = "int8"
    OTHER = "other"
    EMPTY = "empty"

    @property
    def family(self) -> PrecisionFamily:
        """The coarse family update rules and file names speak: fp8, bf16, ..."""
        if self.value.startswith("fp8"):
            return PrecisionFamily.FP8
        return _FAMILY.get(self, PrecisionFamily.UNKNOWN)


_FAMILY = {
    Precision.BF16: PrecisionFamily.BF16,
    Precision.FP16: PrecisionFamily.FP16,
    Precision.FP32: PrecisionFamily.FP32,
    Precision.INT8: PrecisionFamily.INT8,
}
_FLOAT_PRECISION = {"BF16": Precision.BF16, "F16": Precision.FP16, "F32": Precision.FP32}
_FLOAT_PRECISION |= {"F64": Precision.FP64, "I8": Precision.INT8, "U8": Precision.INT8}


@dataclass(frozen=True)
class Architecture:
    """An architecture fingerprint: equal fingerprints load into the same ComfyUI model."""

    family: str  # a name of weights.architectures.FAMILIES, lora or unknown
    label: str | None = None  # what people call it: "Flux.1", "Wan 2.1 / 2.2"
    variant: str | None = None  # edit_2511, dev, schnell, i2v_2.2, t5xxl, clip_l, ...
    layers: int | None = None
    hidden_size: int | None = None
    in_channels: int | None = None
    out_channels: int | None = None
    text_dim: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class LoraInfo:
    convention: str  # e.g. "lora_up/lora_down", "peft (lora_A/lora_B)", "kohya"
    prefixes: tuple[str, ...]  # key prefixes seen: "", "transformer.", "diffusion_model."
    ranks: tuple[int, ...]
    alphas: tuple[float, ...]  # alpha values read from data_head; empty when not at hand
    alpha_tensors: int  # how many targets carry an alpha
    targets: int
    target_modules: tuple[str, ...]  # block-independent names: attn.to_q, img_mlp.net.2, ...
    layers: tuple[int, ...]
    keys: dict[str, LoraKey] = field(repr=False, compare=False, default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.pop("keys")
        data["layers"] = len(self.layers)
        return data


@dataclass(frozen=True)
class HeaderSummary:
    name: str
    file_size: int
    tensor_count: int
    parameter_count: int
    bytes_by_dtype: dict[str, int]
    params_by_dtype: dict[str, int]
    precision: Precision
    fp8_format: str | None  # e4m3 / e5m2 when any FP8 weights are present
    fp8_scaled: bool
    architecture: Architecture
    lora: LoraInfo | None
    metadata: dict[str, str]

    @property
    def precision_label(self) -> str:
        labels = {
            Precision.FP8_SCALED: f"FP8 {(self.fp8_format or '').upper()} scaled",
            Precision.FP8_MIXED: f"FP8 {(self.fp8_format or '').upper()} mixed",
        }
        return labels.get(self.precision, self.precision.value.upper().replace("_", " "))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file_size": self.file_size,
            "tensor_count": self.tensor_count,
            "parameter_count": self.parameter_count,
            "bytes_by_dtype": self.bytes_by_dtype,
            "params_by_dtype": self.params_by_dtype,
            "precision": self.precision.value,
            "precision_family": self.precision.family,
            "precision_label": self.precision_label,
            "fp8_format": self.fp8_format,
            "fp8_scaled": self.fp8_scaled,
            "architecture": self.architecture.as_dict(),
            "lora": self.lora.as_dict() if self.lora else None,
            "metadata": self.metadata,
        }


def summarize(header: Header) -> HeaderSummary:
    """Everything the header says about the file, without reading its data."""
    bytes_by_dtype: Counter[str] = Counter()
    params_by_dtype: Counter[str] = Counter()
    for tensor in header.tensors:
        bytes_by_dtype[tensor.dtype] += tensor.nbytes
        params_by_dtype[tensor.dtype] += tensor.numel
    lora = lora_info(header)
    fp8_format, scaled, precision = _precision(header, bytes_by_dtype)
    return HeaderSummary(
        name=header.name,
        file_size=header.file_size,
        tensor_count=len(header.tensors),
        parameter_count=sum(params_by_dtype.values()),
        bytes_by_dtype=dict(sorted(bytes_by_dtype.items())),
        params_by_dtype=dict(sorted(params_by_dtype.items())),
        precision=precision,
        fp8_format=fp8_format,
        fp8_scaled=scaled,
        architecture=Architecture("lora") if lora else fingerprint(header),
        lora=lora,
        metadata=dict(header.metadata),
    )


def is_quantization_aux(name: str) -> bool:
    """Scale tensors and markers that come and go with FP8 quantization, not architecture."""
    return name == _SCALED_MARKER or name.endswith(_SCALE_SUFFIXES) or name.endswith(_MIXED_SUFFIX)


def _precision(header: Header, bytes_by_dtype: Counter[str]) -> tuple[str | None, bool, Precision]:
    fp8_bytes: Counter[str] = Counter()
    for dtype, size in bytes_by_dtype.items():
        if dtype in FP8_DTYPES:
            fp8_bytes[FP8_DTYPES[dtype]] += size
    marker = header.by_name.get(_SCALED_MARKER)
    if marker is not None and marker.dtype in FP8_DTYPES:
        fp8_bytes[FP8_DTYPES[marker.dtype]] += 0  # the marker's dtype names the format
    fp8_format = fp8_bytes.most_common(1)[0][0] if fp8_bytes else None
    names = header.by_name
    mixed = _QUANT_METADATA in header.metadata or any(n.endswith(_MIXED_SUFFIX) for n in names)
    scaled = mixed or _SCALED_MARKER in names or any(n.endswith(_SCALE_SUFFIXES) for n in names)
    if fp8_format is not None and sum(fp8_bytes.values()) > 0:
        if mixed:
            return fp8_format, True, Precision.FP8_MIXED
        if scaled:
            return fp8_format, True, Precision.FP8_SCALED
        return fp8_format, False, Precision(f"fp8_{fp8_format}")
    if not bytes_by_dtype:
        return None, False, Precision.EMPTY
    dominant = max(bytes_by_dtype, key=lambda dtype: (bytes_by_dtype[dtype], dtype))
    return None, False, _FLOAT_PRECISION.get(dominant, Precision.OTHER)


def _bare(name: str) -> str:
    for prefix in _MODEL_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def fingerprint(header: Header) -> Architecture:
    """Family and size knobs as ComfyUI itself detects them (weights.architectures)."""
    shapes = {_bare(t.name): t.shape for t in header.tensors}
    family = detect(shapes)
    if family is None:
        return Architecture(family="unknown")
    variant = variant_of(family, shapes)
    return Architecture(
        family=family.name,
        label=variant.label if variant else family.label,
        variant=variant.name if variant else None,
        **knob_values(family, shapes),
    )


def lora_info(header: Header) -> LoraInfo | None:
    """The LoRA's key convention, ranks, alphas and targets; None when it is not a LoRA."""
    keys = {t.name: key for t in header.tensors if (key := parse_lora_key(t.name)) is not None}
    if not keys or len(keys) < len(header.tensors) / 2:
        return None
    ranks: set[int] = set()
    targets: dict[str, set[str]] = defaultdict(set)
    for name, key in keys.items():
        targets[key.target].add(key.part)
        tensor = header.by_name[name]
        if key.part == "down" and tensor.shape:
            ranks.add(tensor.shape[0])
    alphas = sorted({a for n, k in keys.items() if k.part == "alpha" and (a := _scalar(header, n))})
    modules = {_BLOCK_INDEX.sub("", k.module) for k in keys.values()}
    layers = {int(m.group(1)) for k in keys.values() if (m := _BLOCK_INDEX.match(k.module))}
    return LoraInfo(
        convention=_most_common(k.convention for k in keys.values() if k.convention),
        prefixes=tuple(sorted({k.prefix for k in keys.values()})),
        ranks=tuple(sorted(ranks)),
        alphas=tuple(alphas),
        alpha_tensors=sum(1 for k in keys.values() if k.part == "alpha"),
        targets=len(targets),
        target_modules=tuple(sorted(modules)),
        layers=tuple(sorted(layers)),
        keys=keys,
    )


def _most_common(values: Any) -> str:
    counted = Counter(values)
    return counted.most_common(1)[0][0] if counted else "unknown"


_SCALAR_FORMATS = {"F32": "<f", "F64": "<d", "F16": "<e"}


def _scalar(header: Header, name: str) -> float | None:
    """A one-element float tensor's value, if its bytes are in the data we already hold."""
    tensor = header.by_name[name]
    data = header.tensor_bytes(name)
    if data is None or tensor.numel != 1:
        return None
    if tensor.dtype == "BF16":
        return float(struct.unpack("<f", b"\x00\x00" + data)[0])
    fmt = _SCALAR_FORMATS.get(tensor.dtype)
    return float(struct.unpack(fmt, data)[0]) if fmt else None


__all__ = ["DTYPE_BITS", "HeaderSummary", "Precision", "fingerprint", "lora_info", "summarize"]
