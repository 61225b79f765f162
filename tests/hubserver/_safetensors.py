"""Safetensors header layout, reproduced exactly as the safetensors library writes it.

Virtual files must be byte-identical (header-wise) to what `safetensors.numpy.save` would
produce for the same tensors, so that code tested against a virtual 20 GB file behaves as
it would against the real one. The ordering rule was measured against safetensors 0.8:
tensors sorted by dtype (descending enum order, which groups by alignment) then by name.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# dtype -> bits, listed in the order the library emits them (largest alignment first).
# F4/F6 position follows the Rust enum (between U8 and BOOL); they never occur in our fixtures.
DTYPE_BITS: dict[str, int] = {
    "U64": 64,
    "I64": 64,
    "F64": 64,
    "C64": 64,
    "F32": 32,
    "U32": 32,
    "I32": 32,
    "BF16": 16,
    "F16": 16,
    "U16": 16,
    "I16": 16,
    "F8_E8M0": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "I8": 8,
    "U8": 8,
    "F6_E3M2": 6,
    "F6_E2M3": 6,
    "F4": 4,
    "BOOL": 8,
}
_DTYPE_RANK = {name: rank for rank, name in enumerate(DTYPE_BITS)}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: dtype, shape and an optional constant fill value (e.g. LoRA alpha)."""

    dtype: str
    shape: tuple[int, ...]
    value: float | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPE_BITS:
            raise ValueError(f"unknown safetensors dtype {self.dtype!r}")
        if any(d < 0 for d in self.shape):
            raise ValueError(f"negative dimension in shape {self.shape}")

    @property
    def nbytes(self) -> int:
        bits = math.prod(self.shape) * DTYPE_BITS[self.dtype]
        if bits % 8:
            raise ValueError(f"{self.dtype}{list(self.shape)} is not a whole number of bytes")
        return bits // 8

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "shape": list(self.shape)}
        if self.value is not None:
            out["value"] = self.value
        return out


def tensor_spec(raw: Mapping[str, Any] | TensorSpec) -> TensorSpec:
    if isinstance(raw, TensorSpec):
        return raw
    value = raw.get("value")
    return TensorSpec(
        dtype=str(raw["dtype"]),
        shape=tuple(int(d) for d in raw["shape"]),
        value=None if value is None else float(value),
    )


@dataclass(frozen=True)
class Layout:
    """A header plus where each tensor's bytes sit, relative to the start of the file."""

    header: bytes  # includes the 8-byte length prefix and the space padding
    tensors: tuple[tuple[str, TensorSpec, int, int], ...]  # name, spec, file start, file end

    @property
    def size(self) -> int:
        return self.tensors[-1][3] if self.tensors else len(self.header)


def library_order(tensors: Mapping[str, TensorSpec]) -> list[str]:
    return sorted(tensors, key=lambda name: (_DTYPE_RANK[tensors[name].dtype], name))


def build_layout(tensors: Mapping[str, TensorSpec], metadata: Mapping[str, str]) -> Layout:
    header: dict[str, Any] = {}
    if metadata:
        # The library iterates a Rust HashMap here (random order); sorted keeps us deterministic.
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    offset = 0
    spans: list[tuple[str, TensorSpec, int, int]] = []
    for name in library_order(tensors):
        spec = tensors[name]
        end = offset + spec.nbytes
        header[name] = {
            "dtype": spec.dtype,
            "shape": list(spec.shape),
            "data_offsets": [offset, end],
        }
        spans.append((name, spec, offset, end))
        offset = end
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    prefix = struct.pack("<Q", len(text)) + text
    base = len(prefix)
    placed = tuple((n, s, base + a, base + b) for n, s, a, b in spans)
    return Layout(header=prefix, tensors=placed)
