"""Deterministic pseudo-random bytes addressable by offset, and a disk cache for their hashes.

Virtual and raw files are never materialised: any byte range is regenerated on demand from
(seed, block index), so serving the first 100 kB of a "20 GB" file costs 100 kB of work.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

BLOCK = 1 << 20  # regeneration granularity; big enough that numpy's per-call cost vanishes

DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / ".cache"


def _block(seed: int, index: int) -> bytes:
    return np.random.Generator(np.random.PCG64([seed & 0xFFFFFFFF, index])).bytes(BLOCK)


def pseudo_random_range(seed: int, start: int, end: int) -> Iterator[bytes]:
    """Yield the bytes [start, end) of the infinite stream defined by `seed`, block by block."""
    pos = start
    while pos < end:
        index, inner = divmod(pos, BLOCK)
        take = min(BLOCK - inner, end - pos)
        yield _block(seed, index)[inner : inner + take]
        pos += take


def cache_dir() -> Path:
    # An env override lets CI point every worker at one shared, persistent cache.
    return Path(os.environ.get("HUBSERVER_CACHE_DIR", DEFAULT_CACHE_DIR))


def cached_sha256(key: str, chunks: Callable[[], Iterator[bytes]]) -> str:
    """sha256 of a lazily generated stream, computed once per spec and kept on disk."""
    path = cache_dir() / f"{key}.sha256"
    try:
        value = path.read_text().strip()
        if len(value) == 64:
            return value
    except OSError:
        pass
    digest = hashlib.sha256()
    for chunk in chunks():
        digest.update(chunk)
    value = digest.hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(value + "\n")
    tmp.replace(path)  # atomic, so parallel test workers never read half a hash
    return value
