"""The strict parser: a malformed corpus, genuine library files, and hypothesis vs the library."""

from __future__ import annotations

import json
import struct
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, cast

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import SafetensorError
from safetensors import deserialize as library_deserialize
from safetensors.numpy import save

from imagebuilder import errors
from imagebuilder.errors import ExitCode, SafetensorsRuleBroken
from imagebuilder.weights.header import parse_header
from imagebuilder.weights.inspection import Precision, summarize

# The library's binding has no annotations: one typed name for the oracle call.
_deserialize = cast(Callable[[bytes], list[Any]], library_deserialize)


def build(header: Any, data: bytes = b"", *, length: int | None = None, pad: bool = True) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def entry(dtype: str, shape: list[Any], begin: Any, end: Any) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def parse(blob: bytes, **kwargs: Any) -> Any:
    return parse_header(blob, len(blob), name="bad.safetensors", **kwargs)


GOOD = {"a": entry("F32", [2], 0, 8), "b": entry("U8", [4], 8, 12)}

CORPUS: list[tuple[str, bytes, type[SafetensorsRuleBroken], str | None]] = [
    ("shorter than 8 bytes", b"\x01\x00", errors.FileTooShort, None),
    ("forged huge length", struct.pack("<Q", 2**63) + b"{}", errors.HeaderTooLarge, None),
    ("header past eof", build(GOOD, bytes(12), length=10_000), errors.HeaderPastEof, None),
    ("bad utf-8", build(b'{"\xff\xfe":{}}'), errors.HeaderNotUtf8, None),
    ("leading space", build(b' {"a":1}'), errors.HeaderBadStart, None),
    ("newline padding", build(b'{}\n', pad=False), errors.HeaderBadPadding, None),
    ("not json", build(b"{nope}"), errors.HeaderNotJson, None),
    ("NaN constant", build(b'{"a":NaN}'), errors.HeaderNotJson, None),
    ("not an object", build(b"[1]"), errors.HeaderBadStart, None),
    ("object then junk", build(b'{"a":1} x}'), errors.HeaderNotJson, None),
    ("non-string metadata", build({"__metadata__": {"k": 1}}), errors.BadMetadata, None),
    ("null metadata", build({"__metadata__": None}), errors.BadMetadata, None),
    ("duplicate names", build(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                              b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0"),
     errors.DuplicateKey, "a"),
    ("duplicate field", build(b'{"a":{"dtype":"U8","dtype":"U8","shape":[1],'
                              b'"data_offsets":[0,1]}}', b"\0"), errors.DuplicateKey, "dtype"),
    ("entry not object", build({"a": [1]}), errors.BadTensorEntry, "a"),
    ("extra field", build({"a": {**entry("U8", [1], 0, 1), "x": 1}}, b"\0"),
     errors.BadTensorEntry, "a"),
    ("unknown dtype F8_E4M3FN", build({"w": entry("F8_E4M3FN", [1], 0, 1)}, b"\0"),
     errors.UnknownDtype, "w"),
    ("negative shape", build({"w": entry("U8", [-1], 0, 1)}, b"\0"), errors.BadShape, "w"),
    ("float shape", build({"w": entry("U8", [1.0], 0, 1)}, b"\0"), errors.BadShape, "w"),
    ("bool shape", build({"w": entry("U8", [True], 0, 1)}, b"\0"), errors.BadShape, "w"),
    ("negative offset", build({"w": entry("U8", [1], -1, 0)}, b"\0"), errors.BadOffsets, "w"),
    ("inverted offsets", build({"w": entry("U8", [0], 1, 0)}, b"\0"), errors.BadOffsets, "w"),
    ("offset over u64", build({"w": entry("U8", [1], 0, 2**64)}), errors.BadOffsets, "w"),
    ("gapped offsets", build({"a": entry("U8", [1], 0, 1), "b": entry("U8", [1], 2, 3)}, bytes(3)),
     errors.OffsetsGap, "b"),
    ("overlapping offsets", build({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 1, 3)},
                                  bytes(3)), errors.OffsetsOverlap, "b"),
    ("first tensor not at 0", build({"a": entry("U8", [1], 1, 2)}, bytes(2)), errors.OffsetsGap,
     "a"),
    ("out-of-file offsets", build({"a": entry("U8", [8], 0, 8)}, bytes(4)), errors.TensorPastEof,
     "a"),
    ("trailing bytes", build(GOOD, bytes(13)), errors.TrailingBytes, None),
    ("shape-size mismatch", build({"a": entry("F32", [3], 0, 8)}, bytes(8)), errors.SizeMismatch,
     "a"),
    ("overflowing shape", build({"a": entry("U8", [2**32, 2**32], 0, 1)}, b"\0"),
     errors.ShapeOverflow, "a"),
    ("overflowing bits", build({"a": entry("F64", [2**62], 0, 1)}, b"\0"), errors.ShapeOverflow,
     "a"),
    ("partial byte", build({"a": entry("F4", [3], 0, 1)}, b"\0"), errors.PartialByte, "a"),
    ("deep nesting", build(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
     errors.HeaderNotJson, None),
    ("lone surrogate name", build(b'{"\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
                                  b"\0"), errors.BadTensorEntry, None),
]  # fmt: skip


@pytest.mark.parametrize(("label", "blob", "error", "tensor"), CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_file_rejected_with_its_own_rule(
    label: str, blob: bytes, error: type[SafetensorsRuleBroken], tensor: str | None
) -> None:
    with pytest.raises(SafetensorsRuleBroken) as caught:
        parse(blob)
    assert type(caught.value) is error, caught.value.render()
    assert caught.value.exit_code == ExitCode.UNSAFE_FILE
    assert caught.value.tensor == tensor
    rendered = caught.value.render()
    assert "bad.safetensors" in rendered and f"[rule {error.rule}]" in rendered


def test_each_rule_has_its_own_id() -> None:
    rules = [cls.rule for cls in SafetensorsRuleBroken.__subclasses__()]
    assert len(rules) == len(set(rules))


def test_hostile_tensor_name_is_escaped_in_messages() -> None:
    name = "\x1b[31mevil\n" + "x" * 500
    blob = build({name: entry("U8", [1], 0, 2)}, bytes(2))
    with pytest.raises(errors.SizeMismatch) as caught:
        parse(blob)
    rendered = caught.value.render()
    assert "\x1b" not in rendered and "\\x1b" in rendered and len(rendered) < 700


def _tensor_flood() -> bytes:
    tiny = '"t{}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'
    return build(("{" + ",".join(tiny.format(i) for i in range(1_000_000)) + "}").encode())


def _metadata_flood() -> bytes:
    pairs = ",".join(f'"k{i}":""' for i in range(2_000_000))
    return build(('{"__metadata__":{' + pairs + "}}").encode())


def _shape_flood() -> bytes:
    return build(b'{"a":{"dtype":"U8","shape":[' + b"1," * 5_000_000 + b'1],"data_offsets":[0,1]}}')


@pytest.mark.parametrize(
    "make", [_tensor_flood, _metadata_flood, _shape_flood], ids=["tensors", "metadata", "shape"]
)
def test_entry_flood_rejected_in_bounded_time_and_memory(make: Any) -> None:
    blob = make()
    assert len(blob) < 100_000_000  # under the header cap: only the flood rule stops it
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(errors.HeaderEntryFlood):
            parse(blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5  # a safety bound; throughput is benchmarked
    assert peak < 2 * len(blob) + 10_000_000  # no Python object per entry


def test_header_cap_is_configurable() -> None:
    blob = build(GOOD, bytes(12))
    assert len(parse(blob).tensors) == 2
    with pytest.raises(errors.HeaderTooLarge):
        parse(blob, cap=16)


DTYPES = {
    "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E5M2": ml_dtypes.float8_e5m2,
    "BF16": ml_dtypes.bfloat16,
    "F16": np.float16,
    "F32": np.float32,
}
EXPECTED = {
    "F8_E4M3": Precision.FP8_E4M3,
    "F8_E5M2": Precision.FP8_E5M2,
    "BF16": Precision.BF16,
    "F16": Precision.FP16,
    "F32": Precision.FP32,
}


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_library_written_files_pass_and_are_classified(dtype: str) -> None:
    arrays = {
        "transformer_blocks.0.attn.to_q.weight": np.zeros((8, 4), dtype=DTYPES[dtype]),
        "norm.weight": np.zeros(4, dtype=np.float32),
    }
    blob = save(arrays, metadata={"format": "pt"})
    header = parse_header(blob, len(blob), name=f"{dtype}.safetensors")
    assert {t.name: (t.dtype, t.shape) for t in header.tensors} == {
        "transformer_blocks.0.attn.to_q.weight": (dtype, (8, 4)),
        "norm.weight": ("F32", (4,)),
    }
    assert header.metadata == {"format": "pt"}
    assert header.file_size == len(blob)
    assert summarize(header).precision is EXPECTED[dtype]


# --- hypothesis: the parser and the safetensors library agree on validity ---------------

_SAFE_DTYPES = ["U8", "I16", "F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2", "F4", "BOOL"]
_BITS = {"U8": 8, "I16": 16, "F16": 16, "BF16": 16, "F32": 32, "F64": 64, "F8_E4M3": 8,
         "F8_E5M2": 8, "F4": 4, "BOOL": 8}  # fmt: skip


@st.composite
def candidate_files(draw: st.DrawFn) -> bytes:
    """Mostly-valid files with one optional corruption; never inputs where we are stricter
    than the library on purpose (leading whitespace, duplicates, extra fields)."""
    names = draw(st.lists(st.text("abcxyz._0123", min_size=1, max_size=6), max_size=5, unique=True))
    header: dict[str, Any] = {}
    offset = 0
    for name in names:
        dtype = draw(st.sampled_from(_SAFE_DTYPES))
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        nbytes = int(np.prod(shape)) * _BITS[dtype] // 8
        header[name] = entry(dtype, shape, offset, offset + nbytes)
        offset += nbytes
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.dictionaries(st.text(max_size=3), st.text(max_size=3)))
    data_size = offset
    corruption = draw(st.sampled_from(["none", "offset", "shape", "data", "dtype", "length"]))
    tensors = list(names)
    if corruption == "offset" and tensors:
        victim = header[draw(st.sampled_from(tensors))]
        victim["data_offsets"][draw(st.integers(0, 1))] += draw(st.sampled_from([-1, 1, 7]))
    elif corruption == "shape" and tensors:
        header[draw(st.sampled_from(tensors))]["shape"].append(draw(st.integers(0, 3)))
    elif corruption == "data":
        data_size += draw(st.sampled_from([-1, 1]))
    elif corruption == "dtype" and tensors:
        header[draw(st.sampled_from(tensors))]["dtype"] = draw(st.sampled_from(["F8_E4M3FN", "u8"]))
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    length = len(raw) + (draw(st.sampled_from([-1, 1, 1000])) if corruption == "length" else 0)
    return struct.pack("<Q", max(length, 0)) + raw + bytes(max(data_size, 0))


def _library_accepts(blob: bytes) -> bool:
    try:
        _deserialize(blob)
    except (SafetensorError, Exception):
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_files())
def test_parser_agrees_with_the_library(blob: bytes) -> None:
    try:
        parse(blob)
        ours = True
    except SafetensorsRuleBroken:
        ours = False
    assert ours == _library_accepts(blob)
