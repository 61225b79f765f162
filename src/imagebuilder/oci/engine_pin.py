"""The engine record of a lock: learned from the base image once per base digest.

A base digest names immutable bytes, so what it says about ComfyUI never changes: the
lock keeps it (a re-lock with the same base reads nothing), and a small cache file per
digest serves every other command that asks about the same base (check-updates asks
about each candidate tag's digest). The cache lives in ``$IMAGEBUILDER_CACHE_DIR``, else
``$XDG_CACHE_HOME/imagebuilder``, else ``~/.cache/imagebuilder``; deleting it is safe.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from imagebuilder.oci.auth import RegistryRole
from imagebuilder.oci.base_engine import BaseEngine, read_base_engine
from imagebuilder.oci.client import RegistryClient, open_registry
from imagebuilder.oci.reference import parse_reference
from imagebuilder.project.atomic import atomic_write_text
from imagebuilder.project.config import ImageSettings
from imagebuilder.project.engine import EngineLock, EngineSource

CACHE_ENV = "IMAGEBUILDER_CACHE_DIR"
_MAX_CACHE_FILE = 64 << 10
OpenRegistry = Callable[[str], RegistryClient]


def open_base_registry(host: str) -> RegistryClient:
    """The base's registry, with the base registry's credentials only (never the target's)."""
    return open_registry(host, RegistryRole.BASE)


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "imagebuilder"


def _cache_file(digest: str, root: str) -> Path:
    safe_root = root.strip("/").replace("/", "_") or "root"
    return cache_dir() / "engines" / f"{digest.replace(':', '-')}-{safe_root}.json"


def cached_engine(base: str, digest: str, root: str) -> EngineLock | None:
    """The record a previous read left for this digest, if it is there and intact."""
    path = _cache_file(digest, root)
    try:
        if path.stat().st_size > _MAX_CACHE_FILE:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        record = EngineLock.model_validate({**data, "base": base})
    except (OSError, ValueError, ValidationError, RecursionError):
        return None  # absent or damaged: read the base again
    return record


def remember(record: EngineLock, digest: str, root: str) -> None:
    path = _cache_file(digest, root)
    with contextlib.suppress(OSError):  # a cache that cannot be written costs a re-read
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, record.model_dump_json(exclude={"base"}) + "\n")


def engine_of_base(
    base: str, comfyui_root: str, open_client: OpenRegistry = open_base_registry
) -> EngineLock:
    """The engine record of ``base`` (pinned by digest): cached, else read from its registry."""
    ref = parse_reference(base)
    key = ref.digest or ""
    if key:
        cached = cached_engine(base, key, comfyui_root)
        if cached is not None:
            return cached
    client = open_client(ref.api_host)
    try:
        found = read_base_engine(client, ref, comfyui_root)
    finally:
        client.close()
    record = as_lock_record(base, found)
    if key:
        remember(record, key, comfyui_root)
    return record


def as_lock_record(base: str, found: BaseEngine) -> EngineLock:
    return EngineLock(
        source=EngineSource.BASE,
        base=base,
        comfyui_version=found.comfyui_version,
        commit=found.commit,
        python=found.python,
        torch=found.torch,
        sources={**found.sources, "manifest": found.base},
        bytes_read=found.bytes_read,
    )


def pin_engine(
    image: ImageSettings, previous: EngineLock | None,
    open_client: OpenRegistry = open_base_registry,
) -> EngineLock | None:  # fmt: skip
    """The lock's engine: None when models.yaml does not pin one; the previous record
    when the base did not move (nothing is read); else learned from the base."""
    if image.comfyui is None:
        return None
    if previous is not None and previous.base == image.base:
        return previous
    return engine_of_base(image.base, image.comfyui_root, open_client)
