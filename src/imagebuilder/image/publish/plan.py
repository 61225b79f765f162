"""What publish will put in the image, decided before anything moves (pure functions).

The model layers, their paths and order come from the same ``image.render.plan_layers`` the
Dockerfile path uses, so both paths place every file at the same path. Labels come
from the same functions too. Layer-size limits are checked here, so a file too big for
the target registry fails in a second instead of after 10 GB of upload.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from imagebuilder.errors import LayerTooLarge
from imagebuilder.image.publish.modelstream import ModelSource
from imagebuilder.image.render import (
    LOCK_DESTINATION,
    MODEL_LABEL_PREFIX,
    FileUrl,
    plan_layers,
)
from imagebuilder.oci.tarlayer import layer_path, small_layer
from imagebuilder.project.config import Config, Registry
from imagebuilder.project.lock import Lock

# Known per-layer limits of public registries (bytes); models.yaml overrides them.
DEFAULT_MAX_LAYER_BYTES: dict[str, int] = {"ghcr.io": 10_000_000_000}
WORKFLOWS_SUBDIR = "user/default/workflows"  # under comfyui_root, as the Dockerfile copies it
PARTS_DIR = "imagebuilder/parts"  # split files: /imagebuilder/parts/<entry>/000, 001, ...
JOIN_SCRIPT = "/imagebuilder/join-parts.sh"
PART_HEADROOM = 1 << 16  # bytes of a part layer's limit left for its tar headers
GB = 1_000_000_000


class Action(StrEnum):
    REUSED = "reused"  # the target repository already had the blob
    MOUNTED = "mounted"  # linked from another repository of the same registry
    COPIED = "copied"  # streamed from the base image's registry
    UPLOADED = "uploaded"  # streamed from the Hub (or built here) and uploaded
    COMPUTED = "computed"  # --check: digest computed, nothing moved


@dataclass(frozen=True)
class ModelLayerPlan:
    """One model file: one layer, or (split) one layer per part."""

    source: ModelSource
    size: int  # exact layer size (tar headers + file + padding)
    cached_digest: str | None  # from the lock: reuse it when the registry has it
    remembered: bool = False  # the digests came from the registry, not the lock
    parts: tuple[ModelSource, ...] = ()  # split: each part is a layer of its own
    remembered_digests: tuple[str, ...] = ()  # one per layer, from a published image

    @property
    def layers(self) -> tuple[ModelSource, ...]:
        return self.parts or (self.source,)

    @property
    def cached_digests(self) -> list[str]:
        """A digest per layer, or [] when any is unknown."""
        if self.remembered_digests:
            return list(self.remembered_digests)
        if self.cached_digest and not self.parts:
            return [self.cached_digest]
        return []


def model_layer_plans(config: Config, lock: Lock, file_url: FileUrl) -> list[ModelLayerPlan]:
    plans = []
    for layer in plan_layers(config, lock, file_url):
        source = ModelSource(
            name=layer.name,
            repo=layer.repo,
            file=layer.file,
            commit=layer.commit,
            sha256=layer.sha256,
            size=layer.size,
            layer_path=layer_path(layer.destination),
        )
        size = source.layout().total_size
        plans.append(ModelLayerPlan(source, size, lock.models[layer.name].layer_digest))
    return plans


def max_layer_bytes(host: str, registries: Mapping[str, Registry]) -> int | None:
    if host in registries:
        return registries[host].max_layer_bytes
    return DEFAULT_MAX_LAYER_BYTES.get(host)


def split_plan(plan: ModelLayerPlan, limit: int) -> ModelLayerPlan:
    """The file as consecutive parts, each a layer under the limit (headers included)."""
    part_bytes = limit - PART_HEADROOM
    source = plan.source
    parts = tuple(
        replace(
            source,
            name=f"{source.name}.part{index:03d}",
            size=min(part_bytes, source.size - offset),
            layer_path=f"{PARTS_DIR}/{source.name}/{index:03d}",
        )
        for index, offset in enumerate(range(0, source.size, part_bytes))
    )
    return replace(plan, parts=parts, cached_digest=None)


def check_layer_limits(
    plans: list[ModelLayerPlan], host: str, limit: int | None, *, split: bool = False
) -> list[ModelLayerPlan]:
    """The plans if every layer fits the limit; split ones with ``split``; else an error."""
    if limit is None:
        return plans
    too_big = [plan for plan in plans if plan.size > limit]
    if not too_big:
        return plans
    if split:
        if limit <= 2 * PART_HEADROOM:
            raise LayerTooLarge(f"{host}'s layer limit of {limit} bytes is too small to split")
        return [split_plan(plan, limit) if plan.size > limit else plan for plan in plans]
    listed = ", ".join(f"{p.source.name} ({p.size / GB:.1f} GB)" for p in too_big)
    raise LayerTooLarge(
        f"{host} accepts layers up to {limit / GB:.1f} GB ({limit:,} bytes), and each model "
        f"file is one layer: {listed}",
        location=f"image.registries.{host}.max_layer_bytes",
        hint="options: `imagebuilder publish --split-large-files` (parts in separate layers, "
        "joined when the container starts); push to a registry with a larger per-layer limit "
        "(ECR takes 52,000 MiB; a self-hosted registry has none) and change image.name; raise "
        "max_layer_bytes in models.yaml if this registry allows more; or keep that file out "
        "of the image and download it at container start",
    )


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


def files_layer(
    config: Config, lock: Lock, workflows: Mapping[str, bytes], plans: list[ModelLayerPlan]
) -> bytes:
    """The small last layer: the lock (the image's model index), the workflows, and the
    join step when a file was split."""
    root = config.image.comfyui_root.rstrip("/")
    files = {LOCK_DESTINATION.lstrip("/"): image_lock_json(lock)}
    if any(plan.parts for plan in plans):
        files[JOIN_SCRIPT.lstrip("/")] = join_script(plans)
    for name, data in sorted(workflows.items()):
        files[f"{root}/{WORKFLOWS_SUBDIR}/{name}".lstrip("/")] = data
    return small_layer(files)
