"""The cost of one job per variant: computed from measured seconds, never guessed.

seconds per job = fixed seconds + steps x passes per step x seconds per step, where the
fixed part (text encoding, VAE encode/decode, loading, worker overhead) does not shrink
with fewer steps, and cfg above 1 adds an unconditional pass to every step. That is
why cutting 4 steps to 3 saves less than 25% per job unless the fixed part is zero.
Pure functions over data; the command only formats the rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config, CostSettings
from imagebuilder.project.variants import stacks
from imagebuilder.project.yamlsource import KeyPath, load_yaml

SECONDS_PER_HOUR = 3600.0


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostReport:
    inputs: CostSettings
    rows: tuple[CostRow, ...]
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.model_dump(),
            "rows": [row.as_dict() for row in self.rows],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Arm:
    """One row to compute: a name and its KSampler steps and cfg."""

    name: str
    steps: int
    cfg: float
    baseline: bool = False


def arms_from_config(config: Config, what_if_steps: list[int] | None = None) -> list[Arm]:
    """Each variant (or the plain stack); ``what_if_steps`` replaces them with step counts."""
    variant_stacks = stacks(config)
    if what_if_steps:
        base = next(s for s in variant_stacks if s.baseline).config.sampler
        baseline_steps = base.steps if base.steps in what_if_steps else what_if_steps[0]
        return [
            Arm(f"steps{steps}", steps, base.cfg, baseline=steps == baseline_steps)
            for steps in dict.fromkeys(what_if_steps)
        ]
    return [
        Arm(s.name or "default", s.config.sampler.steps, s.config.sampler.cfg, s.baseline)
        for s in variant_stacks
    ]


def _row(arm: Arm, inputs: CostSettings, baseline: Arm) -> CostRow:
    passes = 2 if arm.cfg > 1 else 1
    fixed = sum(inputs.fixed_seconds.values())
    denoise = arm.steps * passes * inputs.seconds_per_step
    seconds = fixed + denoise
    dollars = seconds * inputs.price_per_hour / SECONDS_PER_HOUR
    base_passes = 2 if baseline.cfg > 1 else 1
    base_denoise = baseline.steps * base_passes * inputs.seconds_per_step
    base_seconds = fixed + base_denoise
    is_baseline = arm is baseline
    return CostRow(
        variant=arm.name,
        steps=arm.steps,
        cfg=arm.cfg,
        passes_per_step=passes,
        denoise_seconds=denoise,
        fixed_seconds=fixed,
        seconds_per_job=seconds,
        dollars_per_job=dollars,
        dollars_per_1000_jobs=dollars * 1000,
        jobs_per_gpu_hour=SECONDS_PER_HOUR / seconds,
        baseline=is_baseline,
        saving=None if is_baseline else 1 - seconds / base_seconds,
        denoise_saving=None if is_baseline else 1 - denoise / base_denoise,
    )


def _notes(rows: list[CostRow], inputs: CostSettings) -> list[str]:
    fixed = sum(inputs.fixed_seconds.values())
    if fixed == 0:
        return [
            "no fixed seconds were given, so savings equal the step ratio; real jobs also "
            "pay text encoding, VAE and loading at every step count: measure them"
        ]
    parts = ", ".join(f"{name} {sec:g}" for name, sec in inputs.fixed_seconds.items())
    notes = [f"fixed work per job: {fixed:.3f} s ({parts}), paid at every step count"]
    for row in rows:
        if row.saving is not None and row.denoise_saving is not None and row.denoise_saving > 0:
            notes.append(
                f"{row.variant}: saves {row.saving:.1%} per job, less than the "
                f"{row.denoise_saving:.1%} cut in denoising, because the fixed part stays"
            )
    return notes


def compute(arms: list[Arm], inputs: CostSettings) -> CostReport:
    if not arms:
        raise ConfigError("nothing to cost: no variants and no steps given")
    baseline = next((arm for arm in arms if arm.baseline), arms[0])
    rows = [_row(arm, inputs, baseline) for arm in arms]
    return CostReport(inputs=inputs, rows=tuple(rows), notes=tuple(_notes(rows, inputs)))


def load_inputs(config: Config, measurements: Path | None, where: str) -> CostSettings:
    """models.yaml's cost section, with a measurements file (YAML or JSON) laid over it."""
    base: dict[str, Any] = config.cost.model_dump() if config.cost else {}
    locate: Callable[[KeyPath], str] | None = None  # a measurements file has lines
    if measurements is not None:
        if not measurements.is_file():  # load_yaml's hint is about --config
            raise ConfigError(
                "measurements file not found",
                location=str(measurements),
                hint="pass a YAML or JSON file with gpu, price_per_hour, seconds_per_step "
                "and fixed_seconds to --measurements",
            )
        source = load_yaml(measurements)
        document = source.document
        if not isinstance(document, dict):
            raise ConfigError(
                "a measurements file is a mapping of cost fields", location=str(measurements)
            )
        base |= json.loads(json.dumps(document))  # ruamel containers -> plain data
        where = str(measurements)
        locate = source.where
    if not base:
        raise ConfigError(
            "no cost inputs: models.yaml has no 'cost:' section and no --measurements file",
            location=where,
            hint="add cost: {gpu, price_per_hour, seconds_per_step, fixed_seconds}",
        )
    try:
        return CostSettings.model_validate(base)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        if locate is not None:
            where = locate(first["loc"])
        raise ConfigError(f"cost inputs: {key}: {message}", location=where) from None


def cost_markdown(report: CostReport) -> str:
    """The report as a Markdown table with its inputs and notes (for a PR or a README)."""
    inputs = report.inputs
    lines = [
        "| variant | steps | cfg | seconds/job | fixed s | $/job | $/1000 jobs "
        "| saving vs baseline | denoising cut |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report.rows:
        saving = "baseline" if row.saving is None else f"{row.saving:.1%}"
        cut = "-" if row.denoise_saving is None else f"{row.denoise_saving:.1%}"
        lines.append(
            f"| {row.variant} | {row.steps} | {row.cfg:g} | {row.seconds_per_job:.3f} "
            f"| {row.fixed_seconds:.3f} | {row.dollars_per_job:.6f} "
            f"| {row.dollars_per_1000_jobs:.3f} | {saving} | {cut} |"
        )
    lines.append("")
    lines.append(
        f"Inputs: {inputs.gpu} at ${inputs.price_per_hour:g}/hour, "
        f"{inputs.seconds_per_step:g} s per step"
        + (f"; source: {inputs.source}" if inputs.source else "")
        + "."
    )
    lines.extend(f"- {note}" for note in report.notes)
    return "\n".join(lines) + "\n"
