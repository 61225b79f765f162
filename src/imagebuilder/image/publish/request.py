"""What a publish is asked to do, and what it reports back (plain data)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from imagebuilder.image.layers import ModelLayerPlan
from imagebuilder.oci.reference import ImageReference

LayerDone = Callable[[str, str], None]  # (entry name, layer digest): record it in the lock


DEFAULT_PLATFORM = ("linux", "amd64")  # what the GPU workers run


@dataclass(frozen=True)
class PublishRequest:
    base: ImageReference
    target: ImageReference  # repository only; tags are separate
    tags: tuple[str, ...]
    plans: tuple[ModelLayerPlan, ...]
    files_layer: bytes
    labels: Mapping[str, str]
    created: str
    parallel: int = 3
    previous_tags: tuple[str, ...] = ()  # tags whose images may hold layers the lock lacks
    platform: tuple[str, str] = DEFAULT_PLATFORM
    start_command: tuple[str, ...] | None = None  # start: on: what models.yaml says the base runs

    @property
    def split(self) -> bool:
        return any(plan.parts for plan in self.plans)


@dataclass
class LayerReport:
    kind: str  # base | model | files | config
    name: str
    digest: str
    size: int
    action: str
    hub_bytes: int = 0
    sent_bytes: int = 0
    seconds: float = 0.0
    history: str = ""  # the image config's history text for this layer


@dataclass
class PublishResult:
    repository: str
    digest: str
    tags: list[str]
    layers: list[LayerReport] = field(default_factory=list)
    checked: bool = False
    current_digest: str | None = None  # --check: what the first tag points at now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
