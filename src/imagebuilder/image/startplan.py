"""The image's start path as files: the entrypoint package, start.sh and start.json.

Pure: ``start_files`` returns image paths -> bytes, the same for the Dockerfile (copied
from the build context) and for publish (its files layer). start.json is models.yaml's
`start:` block resolved against the lock: which files to prefetch, in the order the
first job's loaders read them (measured on the GPU: VAE, text encoder, diffusion model,
LoRA), the ComfyUI flags, the warm-up workflow and, for a published split file, the
parts to join. docs/cold-start.md describes the start path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config, Role
from imagebuilder.project.start_settings import StartSettings

START_ROOT = "imagebuilder"  # /imagebuilder in the image, imagebuilder/ in the context
START_SCRIPT = f"/{START_ROOT}/start.sh"
START_CONFIG = f"/{START_ROOT}/start.json"
START_LIB = f"{START_ROOT}/lib/ibstart"
WORKFLOWS_SUBDIR = "user/default/workflows"
COMFYUI_URL = "http://127.0.0.1:8188"  # where the base's handler finds ComfyUI
# The first Qwen-Image-Edit job reads VAE, text encoder, diffusion model, LoRA (seen on the
# GPU); other roles (controlnets, upscalers, ...) go between the base model and the LoRA.
FIRST_JOB_ORDER = {
    Role.VAE: 0,
    Role.CLIP_VISION: 1,
    Role.TEXT_ENCODER: 2,
    Role.CHECKPOINT: 3,
    Role.DIFFUSION_MODEL: 3,
    Role.LORA: 5,
}
OTHER_ROLES = 4


@dataclass(frozen=True)
class ModelFile:
    """One model file as the image holds it (from ``image.render.plan_layers``)."""

    name: str
    role: Role
    destination: str
    size: int


@dataclass(frozen=True)
class JoinedFile:
    """A file published as parts (image paths), joined by the entrypoint at start."""

    destination: str
    parts: tuple[str, ...]
    size: int


def start_settings(config: Config) -> StartSettings | None:
    start = config.start
    return start if start is not None and start.enabled else None


def dockerfile_start(config: Config) -> StartSettings | None:
    """The start settings for a Dockerfile, which must name the command it wraps."""
    start = start_settings(config)
    if start is not None and not start.base_command:
        raise ConfigError(
            "start.base_command is empty: the Dockerfile's ENTRYPOINT resets the base "
            "image's CMD, so the image must name the command it wraps",
            location="models.yaml: start.base_command",
            hint="copy the base's Entrypoint + Cmd (`docker inspect --format "
            "'{{json .Config.Entrypoint}} {{json .Config.Cmd}}' <base>`), e.g. "
            '["/start.sh"] for worker-comfyui; or set start.enabled: false',
        )
    return start


class _Layer(Protocol):  # image.render.ModelLayer, which imports this module
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def size(self) -> int: ...


def model_files(layers: Sequence[_Layer]) -> list[ModelFile]:
    return [
        ModelFile(layer.name, Role(layer.role), layer.destination, layer.size) for layer in layers
    ]


def entrypoint(base_entrypoint: Sequence[str]) -> list[str]:
    """The image's ENTRYPOINT: start.sh, then the base's own entrypoint (its CMD stays)."""
    return ["/bin/sh", START_SCRIPT, *base_entrypoint]


def start_config(
    config: Config,
    models: Sequence[ModelFile],
    workflows: Sequence[str],
    joins: Sequence[JoinedFile] = (),
) -> dict[str, object]:
    start = start_settings(config)
    if start is None:
        raise ValueError("start: is off")
    root = config.image.comfyui_root.rstrip("/")
    ordered = sorted(
        models, key=lambda model: (FIRST_JOB_ORDER.get(model.role, OTHER_ROLES), model.name)
    )
    named = start.warmup.workflow
    warmup_file = f"{named}.json" if named else min(workflows, default="")
    warmup = start.warmup.enabled and bool(workflows)  # an image without workflows: none
    if warmup and warmup_file not in workflows:
        raise ConfigError(
            f"start.warmup.workflow {start.warmup.workflow!r} is not one of the image's "
            f"workflows ({', '.join(sorted(workflows)) or 'none'})",
            location="models.yaml: start.warmup.workflow",
            hint="name a file of workflows/ without .json, or set start.warmup.enabled: false",
        )
    prefetch = start.prefetch
    return {
        "prefetch": {
            "enabled": prefetch.enabled,
            "files": [{"path": model.destination, "size": model.size} for model in ordered],
            "readers": prefetch.readers,
            "start_readers": prefetch.start_readers,
            "python_libraries": list(prefetch.python_libraries),
        },
        "comfyui": {
            "main": f"{root}/main.py",
            "flags": list(start.comfyui_flags),
            "url": COMFYUI_URL,
        },
        "warmup": {
            "enabled": warmup,
            "workflow": f"{root}/{WORKFLOWS_SUBDIR}/{warmup_file}",
            "steps": start.warmup.steps,
        },
        "join": [
            {"destination": j.destination, "parts": list(j.parts), "size": j.size} for j in joins
        ],
    }


def package_files() -> dict[str, bytes]:
    """The entrypoint package (src/imagebuilder/startup) as the image holds it."""
    found: dict[str, bytes] = {}
    package = resources.files("imagebuilder.startup")
    for folder, prefix in ((package, ""), (package / "inject", "inject/")):
        for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
            if item.is_file() and item.name.endswith((".py", ".sh")):
                found[f"{START_LIB}/{prefix}{item.name}"] = item.read_bytes()
    return found


def start_files(
    config: Config,
    models: Sequence[ModelFile],
    workflows: Sequence[str],
    joins: Sequence[JoinedFile] = (),
) -> dict[str, bytes]:
    """Image paths (without the leading /) -> bytes; {} when start: is off."""
    if start_settings(config) is None:
        return {}
    files = package_files()
    files[f"{START_ROOT}/start.sh"] = files.pop(f"{START_LIB}/start.sh")
    text = json.dumps(start_config(config, models, workflows, joins), indent=1, sort_keys=True)
    files[START_CONFIG.lstrip("/")] = (text + "\n").encode()
    return dict(sorted(files.items()))
