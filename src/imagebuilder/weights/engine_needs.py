"""Which ComfyUI a model file needs, from its header alone (the table in engine_markers).

Pure functions over ``Header``: nothing is downloaded. The answer is the highest floor of
every marker found, with each marker's reason, so a message can say *why* a file needs
0.5.0 and not only that it does.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from imagebuilder.project.comfyversion import ComfyVersion
from imagebuilder.weights.engine_markers import (
    MARKERS,
    MIXED_PRECISION_FLOOR,
    QUANT_METADATA_KEY,
    Marker,
    Match,
)
from imagebuilder.weights.header import Header, TensorInfo

_QUANT_SUFFIX = ".comfy_quant"
_MAX_QUANT_JSON = 4096  # a .comfy_quant tensor holds a few dozen bytes of JSON
_MAX_FORMATS = 64  # distinct formats looked at in one file: bounded work, whatever it says


@dataclass(frozen=True)
class MarkerHit:
    marker: Marker
    example: str  # the first tensor (or metadata entry) that carries it
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "comfyui": self.marker.comfyui,
            "capability": self.marker.capability,
            "marker": self.marker.pattern,
            "match": self.marker.match.value,
            "example": self.example,
            "count": self.count,
            "source": self.marker.source,
        }


@dataclass(frozen=True)
class EngineNeed:
    """The oldest ComfyUI that loads the file correctly; None: no marker with a floor."""

    name: str
    comfyui: ComfyVersion | None
    hits: tuple[MarkerHit, ...]  # highest floor first
    unknown_formats: tuple[str, ...] = ()  # quantization formats the table does not know

    @property
    def reason(self) -> str:
        """Why, in one phrase: the markers that set the floor."""
        top = [h for h in self.hits if ComfyVersion.parse(h.marker.comfyui) == self.comfyui]
        return "; ".join(f"{h.marker.capability} ({h.example})" for h in top)

    def problem_with(self, engine: ComfyVersion) -> str | None:
        """A sentence naming both versions when ``engine`` is too old, else None."""
        if self.comfyui is None or engine >= self.comfyui:
            return None
        return (
            f"{self.name} needs ComfyUI >= {self.comfyui}, the locked engine is ComfyUI "
            f"{engine}: {self.reason}. An older ComfyUI loads such a file without an error "
            "and computes wrong images"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "comfyui": str(self.comfyui) if self.comfyui else None,
            "reason": self.reason,
            "markers": [hit.as_dict() for hit in self.hits],
            "unknown_formats": list(self.unknown_formats),
        }


def engine_need(header: Header) -> EngineNeed:
    """What ComfyUI the file needs, and which markers say so."""
    counts: Counter[Marker] = Counter()
    examples: dict[Marker, str] = {}

    def hit(marker: Marker, where: str) -> None:
        counts[marker] += 1
        examples.setdefault(marker, where)

    by_name = header.by_name
    for tensor in header.tensors:
        for marker in MARKERS:
            if _matches(marker, tensor, by_name):
                hit(marker, tensor.name)
    formats = _quant_formats(header)
    unknown: list[str] = []
    for fmt, where in formats.items():
        known = _format_marker(fmt)
        if known is None:
            unknown.append(fmt)
        else:
            hit(known, where)
    if QUANT_METADATA_KEY in header.metadata and not counts:
        hit(_metadata_marker(), f"__metadata__.{QUANT_METADATA_KEY}")
    hits = sorted(
        (MarkerHit(m, examples[m], n) for m, n in counts.items()),
        key=lambda h: (ComfyVersion.parse(h.marker.comfyui), h.count),
        reverse=True,
    )
    floor = ComfyVersion.parse(hits[0].marker.comfyui) if hits else None
    return EngineNeed(header.name, floor, tuple(hits), tuple(sorted(unknown)))


def _matches(marker: Marker, tensor: TensorInfo, by_name: dict[str, TensorInfo]) -> bool:
    if marker.match is Match.TENSOR:
        found = tensor.name == marker.pattern
    elif marker.match is Match.SUFFIX:
        found = tensor.name.endswith(marker.pattern)
    else:
        return False
    if not found:
        return False
    if marker.own_dtypes and tensor.dtype not in marker.own_dtypes:
        return False
    if marker.weight_dtypes:
        layer = tensor.name.removesuffix(marker.pattern)
        weight = by_name.get(f"{layer}.weight")
        return weight is not None and weight.dtype in marker.weight_dtypes
    return True


def _format_marker(fmt: str) -> Marker | None:
    for marker in MARKERS:
        if marker.match is Match.QUANT_FORMAT and (
            fmt == marker.pattern or fmt.startswith(f"{marker.pattern}_")
        ):
            return marker
    return None


def _metadata_marker() -> Marker:
    return Marker(
        Match.QUANT_FORMAT,
        QUANT_METADATA_KEY,
        MIXED_PRECISION_FLOOR,
        "mixed precision (quantization metadata)",
        "ComfyUI #10498; changelog 0.3.68",
    )


def _quant_formats(header: Header) -> dict[str, str]:
    """Layer formats the file names: in ``__metadata__`` and in the ``.comfy_quant``
    tensors whose bytes the header read already holds. Format -> first place seen."""
    found: dict[str, str] = {}
    raw = header.metadata.get(QUANT_METADATA_KEY)
    if raw is not None:
        layers = _json_object(raw).get("layers")
        if isinstance(layers, dict):
            for layer, info in layers.items():
                _add_format(found, info, f"__metadata__.{QUANT_METADATA_KEY}.{layer}")
    for tensor in header.tensors:
        if tensor.name.endswith(_QUANT_SUFFIX) and tensor.nbytes <= _MAX_QUANT_JSON:
            data = header.tensor_bytes(tensor.name)
            if data is not None:
                _add_format(found, _json_object(data), tensor.name)
    return found


def _add_format(found: dict[str, str], info: object, where: str) -> None:
    if len(found) >= _MAX_FORMATS or not isinstance(info, dict):
        return
    fmt = info.get("format")
    if isinstance(fmt, str) and 0 < len(fmt) <= 64 and fmt.isprintable():
        found.setdefault(fmt, where)


def _json_object(raw: str | bytes) -> dict[str, Any]:
    """A JSON object from a hostile file, or {} (a marker is a hint, never a crash)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
