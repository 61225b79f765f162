"""Content digests, as registries write them: 'sha256:<64 hex>'."""

from __future__ import annotations

import hashlib


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
