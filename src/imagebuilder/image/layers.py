"""The layer plan both image paths use: which model layers, in which order, where each
file goes, and what a registry's per-layer limit allows.

The Docker Engine path (``render``, ``build``) and the registry path (``publish``)
both start here, so both put every file at the same path, in the same order, with the
same labels, and refuse (or split) a file too large for the target registry alike.
Pure: no Docker, no network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import PurePosixPath

from imagebuilder.errors import LayerTooLarge
from imagebuilder.oci.reference import parse_reference
from imagebuilder.oci.tarlayer import LayerEntry, LayerLayout, layer_path, layout_for
from imagebuilder.project.config import Config, Registry, Role
from imagebuilder.project.lock import Lock
from imagebuilder.project.pins import Pin

FileUrl = Callable[[str, str, str], str]  # (repo, path, commit) -> immutable URL

MODEL_LABEL_PREFIX = "io.imagebuilder.model."
LOCK_DESTINATION = "/imagebuilder/models.lock.json"  # the image's model index, both paths
# Known per-layer limits of public registries (bytes); models.yaml overrides them.
DEFAULT_MAX_LAYER_BYTES: dict[str, int] = {"ghcr.io": 10_000_000_000}
PARTS_DIR = "imagebuilder/parts"  # split files: /imagebuilder/parts/<entry>/000, 001, ...
PART_HEADROOM = 1 << 16  # bytes of a part layer's limit left for its tar headers
PART_ALIGN = 1 << 20  # parts are whole MiB: block-aligned, so a join can share their blocks
GB = 1_000_000_000
# Least to most often changed: a LoRA bump must not invalidate the 20 GB diffusion layer.
ROLE_ORDER = {
    role: rank
    for rank, role in enumerate(
        (
            Role.VAE_APPROX,
            Role.VAE,
            Role.EMBEDDING,
            Role.CLIP_VISION,
            Role.AUDIO_ENCODER,
            Role.UPSCALE_MODEL,
            Role.PHOTOMAKER,
            Role.GLIGEN,
            Role.STYLE_MODEL,
            Role.CONTROLNET,
            Role.MODEL_PATCH,
            Role.HYPERNETWORK,
            Role.TEXT_ENCODER,
            Role.CHECKPOINT,
            Role.DIFFUSION_MODEL,
            Role.LORA,
        )
    )
}


@dataclass(frozen=True)
class ModelLayer:
    """One model file of the image: its pin, its download URL and its path in the image.

    The Dockerfile template reads ``repo``, ``file``, ``commit``, ``sha256`` and
    ``size`` by those names (user templates too), hence the properties over ``pin``.
    """

    name: str
    role: str
    pin: Pin
    url: str
    destination: str  # absolute path inside the image

    @property
    def repo(self) -> str:
        return self.pin.repo

    @property
    def file(self) -> str:
        return self.pin.path

    @property
    def commit(self) -> str:
        return self.pin.commit

    @property
    def sha256(self) -> str:
        return self.pin.sha256

    @property
    def size(self) -> int:
        return self.pin.size

    @property
    def directory(self) -> str:
        return str(PurePosixPath(self.destination).parent)

    @property
    def mismatch_message(self) -> str:
        return (
            f"imagebuilder: sha256 mismatch for {self.pin.repo}@{self.pin.commit}/"
            f"{self.pin.path}: the Hub served bytes that are not the ones models.lock.json "
            f"pins (sha256 {self.pin.sha256}); run imagebuilder verify, and re-lock if intended"
        )

    def record(self) -> dict[str, object]:
        """What the image records about this file: its pin and where it lies."""
        return {**self.pin.record(), "destination": self.destination}

    def label(self) -> str:
        return json.dumps(self.record(), sort_keys=True, separators=(",", ":"))


def plan_layers(config: Config, lock: Lock, file_url: FileUrl) -> list[ModelLayer]:
    """Every entry's file, least often changed first (a LoRA bump keeps the big layers)."""
    root = config.image.comfyui_root.rstrip("/")
    ordered = sorted(config.models.items(), key=lambda item: (ROLE_ORDER[item[1].role], item[0]))
    layers = []
    for name, entry in ordered:
        pin = lock.models[name].pin
        layers.append(
            ModelLayer(
                name=name,
                role=entry.role.value,
                pin=pin,
                url=file_url(pin.repo, pin.path, pin.commit),
                destination=f"{root}/models/{entry.destination}",
            )
        )
    return layers


class DigestSource(StrEnum):
    """Where a plan's known layer digests come from."""

    LOCK = "lock"  # recorded by an earlier publish: a --check may trust them
    REGISTRY = "registry"  # read from the images the tags point at (see publish.previous)


@dataclass(frozen=True)
class ModelSource:
    """One layer's file content: the pinned file, or (split) one part of it, and where
    the layer puts it."""

    name: str
    pin: Pin
    size: int  # bytes of the file this layer holds: the whole file, or one part
    layer_path: str  # relative, '/'-separated path inside the layer

    def layout(self) -> LayerLayout:
        return layout_for([LayerEntry(self.layer_path, self.size)])


@dataclass(frozen=True)
class ModelLayerPlan:
    """One model file: one layer, or (split) one layer per part."""

    source: ModelSource
    size: int  # exact layer size (tar headers + file + padding)
    parts: tuple[ModelSource, ...] = ()  # split: each part is a layer of its own
    # The digests that may be reused, one per layer, when the registry has the blobs:
    # all of them or none.
    known_digests: tuple[str, ...] = ()
    known_from: DigestSource | None = None

    @property
    def layers(self) -> tuple[ModelSource, ...]:
        return self.parts or (self.source,)


def model_layer_plans(config: Config, lock: Lock, file_url: FileUrl) -> list[ModelLayerPlan]:
    """Each model file as its layer, in the image's layer order."""
    plans = []
    for layer in plan_layers(config, lock, file_url):
        source = ModelSource(layer.name, layer.pin, layer.pin.size, layer_path(layer.destination))
        digest = layer.pin.layer_digest  # recorded by an earlier publish
        plan = ModelLayerPlan(source, source.layout().total_size)
        if digest:
            plan = replace(plan, known_digests=(digest,), known_from=DigestSource.LOCK)
        plans.append(plan)
    return plans


def max_layer_bytes(host: str, registries: Mapping[str, Registry]) -> int | None:
    if host in registries:
        return registries[host].max_layer_bytes
    return DEFAULT_MAX_LAYER_BYTES.get(host)


def split_plan(plan: ModelLayerPlan, limit: int) -> ModelLayerPlan:
    """The file as consecutive parts, each a layer under the limit (headers included)."""
    part_bytes = limit - PART_HEADROOM
    if part_bytes >= 2 * PART_ALIGN:  # aligned parts can be reflinked into one file at start
        part_bytes = part_bytes // PART_ALIGN * PART_ALIGN
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
    return replace(
        plan, parts=parts, known_digests=(), known_from=None
    )  # the lock's is the whole file


def fit_layer_limit(
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


def refuse_oversized_layers(config: Config, lock: Lock, image_name: str) -> None:
    """The Docker Engine path's check, before building: the same layers, limits and
    message as publish (tar headers included; ghcr.io's 10 GB limit applies even when
    models.yaml does not repeat it), so both paths refuse alike."""
    registry = parse_reference(image_name).registry
    limit = max_layer_bytes(registry, config.image.registries)
    fit_layer_limit(model_layer_plans(config, lock, _no_url), registry, limit)


def _no_url(repo: str, file: str, commit: str) -> str:
    return ""  # only sizes and destinations matter here
