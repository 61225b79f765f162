"""Alternatives of the same base: a better FP8 form of it, and files with the LoRA fused in.

Two things check-updates looks for beside newer releases, in every repo the stack
already reads (the LoRA's repo included) and every configured source:

- **precision alternatives**: the same release (same name stem, e.g.
  ``qwen_image_edit_2509``) in *scaled* or *mixed* FP8 where the pinned file is plain
  FP8. The header decides: same tensor layout and core parameter count (scales and
  markers aside), same architecture variant, and a ComfyUI the engine can load.
- **fused base+LoRA files**: a full base whose publisher merged the Lightning LoRA into
  it (``..._lightning_comfyui_4steps_...``); proposed only as a pair, the base moving and
  the LoRA entry going, never one without the other.

Headers are read only for files the names shortlist: same model line, the pinned
file's size class. Pure planning over what the caller lists and reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imagebuilder.hub.client import RemoteFile
from imagebuilder.project.config import Config, Role
from imagebuilder.project.entries import lora_base
from imagebuilder.project.pathrules import check_repo_path
from imagebuilder.updates.basefacts import (
    FUSED_NAME,
    Engine,
    core_parameters,
    engine_of,
    engine_problem,
    fused_steps,
    model_name,
    per_step_saving,
    same_base,
)
from imagebuilder.updates.headerfacts import HeaderFacts, ReadMany
from imagebuilder.updates.planning import file_ref
from imagebuilder.updates.proposal import Change, ChangeKind, FileRef
from imagebuilder.weights.compat import Compatibility, compare_models
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import (
    Precision,
    summarize,
)

SIZE_CLASS = 0.05  # a better FP8 form of the same model is within 5% of the pinned size
_PLAIN_FP8 = (Precision.FP8_E4M3, Precision.FP8_E5M2)
_BETTER_FP8 = (Precision.FP8_SCALED, Precision.FP8_MIXED)
GRID_ARTIFACTS = (
    "Lightning LoRAs on a plain downcast FP8 base can show grid artifacts; their authors "
    "recommend scaled FP8 bases"
)


@dataclass(frozen=True)
class Alternatives:
    change: Change | None = None  # at most one per entry: the rule asked for it
    options: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()


def _safe_path(path: str) -> bool:
    """Only paths models.yaml could hold: relative, safetensors, never a pickle format."""
    try:
        check_repo_path(path)
    except ValueError:
        return False
    return True


def _header(result: HeaderFacts | Exception) -> Header | None:
    """The parsed header behind a read, or None (a failed read, another inspector)."""
    if isinstance(result, HeaderFacts) and isinstance(result.header, Header):
        return result.header
    return None


@dataclass(frozen=True)
class _Base:
    name: str
    pinned: RemoteFile
    header: Header
    mode: str  # option | change | off
    pattern: re.Pattern[str] | None  # the entry's update pattern: a change must match it


def _pool(files: Iterable[RemoteFile], pinned: RemoteFile) -> list[RemoteFile]:
    """Every listed safetensors file once (first repo wins for the same bytes), not the pin."""
    seen = {pinned.sha256}
    out = []
    for file in files:
        if file.sha256 in seen or not _safe_path(file.path):
            continue
        seen.add(file.sha256)
        out.append(file)
    return out


def plan_alternatives(
    config: Config,
    name: str,
    *,
    pinned: RemoteFile,
    files: Sequence[RemoteFile],
    read_many: ReadMany,
    engine: Engine,
    base_moves: bool,
) -> Alternatives:
    """Precision alternatives and fused files for the base entry ``name``: the names
    shortlist, one batch of header reads (the pin with them) decides."""
    entry = config.models[name]
    rule = entry.updates
    mode = rule.alternatives if rule is not None else "option"
    if mode == "off" or entry.role is not Role.DIFFUSION_MODEL:
        return Alternatives()
    pinned_name = model_name(pinned.path)

    def shortlisted(file: RemoteFile) -> bool:
        if model_name(file.path).line != pinned_name.line:
            return False
        if FUSED_NAME.search(file.path.rsplit("/", 1)[-1]):
            return True
        return (
            not base_moves
            and model_name(file.path).release == pinned_name.release
            and abs(file.size - pinned.size) <= SIZE_CLASS * pinned.size
        )

    shortlist = [f for f in _pool(files, pinned) if shortlisted(f)]
    if not shortlist:
        return Alternatives()
    pinned_result, *results = read_many([pinned, *shortlist])
    header = _header(pinned_result)
    if header is None:
        return Alternatives(notes=(f"{name}: alternatives not checked: {pinned_result}",))
    base = _Base(name, pinned, header, mode, re.compile(rule.pattern) if rule else None)
    plain = summarize(header).precision in _PLAIN_FP8
    changes: list[Change] = []
    options: list[Change] = []
    notes: list[str] = []
    for file, result in zip(shortlist, results, strict=True):
        candidate = _header(result)
        label = f"{name}: {file.path.rsplit('/', 1)[-1]} ({file.repo})"
        if candidate is None:
            notes.append(f"{label} skipped: {result}")
            continue
        steps = fused_steps(file.path, candidate)
        if steps is not None:
            pair, why_not = _fused(config, base, file, candidate, steps=steps, engine=engine)
            options.extend(pair)
            if why_not:
                notes.append(f"{label} {why_not}")
            continue
        if not plain:  # already scaled, mixed or wider: nothing better of the same release
            continue
        change, why_not = _precision(config, base, file, candidate, engine)
        if change is None:
            notes.append(f"{label} {why_not}")
        elif change.kind is ChangeKind.BETTER_PRECISION and _applies(base, file):
            changes.append(change)
        else:
            options.append(change)
    # One change per entry (the first found); any others stay options.
    options[:0] = changes[1:]
    return Alternatives(changes[0] if changes else None, tuple(options), tuple(notes))


def _applies(base: _Base, file: RemoteFile) -> bool:
    return (
        base.mode == "change" and base.pattern is not None and bool(base.pattern.search(file.path))
    )


def _precision(
    config: Config, base: _Base, file: RemoteFile, candidate: Header, engine: Engine
) -> tuple[Change | None, str]:
    summary = summarize(candidate)
    if summary.precision not in _BETTER_FP8:
        return None, f"not a better FP8 form: {summary.precision_label}"
    why_not = same_base(base.header, candidate) or engine_problem(candidate, engine)
    if why_not:
        return None, why_not if why_not.startswith(
            "not proposed"
        ) else f"not the same base: {why_not}"
    lightning = any(
        "lightning" in e.file.lower()
        for n, e in config.models.items()
        if e.role is Role.LORA and lora_base(config, n) == base.name
    )
    reasons = [
        f"the same {model_name(file.path).release} model in {summary.precision_label} "
        f"(pinned: {summarize(base.header).precision_label}); same layout, "
        f"{core_parameters(candidate) / 1e9:.2f} B parameters",
    ]
    if lightning:
        reasons.append(GRID_ARTIFACTS)
    reasons.append(per_step_saving(config, file.path.rsplit("/", 1)[-1]))
    reasons.append(f"loads on {engine.label}")
    why = "; ".join(reasons)
    if base.mode == "change" and not _applies(base, file):
        why += "; updates.pattern does not match it, so it is not applied automatically"
    compat = compare_models(base.header, candidate).verdict
    change = Change(
        base.name,
        ChangeKind.BETTER_PRECISION,
        file_ref(base.pinned),
        file_ref(file),
        compat,
        why,
        f"{summary.precision_label}, {summary.parameter_count / 1e9:.2f} B params, "
        f"{summary.architecture.family}",
    )
    return change, ""


def _fused(
    config: Config, base: _Base, file: RemoteFile, candidate: Header, *, steps: int, engine: Engine
) -> tuple[list[Change], str]:
    """The base option and the LoRA-goes option, both or neither."""
    loras = [
        (n, e)
        for n, e in config.models.items()
        if e.role is Role.LORA and lora_base(config, n) == base.name
    ]
    if len(loras) != 1:
        return (
            [],
            "is a fused base+LoRA file; not proposed: the stack has no single LoRA on this base",
        )
    lora_name, lora = loras[0]
    if lora.distilled_steps is not None and lora.distilled_steps != steps:
        return (
            [],
            f"is a fused {steps}-step file; the LoRA {lora_name} is {lora.distilled_steps}-step",
        )
    layout = compare_models(base.header, candidate)
    if layout.verdict is Compatibility.DIFFERENT_ARCHITECTURE:
        return [], f"is a fused file of another layout ({(layout.differences or ('',))[0]})"
    problem = engine_problem(candidate, engine)
    if problem:
        return [], f"is a fused base+LoRA file; {problem}"
    summary = summarize(candidate)
    version = model_name(file.path).version
    pinned_version = model_name(base.pinned.path).version
    newer = "" if version == pinned_version else f" (release {version}, was {pinned_version})"
    why = (
        f"base with the {steps}-step LoRA merged in{newer}, {summary.precision_label}: "
        f"{lora_name} goes in the same change and the workflows' LoRA node with it "
        "(nothing to patch at load); apply both or neither"
    )
    header_line = f"{summary.precision_label}, {summary.parameter_count / 1e9:.2f} B params"
    base_option = Change(
        base.name,
        ChangeKind.FUSED_LORA,
        file_ref(base.pinned),
        file_ref(file),
        layout.verdict,
        why,
        header_line,
        goes_with=(lora_name,),
    )
    lora_option = Change(
        lora_name,
        ChangeKind.LORA_MERGED,
        FileRef(lora.repo, lora.file),
        file_ref(file),
        Compatibility.UNKNOWN,
        f"removed: merged into {file.path.rsplit('/', 1)[-1]} ({base.name}); goes only "
        f"together with {base.name}'s fused-lora option",
        header_line,
        goes_with=(base.name,),
    )
    return [base_option, lora_option], ""


__all__ = ["Alternatives", "Engine", "engine_of", "plan_alternatives"]
