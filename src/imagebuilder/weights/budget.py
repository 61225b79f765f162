"""Memory and disk budget of the pinned stack, from sizes alone (no download, no GPU).

ComfyUI loads stage by stage and offloads between stages: the text encoder first, then
the diffusion model with the LoRA patches, then the VAE. The GPU peak is therefore the
largest stage's weights, not the sum. Activations come on top; the check reports the
headroom they have. ``gpu_memory_gb`` is read as GiB, the unit GPU tools report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagebuilder.project.config import Role

GIB = 1 << 30
DENOISING = "denoising"
# Stage order as ComfyUI runs a job; CLIP vision rides with the encoder, the model
# patches (LoRA, ControlNet, ...) with the model they patch.
STAGES: tuple[tuple[str, frozenset[Role]], ...] = (
    ("text encoding", frozenset({Role.TEXT_ENCODER, Role.CLIP_VISION, Role.AUDIO_ENCODER})),
    (
        DENOISING,
        frozenset(
            {
                Role.DIFFUSION_MODEL,
                Role.CHECKPOINT,
                Role.LORA,
                Role.CONTROLNET,
                Role.MODEL_PATCH,
                Role.STYLE_MODEL,
                Role.GLIGEN,
                Role.HYPERNETWORK,
                Role.PHOTOMAKER,
                Role.EMBEDDING,
            }
        ),
    ),
    ("VAE decode", frozenset({Role.VAE, Role.VAE_APPROX})),
    ("upscale", frozenset({Role.UPSCALE_MODEL})),
)
_BASES = frozenset({Role.DIFFUSION_MODEL, Role.CHECKPOINT})
_OPTIONAL = frozenset({"upscale"})  # listed only for stacks that have such files


@dataclass(frozen=True)
class Component:
    name: str
    role: Role
    size: int  # bytes of the weights file (the header is a rounding error)
    base: str | None = None  # a LoRA: the model it patches (which denoising pass it joins)


@dataclass(frozen=True)
class Stage:
    name: str
    components: tuple[str, ...]
    weight_bytes: int


@dataclass(frozen=True)
class Budget:
    components: tuple[Component, ...]
    stages: tuple[Stage, ...]
    peak_stage: str
    peak_bytes: int
    gpu_bytes: int
    total_bytes: int  # what the model files add to the image

    @property
    def fits(self) -> bool:
        return self.peak_bytes <= self.gpu_bytes

    @property
    def headroom_bytes(self) -> int:
        return self.gpu_bytes - self.peak_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "components": [
                {"name": c.name, "role": c.role.value, "bytes": c.size} for c in self.components
            ],
            "stages": [
                {"name": s.name, "components": list(s.components), "weight_bytes": s.weight_bytes}
                for s in self.stages
            ],
            "peak_stage": self.peak_stage,
            "peak_bytes": self.peak_bytes,
            "gpu_bytes": self.gpu_bytes,
            "headroom_bytes": self.headroom_bytes,
            "fits": self.fits,
            "total_bytes": self.total_bytes,
        }


def _stages(components: list[Component]) -> list[Stage]:
    """One stage per role group; with several base models (Wan 2.2's high- and low-noise
    experts) one denoising pass each, since ComfyUI offloads one before loading the next."""
    bases = [c.name for c in components if c.role in _BASES]
    stages = []
    for name, roles in STAGES:
        members = [c for c in components if c.role in roles]
        if name != DENOISING or len(bases) < 2:
            stages.append(Stage(name, tuple(c.name for c in members), sum(c.size for c in members)))
            continue
        for base in bases:
            own = [
                c
                for c in members
                if c.name == base or (c.role not in _BASES and c.base in (base, None))
            ]
            stages.append(
                Stage(f"{DENOISING} ({base})", tuple(c.name for c in own), sum(c.size for c in own))
            )
    return [stage for stage in stages if stage.components or stage.name not in _OPTIONAL]


def plan_budget(components: list[Component], gpu_memory_gb: float) -> Budget:
    """Per-stage weight bytes, the peak stage, and whether it fits ``gpu_memory_gb`` GiB."""
    stages = tuple(_stages(components))
    peak = max(stages, key=lambda stage: stage.weight_bytes)
    return Budget(
        components=tuple(components),
        stages=stages,
        peak_stage=peak.name,
        peak_bytes=peak.weight_bytes,
        gpu_bytes=int(gpu_memory_gb * GIB),
        total_bytes=sum(c.size for c in components),
    )


def gib(size: int) -> str:
    return f"{size / GIB:.2f} GiB"
