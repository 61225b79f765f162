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
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from imagebuilder.errors import (
    BadMetadata,
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
)
from imagebuilder.weights._layout import (
    DTYPE_BITS,
    TensorInfo,
    check_layout,
    tensor_entry,
    valid_string,
)

__all__ = ["DTYPE_BITS", "Header", "TensorInfo", "header_length", "parse_header"]

LENGTH_PREFIX = 8
DEFAULT_HEADER_CAP = 100_000_000  # the reference reader's limit
# Colons plus commas. A real tensor entry costs about 8-10 (4 keys, the shape's and
# offsets' items), so this admits ~100,000 tensors; the largest real single files hold a
# few thousand. Worst case it bounds json.loads to roughly 100 MB of Python objects.
DEFAULT_MAX_JSON_ITEMS = 1_000_000
DATA_HEAD_LIMIT = 1 << 20  # bytes of the data buffer kept from a read (LoRA alphas live there)
METADATA_KEY = "__metadata__"


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
        (tensor_entry(tensor_name, entry, name=name) for tensor_name, entry in document.items()),
        key=lambda tensor: (tensor.begin, tensor.end),
    )
    data_size = None if file_size is None else file_size - end
    check_layout(tensors, data_size, name=name)
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


def _metadata(value: Any, *, name: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadMetadata(f"{METADATA_KEY} must be an object of strings", file=name)
    for key, item in value.items():
        if not isinstance(item, str):
            raise BadMetadata(
                f"{METADATA_KEY} value of {key[:120]!a} is a {type(item).__name__}, not a string",
                file=name,
            )
        if not (valid_string(key) and valid_string(item)):
            raise BadMetadata(f"{METADATA_KEY} holds an invalid Unicode escape", file=name)
    return value
