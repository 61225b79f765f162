"""The cost of one job per variant: computed from measured seconds, never guessed.

seconds per job = fixed seconds + steps x passes per step x seconds per step, where the
fixed part (text encoding, VAE encode/decode, loading, worker overhead) does not shrink
with fewer steps, and cfg above 1 adds an unconditional pass to every step. That is
why cutting 4 steps to 3 saves less than 25% per job unless the fixed part is zero.
A measured variant (another diffusion model file, from the GPU benchmark's variants plan)
brings its own numbers and is compared with the baseline of the same run.
Pure functions over data; the command only formats the rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from imagebuilder.comfy.cold_start import (
    ColdStartCost,
    cold_start_cost,
    cold_start_notes,
)
from imagebuilder.comfy.cost_inputs import load_inputs
from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config, Role
from imagebuilder.project.cost_settings import CostSettings, WorkflowCost
from imagebuilder.project.variants import fewer_steps, stacks

SECONDS_PER_HOUR = 3600.0
ALL_WORKFLOWS = "all"  # the row label where one set of numbers serves every workflow
# The arm of a measured variants run that is the pinned stack: the others' savings are
# computed against it (same run, same machine), not against numbers of another day.
MEASURED_BASELINE = "baseline"


@dataclass(frozen=True)
class CostRow:
    variant: str
    steps: int
    cfg: float
    passes_per_step: int  # 1 at cfg <= 1 (ComfyUI skips the unconditional pass), else 2
    denoise_seconds: float
    fixed_seconds: float
    seconds_per_job: float
    dollars_per_job: float
    dollars_per_1000_jobs: float
    jobs_per_gpu_hour: float
    baseline: bool
    saving: float | None  # fraction of the baseline's cost per job saved (negative = dearer)
    denoise_saving: float | None  # what the step count alone suggests
    workflow: str  # whose seconds these are; "all" where one set serves every workflow
    seconds_per_step: float
    # With the worker's start and first job spread over cost.jobs_per_worker jobs.
    amortised_seconds_per_job: float | None
    amortised_dollars_per_job: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostReport:
    inputs: CostSettings
    rows: tuple[CostRow, ...]
    notes: tuple[str, ...]
    cold_start: ColdStartCost | None = None
    sources: tuple[tuple[str, str], ...] = ()  # (which numbers, where they came from)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.cost_inputs(),
            "rows": [row.as_dict() for row in self.rows],
            "notes": list(self.notes),
            "cold_start": asdict(self.cold_start) if self.cold_start else None,
            "sources": dict(self.sources),
        }


@dataclass(frozen=True)
class Arm:
    """One row to compute: a name and its KSampler steps and cfg."""

    name: str
    steps: int
    cfg: float
    baseline: bool = False
    diffusion_model: str = ""  # the file the arm's workflows load (matches measured variants)
    measured: str | None = None  # the measured variant (cost.variants) whose numbers it uses


def arms_from_config(config: Config, what_if_steps: list[int] | None = None) -> list[Arm]:
    """Each variant (or the plain stack); ``what_if_steps`` replaces them with step counts.

    A stack without variants is compared with fewer steps by default (4 -> 3 -> 2 for a
    4-step LoRA): what `cost` is mostly asked.
    """
    variant_stacks = stacks(config)
    if what_if_steps is None and not config.variants:
        what_if_steps = fewer_steps(config.sampler.steps)
    if what_if_steps:
        base = next(s for s in variant_stacks if s.baseline).config.sampler
        baseline_steps = base.steps if base.steps in what_if_steps else what_if_steps[0]
        return [
            Arm(f"steps{steps}", steps, base.cfg, baseline=steps == baseline_steps)
            for steps in dict.fromkeys(what_if_steps)
        ]
    return [
        Arm(
            s.name or "default",
            s.config.sampler.steps,
            s.config.sampler.cfg,
            s.baseline,
            diffusion_model=_diffusion_model(s.config),
        )
        for s in variant_stacks
    ]


def _diffusion_model(config: Config) -> str:
    bases = config.entries_by_role(Role.DIFFUSION_MODEL)
    return bases[0][1].dest_name if len(bases) == 1 else ""


def with_measured_variants(arms: list[Arm], inputs: CostSettings) -> list[Arm]:
    """Each arm tagged with the measured variant it stands for (same name, or the same
    diffusion model file); measured variants no arm stands for are added as rows of their
    own at the baseline's steps, so `cost` shows what was measured without a models.yaml
    change."""
    measured = {k: v for k, v in inputs.variants.items() if k != MEASURED_BASELINE}
    tagged: list[Arm] = []
    for arm in arms:
        match = next(
            (
                key
                for key, variant in measured.items()
                if key == arm.name
                or (arm.diffusion_model and variant.models == arm.diffusion_model)
            ),
            None,
        )
        tagged.append(replace(arm, measured=match) if match and not arm.baseline else arm)
    baseline = next((arm for arm in arms if arm.baseline), arms[0])
    claimed = {arm.measured for arm in tagged}
    tagged.extend(
        Arm(key, baseline.steps, baseline.cfg, measured=key)
        for key in measured
        if key not in claimed
    )
    return tagged


def _numbers(arm: Arm, name: str, inputs: CostSettings) -> WorkflowCost:
    """The arm's own measured numbers for this workflow, else the workflow's."""
    variant = inputs.variants.get(arm.measured or "")
    if variant is not None and name in variant.workflows:
        return variant.workflows[name]
    return inputs.for_workflow(name)


def _baseline_numbers(arm: Arm, name: str, inputs: CostSettings) -> WorkflowCost:
    """What the arm is compared with: the same run's baseline for a measured arm."""
    same_run = inputs.variants.get(MEASURED_BASELINE)
    if arm.measured and same_run is not None and name in same_run.workflows:
        return same_run.workflows[name]
    return inputs.for_workflow(name)


def _job_seconds(arm: Arm, workflow: WorkflowCost) -> tuple[float, float, int]:
    passes = 2 if arm.cfg > 1 else 1
    return (
        sum(workflow.fixed_seconds.values()),
        arm.steps * passes * workflow.seconds_per_step,
        passes,
    )


def _row(
    arm: Arm,
    *,
    name: str,
    inputs: CostSettings,
    baseline: Arm,
    cold: ColdStartCost | None,
) -> CostRow:
    workflow = _numbers(arm, name, inputs)
    fixed, denoise, passes = _job_seconds(arm, workflow)
    seconds = fixed + denoise
    base_fixed, base_denoise, _ = _job_seconds(baseline, _baseline_numbers(arm, name, inputs))
    base_seconds = base_fixed + base_denoise
    per_dollar = inputs.price_per_hour / SECONDS_PER_HOUR
    amortised = seconds + cold.overhead_seconds / cold.jobs_per_worker if cold else None
    is_baseline = arm is baseline
    return CostRow(
        variant=arm.name,
        steps=arm.steps,
        cfg=arm.cfg,
        passes_per_step=passes,
        denoise_seconds=denoise,
        fixed_seconds=fixed,
        seconds_per_job=seconds,
        dollars_per_job=seconds * per_dollar,
        dollars_per_1000_jobs=seconds * per_dollar * 1000,
        jobs_per_gpu_hour=SECONDS_PER_HOUR / seconds,
        baseline=is_baseline,
        saving=None if is_baseline else 1 - seconds / base_seconds,
        denoise_saving=None if is_baseline else 1 - denoise / base_denoise,
        workflow=name,
        seconds_per_step=workflow.seconds_per_step,
        amortised_seconds_per_job=amortised,
        amortised_dollars_per_job=None if amortised is None else amortised * per_dollar,
    )


def _notes(rows: list[CostRow], inputs: CostSettings) -> list[str]:
    if all(row.fixed_seconds == 0 for row in rows):
        return [
            "no fixed seconds were given, so savings equal the step ratio; real jobs also "
            "pay text encoding, VAE and loading at every step count: measure them"
        ]
    notes = []
    for name, workflow in _workflows(inputs):
        fixed = sum(workflow.fixed_seconds.values())
        parts = ", ".join(f"{part} {sec:g}" for part, sec in workflow.fixed_seconds.items())
        label = "" if name == ALL_WORKFLOWS else f" ({name})"
        notes.append(
            f"fixed work per job{label}: {fixed:.3f} s ({parts}), paid at every step count"
        )
    for row in rows:
        if row.saving is not None and row.denoise_saving is not None and row.denoise_saving > 0:
            label = "" if row.workflow == ALL_WORKFLOWS else f" ({row.workflow})"
            notes.append(
                f"{row.variant}{label}: saves {row.saving:.1%} per job, less than the "
                f"{row.denoise_saving:.1%} cut in denoising, because the fixed part stays"
            )
    return notes


def _workflows(inputs: CostSettings) -> list[tuple[str, WorkflowCost]]:
    if inputs.workflows:
        return sorted(inputs.workflows.items())
    return [(ALL_WORKFLOWS, inputs.for_workflow(ALL_WORKFLOWS))]


def _sources(inputs: CostSettings, cold: ColdStartCost | None) -> list[tuple[str, str]]:
    given = inputs.source or "not stated"
    sources = [("price_per_hour", "models.yaml cost.price_per_hour (what your provider charges)")]
    for name, workflow in _workflows(inputs):
        key = "seconds per step and fixed seconds" + ("" if name == ALL_WORKFLOWS else f" ({name})")
        sources.append((key, workflow.source or given))
    if cold is not None:
        sources.append(("cold start", cold.source or given))
        sources.append(("jobs_per_worker", "an input: cost.jobs_per_worker or --jobs-per-worker"))
    return sources


def _measured_notes(arms: list[Arm], inputs: CostSettings) -> list[str]:
    notes = []
    for arm in arms:
        variant = inputs.variants.get(arm.measured or "")
        if variant is None:
            continue
        for name, workflow in sorted(variant.workflows.items()):
            base = _baseline_numbers(arm, name, inputs).seconds_per_step
            notes.append(
                f"{arm.name} ({name}): {workflow.seconds_per_step:.3f} s per step with "
                f"{variant.models or arm.name} against {base:.3f} s "
                f"in the same run: {1 - workflow.seconds_per_step / base:.1%} less per step"
            )
    return notes


def _measured_sources(arms: list[Arm], inputs: CostSettings) -> list[tuple[str, str]]:
    return [
        (f"variant {arm.name} ({name})", workflow.source or inputs.source or "not stated")
        for arm in arms
        if (variant := inputs.variants.get(arm.measured or "")) is not None
        for name, workflow in sorted(variant.workflows.items())
    ]


def compute(arms: list[Arm], inputs: CostSettings) -> CostReport:
    if not arms:
        raise ConfigError("nothing to cost: no variants and no steps given")
    arms = with_measured_variants(arms, inputs)
    baseline = next((arm for arm in arms if arm.baseline), arms[0])
    cold = cold_start_cost(inputs)
    rows = [
        _row(arm, name=name, inputs=inputs, baseline=baseline, cold=cold)
        for name, _ in _workflows(inputs)
        for arm in arms
    ]
    return CostReport(
        inputs=inputs,
        rows=tuple(rows),
        notes=tuple(_notes(rows, inputs) + _measured_notes(arms, inputs) + cold_start_notes(cold)),
        cold_start=cold,
        sources=tuple(_sources(inputs, cold) + _measured_sources(arms, inputs)),
    )


__all__ = ["Arm", "CostReport", "CostRow", "arms_from_config", "compute", "load_inputs"]
