"""What a base file's name and header say: its release, a LoRA fused into it, whether
it holds the same model as the pin, whether the engine loads it, and what the benchmark
measured for it.

Pure functions over paths, headers and models.yaml's `cost:` block (alternatives.py
plans with them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagebuilder.project.comfyversion import ComfyVersion
from imagebuilder.project.config import Config
from imagebuilder.weights.compat import Compatibility, compare_models
from imagebuilder.weights.engine_needs import engine_need
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import fingerprint, is_quantization_aux, summarize

_PRECISION_TOKEN = re.compile(
    r"^(fp8\w*|f8\w*|bf16|fp16|fp32|int8\w*|nvfp4|mxfp8|e4m3fn|e5m2|scaled|mixed)$"
)
_VERSION_TOKEN = re.compile(r"^\d{4}$")
FUSED_NAME = re.compile(r"(lightning|lora|turbo)", re.IGNORECASE)
_STEPS = re.compile(r"(?:^|[_.-])(\d{1,3})[_-]?steps?(?:$|[_.-])", re.IGNORECASE)


@dataclass(frozen=True)
class ModelName:
    """What a file name says about the model it holds: `qwen_image_edit_2509_fp8_e4m3fn`
    -> line `qwen_image_edit`, version 2509, the rest (precision, fused LoRA, steps)."""

    line: str
    version: int | None
    rest: str

    @property
    def release(self) -> str:
        return self.line if self.version is None else f"{self.line}_{self.version}"


def model_name(path: str) -> ModelName:
    stem = path.rsplit("/", 1)[-1].lower().removesuffix(".safetensors")
    tokens = stem.split("_")
    line: list[str] = []
    version = None
    for index, token in enumerate(tokens):
        if _PRECISION_TOKEN.match(token):
            return ModelName("_".join(line), version, "_".join(tokens[index:]))
        if _VERSION_TOKEN.match(token) and version is None:
            version = int(token)
            continue
        line.append(token)
    return ModelName("_".join(line), version, "")


def fused_steps(path: str, header: Header) -> int | None:
    """The step count of a base with a distilled LoRA merged in, as its publisher names it
    (`..._lightning_..._4steps_...`), or None when the file is a plain base. The header
    must hold a full model, not a LoRA: the name alone never decides."""
    name = path.rsplit("/", 1)[-1]
    said = FUSED_NAME.search(name) or any(FUSED_NAME.search(v) for v in header.metadata.values())
    steps = _STEPS.search(name)
    if not said or steps is None or summarize(header).lora is not None:
        return None
    return int(steps.group(1))


def core_parameters(header: Header) -> int:
    """Parameters of the weights themselves: scales and format markers left out."""
    return sum(t.numel for t in header.tensors if not is_quantization_aux(t.name))


def same_base(pinned: Header, candidate: Header) -> str | None:
    """None when the candidate holds the same model layout as the pinned file; else why not."""
    comparison = compare_models(pinned, candidate)
    if comparison.verdict is Compatibility.DIFFERENT_ARCHITECTURE:
        first = comparison.differences[0] if comparison.differences else ""
        return f"another layout ({first})"
    variants = fingerprint(pinned).variant, fingerprint(candidate).variant
    if variants[0] != variants[1]:
        return f"another model variant ({variants[0] or 'base'} -> {variants[1] or 'base'})"
    if core_parameters(pinned) != core_parameters(candidate):
        return f"{core_parameters(candidate):,} parameters, the pin has {core_parameters(pinned):,}"
    return None


def per_step_saving(config: Config, file_name: str) -> str:
    """The measured per-step saving of ``file_name`` (cost.variants), as a phrase."""
    cost = config.cost
    measured = None
    if cost is not None:
        measured = next(
            ((key, v) for key, v in cost.variants.items() if v.models == file_name), None
        )
    if cost is None or measured is None:
        return (
            "per-step saving not measured for this file (run benchmarks/gpu with "
            "--plan variants, then add it under cost.variants)"
        )
    key, variant = measured
    baseline = cost.variants.get("baseline")
    parts = []
    for workflow, numbers in sorted(variant.workflows.items()):
        base = (
            baseline.workflows[workflow]
            if baseline is not None and workflow in baseline.workflows
            else cost.for_workflow(workflow)
        )
        saving = 1 - numbers.seconds_per_step / base.seconds_per_step
        parts.append(
            f"{saving:.1%} less per step ({workflow}: {numbers.seconds_per_step:.3f} s "
            f"vs {base.seconds_per_step:.3f} s)"
        )
    return f"measured on {cost.gpu}: " + ", ".join(parts) + f" (cost.variants.{key})"


# What the shipped worker runs when the lock does not say (ComfyUI a125cd84, the commit
# the GPU benchmark measured): it reads the legacy scaled_fp8 layout; mixed precision
# (.comfy_quant / .weight_scale) needs 0.3.68, which the marker table states.
ASSUMED_ENGINE = ComfyVersion(0, 3, 64)


@dataclass(frozen=True)
class Engine:
    """The ComfyUI the proposals must load on, and how it is known."""

    version: ComfyVersion
    known: bool  # False: the lock does not record the engine; ASSUMED_ENGINE stands in

    @property
    def label(self) -> str:
        if self.known:
            return f"ComfyUI {self.version}"
        return f"ComfyUI {self.version} (assumed: the lock does not record the engine)"


def engine_of(lock: object) -> Engine:
    """The engine the lock records (``lock.engine``, once the stack pins its ComfyUI), else
    the assumed one."""
    recorded = getattr(lock, "engine", None)
    version = getattr(recorded, "version", None)
    if isinstance(version, ComfyVersion):
        return Engine(version, known=True)
    return Engine(ASSUMED_ENGINE, known=False)


def engine_problem(candidate: Header, engine: Engine) -> str | None:
    need = engine_need(candidate)
    if need.comfyui is None or engine.version >= need.comfyui:
        return None
    return (
        f"not proposed: needs ComfyUI >= {need.comfyui} ({need.reason}); "
        f"the engine is {engine.label}"
    )
