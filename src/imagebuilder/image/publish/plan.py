"""What publish puts in the image besides the model layers, decided before anything
moves (pure functions): the labels, the small files layer and the join step.

The model layers, their order, paths and size limits come from ``image.layers``, the
plan the Dockerfile path uses too, so both paths place every file at the same path and
write the same labels.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from enum import StrEnum

from imagebuilder.image import startplan
from imagebuilder.image.layers import (
    LOCK_DESTINATION,
    MODEL_LABEL_PREFIX,
    PARTS_DIR,
    FileUrl,
    ModelLayerPlan,
    plan_layers,
)
from imagebuilder.oci.tarlayer import small_layer
from imagebuilder.project.config import Config
from imagebuilder.project.lock import Lock

WORKFLOWS_SUBDIR = "user/default/workflows"  # under comfyui_root, as the Dockerfile copies it
JOIN_SCRIPT = "/imagebuilder/join-parts.sh"


class Action(StrEnum):
    REUSED = "reused"  # the target repository already had the blob
    MOUNTED = "mounted"  # linked from another repository of the same registry
    COPIED = "copied"  # streamed from the base image's registry
    UPLOADED = "uploaded"  # streamed from the Hub (or built here) and uploaded
    COMPUTED = "computed"  # --check: digest computed, nothing moved


def model_labels(config: Config, lock: Lock, file_url: FileUrl) -> dict[str, str]:
    """The per-file labels, exactly as the Dockerfile path writes them."""
    return {
        f"{MODEL_LABEL_PREFIX}{layer.name}": layer.label()
        for layer in plan_layers(config, lock, file_url)
    }


def oci_labels(
    base: str, *, source: str, revision: str, version: str, created: str
) -> dict[str, str]:
    """The org.opencontainers.image.* labels of templates/Dockerfile.j2, same keys."""
    return {
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.base.name": base,
    }


def image_lock_json(lock: Lock) -> bytes:
    """The lock as the image carries it (the Dockerfile path copies the same bytes)."""
    return lock.for_image().to_json().encode()


def join_script(plans: list[ModelLayerPlan]) -> bytes:
    """The entrypoint step that joins split files before the image's own command runs.

    Plain POSIX sh (the base only promises that). A file already joined is left alone, so
    a restarted container pays the join once; parts are removed after the join.
    """
    lines = [
        "#!/bin/sh",
        "# Written by `imagebuilder publish --split-large-files`: files too large for one",
        "# registry layer were published as parts; join them, then run the command.",
        "set -eu",
        "join() {",
        '    [ -f "$1" ] && return 0',
        '    mkdir -p "${1%/*}"',
        '    cat "$2"/[0-9][0-9][0-9] > "$1.joining"',
        '    mv "$1.joining" "$1"',
        '    rm -rf "$2" || true',
        "}",
    ]
    for plan in plans:
        if plan.parts:
            destination = "/" + plan.source.layer_path
            parts_dir = f"/{PARTS_DIR}/{plan.source.name}"
            lines.append(f"join {shlex.quote(destination)} {shlex.quote(parts_dir)}")
    lines.append('exec "$@"')
    return ("\n".join(lines) + "\n").encode()


def joined_files(plans: list[ModelLayerPlan]) -> list[startplan.JoinedFile]:
    return [
        startplan.JoinedFile(
            "/" + plan.source.layer_path,
            tuple("/" + part.layer_path for part in plan.parts),
            plan.source.size,
        )
        for plan in plans
        if plan.parts
    ]


def files_layer(
    config: Config, lock: Lock, workflows: Mapping[str, bytes], plans: list[ModelLayerPlan]
) -> bytes:
    """The small last layer: the lock (the image's model index), the workflows, the
    start path (start: in models.yaml; it joins split files), and the plain-sh join step
    (the entrypoint without the start path, or its fallback where the image has no
    Python)."""
    root = config.image.comfyui_root.rstrip("/")
    files = {LOCK_DESTINATION.lstrip("/"): image_lock_json(lock)}
    if startplan.start_settings(config) is not None:
        models = startplan.model_files(plan_layers(config, lock, lambda *_: ""))
        files |= startplan.start_files(config, models, list(workflows), joined_files(plans))
    if any(plan.parts for plan in plans):  # also the start path's fallback without Python
        files[JOIN_SCRIPT.lstrip("/")] = join_script(plans)
    for name, data in sorted(workflows.items()):
        files[f"{root}/{WORKFLOWS_SUBDIR}/{name}".lstrip("/")] = data
    return small_layer(files)
