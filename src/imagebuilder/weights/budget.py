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
# Stage order as ComfyUI runs a Qwen-Image-Edit job; CLIP vision rides with the encoder.
STAGES: tuple[tuple[str, frozenset[Role]], ...] = (
    ("text encoding", frozenset({Role.TEXT_ENCODER, Role.CLIP_VISION})),
    ("denoising", frozenset({Role.DIFFUSION_MODEL, Role.LORA})),
    ("VAE decode", frozenset({Role.VAE})),
)


@dataclass(frozen=True)
class Component:
    name: str
    role: Role
    size: int  # bytes of the weights file (the header is a rounding error)


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


def plan_budget(components: list[Component], gpu_memory_gb: float) -> Budget:
    """Per-stage weight bytes, the peak stage, and whether it fits ``gpu_memory_gb`` GiB."""
    stages = tuple(
        Stage(
            name,
            tuple(c.name for c in components if c.role in roles),
            sum(c.size for c in components if c.role in roles),
        )
        for name, roles in STAGES
    )
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
