"""Find a few small files in a streamed image layer, with every byte counted and bounded.

A layer is a tar, usually gzip-compressed, read here as the registry sends it: the
compressed bytes are counted against a budget shared by every layer of one search,
decompressed through zlib with a cap on the output (a gzip bomb ends at the cap), and the
tar is walked header by header. Only the files asked for are read, each up to its own
limit; everything else is skipped unread. Nothing is written to disk.

Hostile layers end in a ``RegistryError`` that names the layer: not gzip, a broken tar,
a member path that leaves the root (``../``), a wanted file over its limit, the budget
spent. A layer read to its end is checked against its digest.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from imagebuilder.errors import RegistryError

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
_PIECE = 1 << 20  # decompressed bytes produced per step


@dataclass
class ScanBudget:
    """Bytes one search may read: compressed (from the registry) and decompressed."""

    max_compressed: int
    max_decompressed: int
    compressed: int = 0
    decompressed: int = 0
    layers: int = 0

    def spend_compressed(self, count: int, where: str) -> None:
        self.compressed += count
        if self.compressed > self.max_compressed:
            raise RegistryError(
                f"read {self.compressed:,} compressed bytes of the base image's layers "
                f"without finding what was asked (limit {self.max_compressed:,})",
                location=where,
                hint="the base image may not hold ComfyUI where models.yaml says "
                "(image.comfyui_root); check it with `docker run --rm <base> ls /comfyui`",
            )

    def spend_decompressed(self, count: int, where: str) -> None:
        self.decompressed += count
        if self.decompressed > self.max_decompressed:
            raise RegistryError(
                f"layer expands past {self.max_decompressed:,} bytes (a gzip bomb, or a "
                "layer far larger than any ComfyUI install): stopped",
                location=where,
            )


@dataclass
class Wanted:
    """Files to look for: normalized path (no leading '/') -> byte limit."""

    limits: dict[str, int]
    prefixes: dict[str, int] = field(default_factory=dict)  # every file under a folder
    found: dict[str, bytes] = field(default_factory=dict)
    seen_names: list[str] = field(default_factory=list)  # names matching `watch`
    watch: Callable[[str], bool] = field(default=lambda _name: False)
    deleted: set[str] = field(default_factory=set)  # whiteouts seen above


class _Stream(io.RawIOBase):
    """A file object over a registry byte stream: decompressed, counted, capped, hashed."""

    def __init__(self, chunks: Iterator[bytes], budget: ScanBudget, where: str, gzip: bool):
        self._chunks, self._budget, self._where = chunks, budget, where
        self._inflate = zlib.decompressobj(wbits=31) if gzip else None
        self._pending = b""
        self._first = True
        self.hasher = hashlib.sha256()
        self.at_end = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if self.at_end:
                return 0
            self._pending = self._next()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _next(self) -> bytes:
        if self._inflate is not None and self._inflate.unconsumed_tail:
            return self._inflated(self._inflate.unconsumed_tail)
        raw = next(self._chunks, None)
        if raw is None:
            self.at_end = True
            return self._inflate.flush() if self._inflate else b""
        self.hasher.update(raw)
        self._budget.spend_compressed(len(raw), self._where)
        if self._first and self._inflate is not None and not raw.startswith(GZIP_MAGIC):
            raise RegistryError("layer is marked gzip but is not gzip data", location=self._where)
        self._first = False
        return raw if self._inflate is None else self._inflated(raw)

    def _inflated(self, data: bytes) -> bytes:
        """At most one piece of output per call: a bomb never sits whole in memory."""
        assert self._inflate is not None
        try:
            piece = self._inflate.decompress(data, _PIECE)
        except zlib.error as error:
            raise RegistryError(f"layer is corrupt gzip: {error}", location=self._where) from None
        self._budget.spend_decompressed(len(piece), self._where)
        return piece


def _member_path(name: str, where: str) -> str:
    """The member's path under the root, normalized; refused when it leaves the root."""
    bare = name.lstrip("/")
    while bare.startswith("./"):
        bare = bare[2:]
    if any(part == ".." for part in bare.split("/")):
        raise RegistryError(
            f"layer member {name[:200]!a} leaves the image root (a path traversal): refused",
            location=where,
            hint="this base image is malformed or hostile; pin another one",
        )
    return posixpath.normpath(bare) if bare else ""


def scan_layer(
    chunks: Iterator[bytes], *, gzip: bool, wanted: Wanted, budget: ScanBudget, where: str,
    digest: str, done: Callable[[Wanted], bool],
) -> None:  # fmt: skip
    """Walk one layer, filling ``wanted.found``; stop early once ``done`` says so."""
    stream = _Stream(chunks, budget, where, gzip)
    budget.layers += 1
    try:
        with tarfile.open(fileobj=io.BufferedReader(stream, _CHUNK), mode="r|") as tar:
            for member in tar:
                _visit(tar, member, wanted, where)
                if done(wanted):
                    return
    except tarfile.TarError as error:
        raise RegistryError(f"layer is not a valid tar: {error}", location=where) from None
    except EOFError:
        raise RegistryError("layer ends in the middle of a tar entry", location=where) from None
    while not stream.at_end:  # the tar's end padding: read it so the digest can be checked
        if not stream.read(_CHUNK):
            break
    if f"sha256:{stream.hasher.hexdigest()}" != digest:
        raise RegistryError("layer does not match its digest", location=where)


def _visit(tar: tarfile.TarFile, member: tarfile.TarInfo, wanted: Wanted, where: str) -> None:
    path = _member_path(member.name, where)
    folder, base = posixpath.split(path)
    if base.startswith(".wh."):  # a whiteout: the file is deleted in this and lower layers
        gone = posixpath.join(folder, base.removeprefix(".wh."))
        wanted.deleted.add(folder if base == ".wh..wh..opq" else gone)
        return
    if wanted.watch(path) and len(wanted.seen_names) < 64:
        wanted.seen_names.append(path)
    if path in wanted.found or _deleted(path, wanted.deleted) or not member.isfile():
        return
    limit = wanted.limits.get(path)
    if limit is None:
        limit = next((n for p, n in wanted.prefixes.items() if path.startswith(p)), None)
    if limit is None:
        return
    if member.size > limit:
        raise RegistryError(
            f"{path} in the base image is {member.size:,} bytes, over the {limit:,} this "
            "file can be",
            location=where,
        )
    handle = tar.extractfile(member)
    if handle is not None:
        wanted.found[path] = handle.read(limit + 1)[:limit]


def _deleted(path: str, deleted: set[str]) -> bool:
    return any(path == d or path.startswith(f"{d}/") for d in deleted)
