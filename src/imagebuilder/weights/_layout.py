"""The per-tensor rules of the safetensors format: entries, sizes and the data layout.

Private to ``weights.header``, which re-exports ``TensorInfo`` and ``DTYPE_BITS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from imagebuilder.errors import (
    BadOffsets,
    BadShape,
    BadTensorEntry,
    OffsetsGap,
    OffsetsOverlap,
    PartialByte,
    ShapeOverflow,
    SizeMismatch,
    TensorPastEof,
    TrailingBytes,
    UnknownDtype,
)

_U64_MAX = (1 << 64) - 1
_TENSOR_FIELDS = frozenset({"dtype", "shape", "data_offsets"})

DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor entry; ``begin``/``end`` are offsets into the data buffer."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def valid_string(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape
        return False
    return True


def _natural(value: Any) -> bool:
    return type(value) is int and 0 <= value <= _U64_MAX


def tensor_entry(tensor_name: str, entry: Any, *, name: str) -> TensorInfo:
    if not valid_string(tensor_name):
        raise BadTensorEntry("tensor name holds an invalid Unicode escape", file=name)
    if not isinstance(entry, dict):
        raise BadTensorEntry(
            f"entry is a {type(entry).__name__}, not an object", file=name, tensor=tensor_name
        )
    if entry.keys() != _TENSOR_FIELDS:
        missing = sorted(_TENSOR_FIELDS - entry.keys())
        extra = sorted(str(key)[:40] for key in entry.keys() - _TENSOR_FIELDS)
        raise BadTensorEntry(
            f"entry needs exactly dtype, shape, data_offsets (missing {missing}, extra {extra})",
            file=name,
            tensor=tensor_name,
        )
    dtype = entry["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise UnknownDtype(
            f"dtype {str(dtype)[:40]!a} is not a safetensors dtype", file=name, tensor=tensor_name
        )
    shape = entry["shape"]
    if not isinstance(shape, list) or not all(_natural(dim) for dim in shape):
        raise BadShape(
            "shape must be a list of non-negative integers", file=name, tensor=tensor_name
        )
    offsets = entry["data_offsets"]
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_natural, offsets)):
        raise BadOffsets(
            "data_offsets must be two non-negative integers [begin, end]",
            file=name,
            tensor=tensor_name,
        )
    begin, end = offsets
    if end < begin:
        raise BadOffsets(
            f"data_offsets end {end} is before begin {begin}", file=name, tensor=tensor_name
        )
    return TensorInfo(tensor_name, dtype, tuple(shape), begin, end)


def _expected_bytes(tensor: TensorInfo, *, name: str) -> int:
    elements = 1
    for dim in tensor.shape:
        elements *= dim
        if elements > _U64_MAX:
            raise ShapeOverflow(
                f"shape {list(tensor.shape)!s:.80} overflows 64 bits", file=name, tensor=tensor.name
            )
    bits = elements * DTYPE_BITS[tensor.dtype]
    if bits > _U64_MAX:
        raise ShapeOverflow(
            f"{elements:,} elements of {tensor.dtype} overflow 64 bits",
            file=name,
            tensor=tensor.name,
        )
    if bits % 8:
        raise PartialByte(
            f"{elements:,} elements of {tensor.dtype} are not a whole number of bytes",
            file=name,
            tensor=tensor.name,
        )
    return bits // 8


def check_layout(tensors: list[TensorInfo], data_size: int | None, *, name: str) -> None:
    """Contiguous from 0, no gaps or overlaps, sizes from shapes, ending exactly at EOF."""
    position = 0
    for tensor in tensors:
        if tensor.begin > position:
            raise OffsetsGap(
                f"data starts at {tensor.begin:,} but the previous tensor ends at {position:,}",
                file=name,
                tensor=tensor.name,
            )
        if tensor.begin < position:
            raise OffsetsOverlap(
                f"data [{tensor.begin:,}, {tensor.end:,}) overlaps bytes before {position:,}",
                file=name,
                tensor=tensor.name,
            )
        if data_size is not None and tensor.end > data_size:
            raise TensorPastEof(
                f"data ends at {tensor.end:,}, past the {data_size:,}-byte data buffer",
                file=name,
                tensor=tensor.name,
            )
        expected = _expected_bytes(tensor, name=name)
        if expected != tensor.nbytes:
            raise SizeMismatch(
                f"{tensor.dtype}{list(tensor.shape)!s:.80} needs {expected:,} bytes, "
                f"data_offsets give {tensor.nbytes:,}",
                file=name,
                tensor=tensor.name,
            )
        position = tensor.end
    if data_size is not None and position != data_size:
        raise TrailingBytes(
            f"{data_size - position:,} bytes after the last tensor's data", file=name
        )
