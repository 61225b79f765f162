"""A file as the Hub describes it: content plus git/LFS identity, possibly a lying one."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ._safetensors import TensorSpec, tensor_spec
from .content import BytesContent, Content, RawContent, VirtualSafetensors, real_safetensors
from .qwen import generate

LFS_THRESHOLD = 1024  # hand-made byte files this big are stored in LFS, like the Hub's defaults


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(eq=False)
class Blob:
    """One file version. `advertised_*` is what the server claims; the bytes are `content`."""

    content: Content
    lfs: bool
    advertised_sha256: str | None = None  # lfs override: the server lies about the hash
    advertised_size: int | None = None  # lfs override: the server lies about the size

    @property
    def size(self) -> int:
        return self.advertised_size if self.advertised_size is not None else self.content.size

    @cached_property
    def sha256(self) -> str:
        return self.advertised_sha256 or self.content.sha256()

    @cached_property
    def pointer(self) -> bytes:
        lines = ["version https://git-lfs.github.com/spec/v1", f"oid sha256:{self.sha256}"]
        return "\n".join([*lines, f"size {self.size}", ""]).encode()

    @cached_property
    def oid(self) -> str:
        """The git blob id: of the pointer for LFS files, of the bytes otherwise."""
        return git_blob_sha1(self.pointer if self.lfs else self.content.read())

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.oid


def blob_from_spec(spec: Mapping[str, Any] | Blob | Content | bytes | str) -> Blob:
    """Build a Blob from a scenario file spec (see scenarios/README in the package docstring)."""
    if isinstance(spec, Blob):
        return spec
    if isinstance(spec, Content):
        return Blob(spec, lfs=True)
    if isinstance(spec, bytes):
        return Blob(BytesContent(spec), lfs=len(spec) >= LFS_THRESHOLD)
    if isinstance(spec, str):
        return Blob(BytesContent(spec.encode()), lfs=False)
    content, default_lfs = _content(spec)
    lfs_spec = spec.get("lfs")
    if isinstance(lfs_spec, bool):
        return Blob(content, lfs=lfs_spec)
    override = lfs_spec if isinstance(lfs_spec, Mapping) else {}
    size = override.get("size")
    return Blob(
        content,
        lfs=default_lfs or bool(override),
        advertised_sha256=override.get("sha256"),
        advertised_size=None if size is None else int(size),
    )


def _content(spec: Mapping[str, Any]) -> tuple[Content, bool]:
    declared = spec.get("sha256")
    seed = int(spec.get("seed", 0))
    if "text" in spec:
        return BytesContent(str(spec["text"]).encode()), False
    if "bytes_b64" in spec:
        data = base64.b64decode(spec["bytes_b64"])
        return BytesContent(data), len(data) >= LFS_THRESHOLD
    if "raw" in spec:
        raw = spec["raw"]
        return RawContent(int(raw["size"]), int(raw.get("seed", seed)), declared), True
    if "safetensors" in spec:
        tensors, metadata, seed = _tensors(spec["safetensors"], seed)
        return real_safetensors(tensors, metadata, seed), True
    if "virtual_safetensors" in spec:
        tensors, metadata, seed = _tensors(spec["virtual_safetensors"], seed)
        return VirtualSafetensors(tensors, metadata, seed, declared), True
    if "generator" in spec:
        tensors, metadata = generate(str(spec["generator"]), spec.get("args"))
        metadata = {**metadata, **{k: str(v) for k, v in (spec.get("metadata") or {}).items()}}
        if spec.get("real", False):
            return real_safetensors(tensors, metadata, seed), True
        return VirtualSafetensors(tensors, metadata, seed, declared), True
    raise ValueError(f"file spec needs one of text/bytes_b64/raw/safetensors/generator: {spec!r}")


def _tensors(
    body: Mapping[str, Any], seed: int
) -> tuple[dict[str, TensorSpec], dict[str, str], int]:
    tensors = {str(k): tensor_spec(v) for k, v in (body.get("tensors") or {}).items()}
    metadata = {str(k): str(v) for k, v in (body.get("metadata") or {}).items()}
    return tensors, metadata, int(body.get("seed", seed))
