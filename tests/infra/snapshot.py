"""What a run that must write nothing is checked against."""

from __future__ import annotations

from pathlib import Path


def project_bytes(config: Path) -> tuple[bytes, bytes]:
    """models.yaml and its lock beside it, byte for byte."""
    return config.read_bytes(), config.with_name("models.lock.json").read_bytes()
