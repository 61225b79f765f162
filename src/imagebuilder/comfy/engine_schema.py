"""One /object_info snapshot per ComfyUI version, side by side, and the one of the engine.

A node schema belongs to the ComfyUI it was read from: 0.3.64 has no
``index_timestep_zero`` option, 0.5.0 has. When models.yaml pins the engine, the graphs
are checked against the snapshot of exactly that version,
``workflows/schema/object_info-<version>.json``; the unversioned ``object_info.json``
serves when it records that same version (or when no engine is pinned). No snapshot for
the locked version is an error that names the refresh command: checking against another
version's schema would pass graphs the image cannot run.
"""

from __future__ import annotations

import json
from pathlib import Path

from imagebuilder.comfy.node_schema import NodeSchema
from imagebuilder.comfy.object_info import MAX_SNAPSHOT_BYTES, SNAPSHOT, load_snapshot
from imagebuilder.errors import WorkflowError

REFRESH = "imagebuilder check-workflows --refresh-object-info http://WORKER:8188"


def versioned_snapshot(templates_dir: Path, version: str) -> Path:
    return templates_dir / SNAPSHOT.parent / f"object_info-{version}.json"


def snapshot_version(path: Path) -> str | None:
    """The ComfyUI version a snapshot file records (None: unknown or unreadable)."""
    try:
        if path.stat().st_size > MAX_SNAPSHOT_BYTES:
            return None
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    comfyui = document.get("comfyui") if isinstance(document, dict) else None
    version = comfyui.get("version") if isinstance(comfyui, dict) else None
    return version if isinstance(version, str) else None


def available_versions(templates_dir: Path) -> list[str]:
    folder = templates_dir / SNAPSHOT.parent
    found = {p.name.removeprefix("object_info-").removesuffix(".json")
             for p in folder.glob("object_info-*.json")}  # fmt: skip
    plain = snapshot_version(templates_dir / SNAPSHOT)
    if plain:
        found.add(plain)
    return sorted(found)


def engine_snapshot_path(templates_dir: Path, version: str) -> Path:
    """Where the snapshot of ``version`` is (or is to be written)."""
    versioned = versioned_snapshot(templates_dir, version)
    plain = templates_dir / SNAPSHOT
    if not versioned.is_file() and snapshot_version(plain) == version:
        return plain
    return versioned


def schema_for_engine(templates_dir: Path, version: str, label: str) -> tuple[NodeSchema, Path]:
    """The snapshot of the locked engine; a WorkflowError naming what is there otherwise."""
    path = engine_snapshot_path(templates_dir, version)
    schema = load_snapshot(path)
    if schema is None:
        there = available_versions(templates_dir)
        have = f"snapshots here are of ComfyUI {', '.join(there)}" if there else "none here"
        raise WorkflowError(
            f"no node schema of {label}, the locked engine ({have}): the workflows cannot "
            "be checked against the ComfyUI the image runs",
            location=str(path),
            hint=f"run a worker of this image and refresh: {REFRESH}",
        )
    return schema, path


def require_snapshot_of(path: Path, version: str, label: str) -> None:
    """An explicit ``--object-info FILE`` must describe the locked engine's version."""
    recorded = snapshot_version(path)
    if recorded != version:
        raise WorkflowError(
            f"the snapshot is of ComfyUI {recorded or 'an unknown version'}, the locked "
            f"engine is {label}: its node schema may differ",
            location=str(path),
            hint=f"check against the engine's own snapshot, or refresh it: {REFRESH}",
        )
