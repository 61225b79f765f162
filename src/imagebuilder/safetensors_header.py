"""A strict safetensors header parser: pure functions over bytes, for remote and local reads.

Layout: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON, then the data buffer. Every
rule the reference (Rust) reader enforces is enforced here, plus the spec's two it skips:

- the JSON must start with ``{`` at byte 8 (no leading whitespace, no BOM), and after the
  closing ``}`` only spaces (0x20) may follow: writers pad to a multiple of 8 with spaces;
- duplicate keys are rejected, at any level (serde silently keeps the last one).

Stricter than the reference reader on purpose: unknown fields in a tensor entry,
``"__metadata__": null`` and lone UTF-16 surrogates in strings are rejected.

Bounded work whatever the input: N is checked against ``cap`` before anything is read or
parsed, and one C-speed scan counts colons and commas (an upper bound on the JSON's keys
and list items) before ``json.loads`` builds a single object, so an entry flood is refused in
milliseconds per megabyte instead of costing gigabytes of Python objects.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from imagebuilder.errors import (
    BadMetadata,
    BadOffsets,
    BadShape,
    BadTensorEntry,
    DuplicateKey,
    FileTooShort,
    HeaderBadPadding,
    HeaderBadStart,
    HeaderEntryFlood,
    HeaderNotJson,
    HeaderNotObject,
    HeaderNotUtf8,
    HeaderPastEof,
    HeaderTooLarge,
    OffsetsGap,
    OffsetsOverlap,
    PartialByte,
    ShapeOverflow,
    SizeMismatch,
    TensorPastEof,
    TrailingBytes,
    UnknownDtype,
)

LENGTH_PREFIX = 8
DEFAULT_HEADER_CAP = 100_000_000  # the reference reader's limit
# Colons plus commas. A real tensor entry costs about 8-10 (4 keys, the shape's and
# offsets' items), so this admits ~100,000 tensors; the largest real single files hold a
# few thousand. Worst case it bounds json.loads to roughly 100 MB of Python objects.
DEFAULT_MAX_JSON_ITEMS = 1_000_000
DATA_HEAD_LIMIT = 1 << 20  # bytes of the data buffer kept from a read (LoRA alphas live there)
METADATA_KEY = "__metadata__"
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


@dataclass(frozen=True)
class Header:
    """A validated header: tensors in data order, metadata, and what of the data we hold."""

    name: str  # file name or repo@commit/path, used in every message
    header_length: int  # N
    tensors: tuple[TensorInfo, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    data_head: bytes = b""  # first bytes of the data buffer, if the read already had them

    @property
    def data_start(self) -> int:
        return LENGTH_PREFIX + self.header_length

    @property
    def data_size(self) -> int:
        return self.tensors[-1].end if self.tensors else 0

    @property
    def file_size(self) -> int:
        return self.data_start + self.data_size

    @cached_property
    def by_name(self) -> dict[str, TensorInfo]:
        return {tensor.name: tensor for tensor in self.tensors}

    def tensor_bytes(self, name: str) -> bytes | None:
        """The raw bytes of a tensor, when they lie inside ``data_head``; None otherwise."""
        tensor = self.by_name.get(name)
        if tensor is None or tensor.end > len(self.data_head):
            return None
        return self.data_head[tensor.begin : tensor.end]


def header_length(prefix: bytes, file_size: int | None, *, name: str, cap: int) -> int:
    """N from the first 8 bytes, checked against the cap and the file size before any read."""
    if len(prefix) < LENGTH_PREFIX or (file_size is not None and file_size < LENGTH_PREFIX):
        raise FileTooShort("file is shorter than the 8-byte header length", file=name)
    (length,) = struct.unpack("<Q", prefix[:LENGTH_PREFIX])
    if length > cap:
        raise HeaderTooLarge(f"header length {length:,} is over the {cap:,}-byte cap", file=name)
    if file_size is not None and LENGTH_PREFIX + length > file_size:
        raise HeaderPastEof(
            f"header length {length:,} runs past the end of the {file_size:,}-byte file",
            file=name,
        )
    return int(length)


def parse_header(
    prefix: bytes,
    file_size: int | None,
    *,
    name: str,
    cap: int = DEFAULT_HEADER_CAP,
    max_json_items: int = DEFAULT_MAX_JSON_ITEMS,
) -> Header:
    """Validate and parse a header from the file's first bytes (at least 8 + N of them).

    ``file_size`` is the whole file's size (None: unknown, skip the end-of-file rules).
    Raises one ``SafetensorsRuleBroken`` subclass per rule, naming file and tensor.
    """
    length = header_length(prefix, file_size, name=name, cap=cap)
    end = LENGTH_PREFIX + length
    if len(prefix) < end:
        raise HeaderPastEof(
            f"only {len(prefix):,} bytes available, the header needs {end:,}", file=name
        )
    raw = prefix[LENGTH_PREFIX:end]
    document = _decode(raw, name=name, max_json_items=max_json_items)
    metadata = _metadata(document.pop(METADATA_KEY, {}), name=name)
    tensors = sorted(
        (_tensor(tensor_name, entry, name=name) for tensor_name, entry in document.items()),
        key=lambda tensor: (tensor.begin, tensor.end),
    )
    data_size = None if file_size is None else file_size - end
    _check_layout(tensors, data_size, name=name)
    return Header(
        name=name,
        header_length=length,
        tensors=tuple(tensors),
        metadata=metadata,
        data_head=prefix[end : end + DATA_HEAD_LIMIT],
    )


def _decode(raw: bytes, *, name: str, max_json_items: int) -> dict[str, Any]:
    # Colons and commas anywhere (inside strings too) bound the keys and list items from
    # above; counting them is a C-speed scan, so a flood costs no Python objects at all.
    count = raw.count(b":") + raw.count(b",")
    if count > max_json_items:
        raise HeaderEntryFlood(
            f"header holds up to {count:,} JSON keys and items, over the limit of "
            f"{max_json_items:,}: an entry flood",
            file=name,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HeaderNotUtf8(
            f"header is not valid UTF-8 (byte {error.start + LENGTH_PREFIX})", file=name
        ) from None
    if not text.startswith("{"):
        raise HeaderBadStart("header must start with '{' (no leading whitespace)", file=name)
    body = text.rstrip(" ")
    if not body.endswith("}"):
        raise HeaderBadPadding("header must end with '}' followed only by space padding", file=name)
    try:
        document = json.loads(
            body, object_pairs_hook=_unique_keys(name), parse_constant=_no_constant
        )
    except (ValueError, RecursionError) as error:
        raise HeaderNotJson(f"header is not valid JSON: {_short(error)}", file=name) from None
    if not isinstance(document, dict):
        raise HeaderNotObject(
            f"header JSON is a {type(document).__name__}, not an object", file=name
        )
    return document


def _unique_keys(name: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built = dict(pairs)
        if len(built) != len(pairs):
            seen: set[str] = set()
            for key, _value in pairs:
                if key in seen:
                    raise DuplicateKey(f"key {key[:120]!a} appears twice", file=name, tensor=key)
                seen.add(key)
        return built

    return hook


def _no_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _short(error: BaseException) -> str:
    return str(error)[:200] or type(error).__name__


def _valid_string(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape
        return False
    return True


def _metadata(value: Any, *, name: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadMetadata(f"{METADATA_KEY} must be an object of strings", file=name)
    for key, item in value.items():
        if not isinstance(item, str):
            raise BadMetadata(
                f"{METADATA_KEY} value of {key[:120]!a} is a {type(item).__name__}, not a string",
                file=name,
            )
        if not (_valid_string(key) and _valid_string(item)):
            raise BadMetadata(f"{METADATA_KEY} holds an invalid Unicode escape", file=name)
    return value


def _natural(value: Any) -> bool:
    return type(value) is int and 0 <= value <= _U64_MAX


def _tensor(tensor_name: str, entry: Any, *, name: str) -> TensorInfo:
    if not _valid_string(tensor_name):
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


def _check_layout(tensors: list[TensorInfo], data_size: int | None, *, name: str) -> None:
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
