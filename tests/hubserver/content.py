"""File contents a scenario can declare, each able to stream any byte range lazily."""

from __future__ import annotations

import hashlib
import json
import struct
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

import ml_dtypes
import numpy as np
from safetensors.numpy import save as save_safetensors

from ._bytes import cached_sha256, pseudo_random_range
from ._safetensors import Layout, TensorSpec, build_layout

CHUNK = 256 * 1024
# Real files live in memory; anything bigger must be virtual so a typo cannot eat the RAM.
MAX_REAL_BYTES = 64 * 1024 * 1024
_CACHE_FORMAT = "hubserver-content-v1"

_NUMPY_DTYPES: dict[str, Any] = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "BF16": ml_dtypes.bfloat16,
    "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E5M2": ml_dtypes.float8_e5m2,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


class Content(ABC):
    """Bytes of one file version. Immutable; shared by every commit that keeps the file."""

    @property
    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes [start, end) in pieces of at most a few hundred KiB."""

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """Whole range as bytes: for small files and tests only."""
        return b"".join(self.chunks(start, end))


class BytesContent(Content):
    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def size(self) -> int:
        return len(self.data)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        stop = self.size if end is None else end
        for pos in range(start, stop, CHUNK):
            yield self.data[pos : min(pos + CHUNK, stop)]

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class _LazyHashMixin:
    """Hash generated streams once per spec, on disk, unless the scenario declares it."""

    declared_sha256: str | None
    _hash_lock: threading.Lock

    def _spec_key(self) -> str:
        raise NotImplementedError

    def _lazy_sha256(self, stream: Iterator[bytes]) -> str:
        if self.declared_sha256 is not None:
            return self.declared_sha256
        with self._hash_lock:
            return cached_sha256(self._spec_key(), lambda: stream)


class RawContent(_LazyHashMixin, Content):
    """`raw: {size, seed}`: arbitrary deterministic bytes of any size."""

    def __init__(self, size: int, seed: int, declared_sha256: str | None = None) -> None:
        self._size, self.seed, self.declared_sha256 = size, seed, declared_sha256
        self._hash_lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        stop = self.size if end is None else min(end, self.size)
        for block in pseudo_random_range(self.seed, start, stop):
            yield from BytesContent(block).chunks()

    def _spec_key(self) -> str:
        return _hash_json({"v": _CACHE_FORMAT, "raw": self.size, "seed": self.seed})

    def sha256(self) -> str:
        return self._lazy_sha256(self.chunks())


class VirtualSafetensors(_LazyHashMixin, Content):
    """A safetensors file whose header is exact and whose data is regenerated on demand."""

    def __init__(
        self,
        tensors: Mapping[str, TensorSpec],
        metadata: Mapping[str, str],
        seed: int,
        declared_sha256: str | None = None,
    ) -> None:
        self.tensors, self.metadata, self.seed = dict(tensors), dict(metadata), seed
        self.declared_sha256 = declared_sha256
        self._hash_lock = threading.Lock()

    @cached_property
    def layout(self) -> Layout:
        return build_layout(self.tensors, self.metadata)

    @cached_property
    def _overlays(self) -> list[tuple[int, bytes]]:
        # Constant tensors (alpha, scales) must carry real values: consumers read them.
        patches = [(0, self.layout.header)]
        for _name, spec, start, _end in self.layout.tensors:
            if spec.value is not None and spec.nbytes <= CHUNK:
                patches.append((start, _constant(spec).tobytes()))
        return patches

    @property
    def size(self) -> int:
        return self.layout.size

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        stop = self.size if end is None else min(end, self.size)
        pos = start
        for block in pseudo_random_range(self.seed, start, stop):
            for piece_start in range(0, len(block), CHUNK):
                piece = block[piece_start : piece_start + CHUNK]
                yield self._patch(pos + piece_start, piece)
            pos += len(block)

    def _patch(self, offset: int, piece: bytes) -> bytes:
        end = offset + len(piece)
        out: bytearray | None = None
        for at, data in self._overlays:
            lo, hi = max(at, offset), min(at + len(data), end)
            if lo < hi:
                out = out if out is not None else bytearray(piece)
                out[lo - offset : hi - offset] = data[lo - at : hi - at]
        return bytes(out) if out is not None else piece

    def _spec_key(self) -> str:
        return _hash_json(
            {
                "v": _CACHE_FORMAT,
                "tensors": {k: v.to_json() for k, v in sorted(self.tensors.items())},
                "metadata": self.metadata,
                "seed": self.seed,
            }
        )

    def sha256(self) -> str:
        return self._lazy_sha256(self.chunks())


def real_safetensors(
    tensors: Mapping[str, TensorSpec], metadata: Mapping[str, str], seed: int
) -> BytesContent:
    """A genuine file written by the safetensors library, values from a seeded RNG."""
    layout = build_layout(tensors, metadata)
    if layout.size > MAX_REAL_BYTES:
        raise ValueError(
            f"real safetensors of {layout.size} bytes is too big to build in memory;"
            " use virtual_safetensors (or a generator without real: true)"
        )
    rng = np.random.default_rng(seed)
    arrays = {name: _random_array(spec, rng) for name, spec in sorted(tensors.items())}
    return BytesContent(save_safetensors(arrays, metadata=dict(metadata) or None))


def _random_array(spec: TensorSpec, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    if spec.value is not None:
        return _constant(spec)
    target = _NUMPY_DTYPES.get(spec.dtype)
    if target is None:
        raise ValueError(f"cannot write real tensors of dtype {spec.dtype}")
    if spec.dtype == "BOOL":
        return rng.random(spec.shape) < 0.5
    if spec.dtype[0] in "IU":
        return rng.integers(0, 100, spec.shape).astype(target)
    # Small weights like a trained layer's; F8 saturates gracefully at this scale.
    return (rng.standard_normal(spec.shape, dtype=np.float32) * 0.02).astype(target)


def _constant(spec: TensorSpec) -> np.ndarray[Any, Any]:
    return np.full(spec.shape, spec.value, dtype=np.float32).astype(_NUMPY_DTYPES[spec.dtype])


def _hash_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


def load_tensors(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """Parse a whole safetensors file into arrays, BF16/F8 included (safetensors.numpy can't)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header.pop("__metadata__", None)
    base = 8 + length
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        raw = np.frombuffer(data[base + start : base + end], dtype=_NUMPY_DTYPES[info["dtype"]])
        out[name] = raw.reshape(info["shape"])
    return out
