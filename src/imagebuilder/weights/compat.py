"""Will these files work together? LoRA-to-base checks and model-to-model comparisons.

Pure functions over headers. A LoRA applies to a base when every target exists in the
base with matching shapes: down [rank, in] and up [out, rank] against the base weight
[out, in], under any of the key conventions ``lora_keys`` knows. Two diffusion models
are drop-in replacements when their tensor names and shapes match.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imagebuilder.weights.architectures import lora_family
from imagebuilder.weights.header import Header, TensorInfo
from imagebuilder.weights.inspection import (
    HeaderSummary,
    LoraInfo,
    Precision,
    fingerprint,
    is_quantization_aux,
    lora_info,
    summarize,
)
from imagebuilder.weights.lora_keys import kohya_name

FIRST = 10  # how many differences a result lists; the total is always counted
_MODEL_PREFIXES = ("model.diffusion_model.", "diffusion_model.")
_VERSION_MARKERS = frozenset({"__index_timestep_zero__"})
_ARCH_FIELDS = ("family", "layers", "hidden_size", "in_channels", "out_channels", "text_dim")


class Compatibility(StrEnum):
    """How one model file relates to another, from the two headers: `inspect --against`
    and `verify` report it, check-updates rates candidates with it (one vocabulary in
    every JSON). ``compare_models`` answers the middle three."""

    SAME_BYTES = "same-bytes"  # check-updates: the candidate's sha256 is the pinned one
    DROP_IN = "drop-in"  # same tensor names and shapes
    COMPATIBLE_WITH_CHANGES = "compatible-with-changes"  # same weights; scales/markers differ
    DIFFERENT_ARCHITECTURE = "different-architecture"
    UNKNOWN = "unknown"  # check-updates: no header to compare (not read, or unreadable)


@dataclass(frozen=True)
class ModelComparison:
    verdict: Compatibility
    differences: tuple[str, ...]  # the first FIRST, in name order
    total_differences: int
    dtype_changes: int = 0  # tensors whose dtype differs (allowed in a drop-in)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "verdict": self.verdict.value, "differences": self.differences}


@dataclass(frozen=True)
class LoraMismatch:
    target: str
    problem: str


@dataclass(frozen=True)
class LoraCheck:
    applies: bool
    convention: str
    targets: int
    matched: int
    mismatches: tuple[LoraMismatch, ...]  # the first FIRST
    total_mismatches: int
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["mismatches"] = [m.__dict__ for m in self.mismatches]
        return data


def _bare(name: str) -> str:
    for prefix in _MODEL_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _base_weights(base: Header) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    """Module -> weight shape, dotted and kohya-spelled."""
    dotted: dict[str, tuple[int, ...]] = {}
    for tensor in base.tensors:
        name = _bare(tensor.name)
        if name.endswith(".weight"):
            dotted[name.removesuffix(".weight")] = tensor.shape
    return dotted, {kohya_name(module): shape for module, shape in dotted.items()}


def check_lora(lora_header: Header, base_header: Header) -> LoraCheck:
    """Does the LoRA apply to the base? Names the first targets that do not."""
    lora = lora_info(lora_header)
    if lora is None:
        not_lora = LoraMismatch(lora_header.name, "not a LoRA: no lora_up/lora_down-style keys")
        return LoraCheck(False, "unknown", 0, 0, (not_lora,), 1)
    family_mismatch = _family_mismatch(lora, base_header)
    if family_mismatch is not None:
        targets = len({key.target for key in lora.keys.values()})
        return LoraCheck(False, lora.convention, targets, 0, (family_mismatch,), targets)
    dotted, kohya = _base_weights(base_header)
    parts: dict[str, dict[str, TensorInfo]] = defaultdict(dict)
    modules: dict[str, tuple[str, bool]] = {}
    for name, key in lora.keys.items():
        parts[key.target][key.part] = lora_header.by_name[name]
        modules[key.target] = (key.module, key.kohya)
    problems: list[LoraMismatch] = []
    for target, found in parts.items():
        module, is_kohya = modules[target]
        base_shape = (kohya if is_kohya else dotted).get(module)
        problem = _target_problem(found, base_shape)
        if problem:
            problems.append(LoraMismatch(target, problem))
    warning = lightning_warning(lora_header.name, summarize(base_header))
    return LoraCheck(
        applies=not problems,
        convention=lora.convention,
        targets=len(parts),
        matched=len(parts) - len(problems),
        mismatches=tuple(problems[:FIRST]),
        total_mismatches=len(problems),
        warnings=(warning,) if warning else (),
    )


def _family_mismatch(lora: LoraInfo, base_header: Header) -> LoraMismatch | None:
    """A LoRA trained for another family (its module names say which) fails as a whole,
    named as such, rather than as every one of its targets missing in the base."""
    trained_for = lora_family([key.module for key in lora.keys.values()])
    base = fingerprint(base_header)
    if trained_for is None or base.family in ("unknown", trained_for.name):
        return None
    return LoraMismatch(
        base_header.name,
        f"a LoRA for {trained_for.label} ({trained_for.name}); the base is "
        f"{base.label or base.family} ({base.family})",
    )


def _target_problem(found: dict[str, TensorInfo], base: tuple[int, ...] | None) -> str | None:
    if base is None:
        return "no such weight in the base model"
    down, up = found.get("down"), found.get("up")
    if down is None or up is None:
        return f"has {'up' if up else 'down'} but no {'down' if up else 'up'} matrix"
    if len(down.shape) < 2 or len(up.shape) < 2 or len(base) < 2:
        return f"not a matrix: down {list(down.shape)}, up {list(up.shape)}, base {list(base)}"
    rank = down.shape[0]
    if up.shape[1] != rank:
        return f"rank differs: down {list(down.shape)} vs up {list(up.shape)}"
    if down.shape[1] != base[1] or up.shape[0] != base[0]:
        return (
            f"shape mismatch: down {list(down.shape)} and up {list(up.shape)} need a base of "
            f"[{up.shape[0]}, {down.shape[1]}], the base has {list(base)}"
        )
    return None


def lightning_warning(lora_name: str, base: HeaderSummary) -> str | None:
    """Lightning LoRAs on plain downcast FP8 bases are a known cause of grid artifacts."""
    plain_fp8 = base.precision in (Precision.FP8_E4M3, Precision.FP8_E5M2)
    if "lightning" in lora_name.lower() and plain_fp8:
        return (
            f"Lightning LoRA on an unscaled {base.precision_label} base can show grid "
            "artifacts; prefer a scaled FP8 (fp8_scaled / fp8mixed) or BF16 base "
            "(`check-updates` lists scaled copies of the same base as better-precision options)"
        )
    return None


def compare_models(a: Header, b: Header) -> ModelComparison:
    """DROP_IN, COMPATIBLE_WITH_CHANGES or DIFFERENT_ARCHITECTURE, with the first differences."""
    arch_a, arch_b = fingerprint(a), fingerprint(b)
    arch_diffs = [
        f"{name}: {getattr(arch_a, name)} -> {getattr(arch_b, name)}"
        for name in _ARCH_FIELDS
        if getattr(arch_a, name) != getattr(arch_b, name)
    ]
    if arch_diffs:
        return ModelComparison(
            Compatibility.DIFFERENT_ARCHITECTURE, tuple(arch_diffs[:FIRST]), len(arch_diffs)
        )
    tensors_a = {_bare(t.name): t for t in a.tensors}
    tensors_b = {_bare(t.name): t for t in b.tensors}
    all_diffs = _differences(tensors_a, tensors_b)
    dtype_changes = sum(
        1 for n, t in tensors_a.items() if n in tensors_b and tensors_b[n].dtype != t.dtype
    )
    if not all_diffs:
        return ModelComparison(Compatibility.DROP_IN, (), 0, dtype_changes)
    core = [d for name, d in all_diffs if not _auxiliary(name)]
    listed = tuple(d for _name, d in all_diffs)
    if not core:
        return ModelComparison(
            Compatibility.COMPATIBLE_WITH_CHANGES, listed[:FIRST], len(listed), dtype_changes
        )
    return ModelComparison(
        Compatibility.DIFFERENT_ARCHITECTURE, tuple(core[:FIRST]), len(core), dtype_changes
    )


def _auxiliary(name: str) -> bool:
    return is_quantization_aux(name) or name in _VERSION_MARKERS


def _differences(a: dict[str, TensorInfo], b: dict[str, TensorInfo]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in sorted(a.keys() | b.keys()):
        left, right = a.get(name), b.get(name)
        if right is None:
            found.append((name, f"only in the first: {name}"))
        elif left is None:
            found.append((name, f"only in the second: {name}"))
        elif left.shape != right.shape:
            found.append((name, f"shape of {name}: {list(left.shape)} -> {list(right.shape)}"))
    return found
