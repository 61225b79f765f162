"""Read safetensors headers from the Hub (HTTP Range) or from disk, through the strict parser.

Remote: one ranged read of ``FIRST_READ`` bytes holds the whole header of nearly every
real file (the Qwen stack's largest header is ~250 KB); only a longer header costs a
second read, of exactly the missing bytes. N is validated against the cap and the size
the Hub reports before the second read, so a forged length never makes us fetch more.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from imagebuilder.errors import ChecksumMismatch, FileSizeMismatch, FileTooShort, HeaderPastEof
from imagebuilder.weights.header import (
    DEFAULT_HEADER_CAP,
    LENGTH_PREFIX,
    Header,
    header_length,
    parse_header,
)

FIRST_READ = 1 << 20
_HASH_CHUNK = 8 << 20


class RangeReader(Protocol):
    """What we need from ``hub.Hub``: bytes [start, start+length) of a file at a commit."""

    def read_range(self, repo: str, path: str, commit: str, start: int, length: int) -> bytes: ...


def remote_name(repo: str, path: str, commit: str) -> str:
    return f"{repo}@{commit[:12]}/{path}"


def fetch_header(
    hub: RangeReader,
    repo: str,
    path: str,
    commit: str,
    expected_size: int,
    *,
    cap: int = DEFAULT_HEADER_CAP,
    first_read: int = FIRST_READ,
) -> Header:
    """The validated header of a Hub file; ``expected_size`` is the size the Hub reports.

    The header's layout must account for exactly ``expected_size`` bytes.
    """
    name = remote_name(repo, path, commit)
    if expected_size < LENGTH_PREFIX:
        raise FileTooShort(f"the Hub reports {expected_size} bytes", file=name)
    prefix = hub.read_range(repo, path, commit, 0, min(first_read, expected_size))
    _check_served(prefix, min(first_read, expected_size), name)
    length = header_length(prefix, expected_size, name=name, cap=cap)
    needed = LENGTH_PREFIX + length
    if needed > len(prefix):
        rest = hub.read_range(repo, path, commit, len(prefix), needed - len(prefix))
        _check_served(rest, needed - len(prefix), name)
        prefix += rest
    return parse_header(prefix, expected_size, name=name, cap=cap)


def _check_served(data: bytes, asked: int, name: str) -> None:
    if len(data) < asked:
        raise HeaderPastEof(
            f"asked for {asked:,} bytes, the server sent {len(data):,}: the file is shorter "
            "than the Hub reports",
            file=name,
        )


def read_local_header(path: Path, *, cap: int = DEFAULT_HEADER_CAP) -> Header:
    """The validated header of a file on disk; reads 8 + N bytes (plus a little data)."""
    name = str(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(min(FIRST_READ, size))
        length = header_length(prefix, size, name=name, cap=cap)
        needed = LENGTH_PREFIX + length
        if needed > len(prefix):
            prefix += handle.read(needed - len(prefix))
    return parse_header(prefix, size, name=name, cap=cap)


def sha256_file(path: Path) -> str:
    """Streaming sha256: memory stays at one chunk whatever the file size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_local_file(path: Path, *, sha256: str, size: int | None = None) -> None:
    """Size (cheap, first) and sha256 of a local file against the lock's values."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise FileSizeMismatch(
            f"file has {actual_size:,} bytes, the lock says {size:,}",
            location=str(path),
            hint="the download is incomplete or a different file; fetch it again",
        )
    actual = sha256_file(path)
    if actual != sha256:
        raise ChecksumMismatch(
            f"sha256 {actual} differs from the pinned {sha256}",
            location=str(path),
            hint="the file is corrupt or not the pinned release; fetch it again",
        )
