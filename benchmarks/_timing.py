"""Reference timings the benchmarks compare against."""

from __future__ import annotations

import hashlib
import os
import time


def sha256_seconds(total: int) -> float:
    """hashlib.sha256 over `total` bytes once (16 MiB buffers, one core)."""
    buffer = os.urandom(16 << 20)
    digest = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(total // len(buffer)):
        digest.update(buffer)
    digest.update(buffer[: total % len(buffer)])
    return time.perf_counter() - started
