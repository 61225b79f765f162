"""Inputs of `imagebuilder cost`: models.yaml's `cost:` block, or a measurement file.

The GPU benchmark (benchmarks/gpu) writes a file in exactly this shape (schema
imagebuilder-gpu-benchmark/1, docs/inference.md), so `cost --measurements FILE` reads
it as is. The top level holds the numbers of one workflow (kept for files written
before per-workflow numbers existed); `workflows` holds each workflow's own; `cold_start`
what a worker pays before its first job; `variants` the alternatives the benchmark
measured (another diffusion model file), each with its own per-workflow numbers. The
report-only sections (memory, fp8, optimised_graphs, environment) are accepted and kept
as evidence, not computed with.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, model_validator

from imagebuilder.project.strict import Strict


class _Strict(Strict):
    # A field with an alias (`schema`) is also accepted under its Python name.
    model_config = ConfigDict(populate_by_name=True)


def _not_negative(parts: dict[str, float], where: str) -> None:
    for part, seconds in parts.items():
        if seconds < 0:
            raise ValueError(f"{where}.{part} is negative ({seconds})")
        if seconds > 3600:  # like seconds_per_step: an hour of fixed work is a typo
            raise ValueError(f"{where}.{part} is over 3600 ({seconds})")


class WorkflowCost(_Strict):
    """One workflow (one or two reference images): what a step and the fixed part cost."""

    seconds_per_step: float = Field(gt=0, le=3600)
    """GPU seconds of one denoising step (one transformer pass at cfg 1)."""
    fixed_seconds: dict[str, float] = Field(default_factory=dict)
    """Per-job seconds that do not scale with steps, by part (text encode, VAE, image I/O)."""
    warm_job_seconds: dict[str, float] = Field(default_factory=dict)
    """Measured warm job seconds, by step count."""
    fit: dict[str, float] = Field(default_factory=dict)
    """Least-squares fit of job seconds over steps: a cross-check of the two numbers above."""
    calls_per_job: dict[str, float] = Field(default_factory=dict)
    """How often each timed part ran per job."""
    jobs: int | None = Field(default=None, ge=0)
    """How many warm jobs the medians come from."""
    peak_vram_bytes: int | None = Field(default=None, ge=0)
    """Peak GPU memory allocated by ComfyUI."""
    peak_vram_reserved_bytes: int | None = Field(default=None, ge=0)
    """Peak GPU memory reserved by PyTorch's allocator."""
    scaled_mm_calls_per_step: float | None = Field(default=None, ge=0)
    """FP8 matrix multiplications per step (report only: 0 means every Linear upcast)."""
    source: str = Field(default="", max_length=500)
    """Where the numbers come from."""

    @model_validator(mode="after")
    def _fixed_not_negative(self) -> WorkflowCost:
        _not_negative(self.fixed_seconds, "fixed_seconds")
        return self


class FirstJob(_Strict):
    seconds: float = Field(gt=0, le=86_400)
    """Wall seconds of the first job."""
    loaders: dict[str, float] = Field(default_factory=dict)
    """Seconds each model loader took."""
    models_to_gpu: float | None = Field(default=None, ge=0)
    """Seconds to move the models (LoRA merged) to the GPU."""


class ColdStart(_Strict):
    """A fresh worker: ComfyUI's start, then a first job that loads every model."""

    server_start_seconds: float = Field(ge=0, le=86_400)
    """Seconds from starting ComfyUI until it answers (median)."""
    server_start_samples: list[float] = Field(default_factory=list)
    """Every measured start."""
    first_job_seconds: dict[str, FirstJob] = Field(min_length=1)
    """The first job: `page_cache_warm` (files in memory) and `page_cache_dropped` (disk)."""
    first_image_seconds: dict[str, float] = Field(default_factory=dict)
    """Per page-cache case: seconds from the worker's start to its first image, with the
    job waiting from t=0 (benchmarks/gpu plan cold). When set, the cold start's cost is
    this minus a warm job; otherwise the start plus the first job's extra seconds."""
    first_job_workflow: str = Field(default="", max_length=100)
    """The workflow the first job ran, so its warm equivalent can be subtracted."""
    first_job_steps: int = Field(default=4, ge=1, le=200)
    """The first job's step count."""
    source: str = Field(default="", max_length=500)
    """Where the numbers come from."""


class MeasuredVariant(_Strict):
    """One arm of the GPU benchmark's variants plan: the stack with another file (the
    scaled-FP8 base, say), measured in the same run as the arm named `baseline`."""

    models: str = Field(default="", max_length=300)
    """What this arm ran instead of the pinned stack: the file name it stands for."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """The loader inputs the benchmark changed (report only)."""
    first_job_seconds: FirstJob | None = None
    """The first job of a fresh ComfyUI with this arm's files (page cache warm)."""
    workflows: dict[str, WorkflowCost] = Field(min_length=1)
    """Each workflow's seconds per step and fixed seconds with this arm's files."""


class CostSettings(_Strict):
    """Measured GPU seconds, the GPU's price, and how many jobs a warm worker serves."""

    gpu: str = Field(min_length=1, max_length=100)
    """The GPU the seconds were measured on."""
    price_per_hour: float = Field(gt=0, le=10_000)
    """Dollars per GPU hour."""
    seconds_per_step: float = Field(gt=0, le=3600)
    """GPU seconds of one denoising step at cfg 1, for workflows not listed in `workflows`."""
    fixed_seconds: dict[str, float] = Field(default_factory=dict)
    """Per-job seconds that do not scale with steps: text encoding, VAE, image I/O."""
    source: str = Field(default="", max_length=500)
    """Where the numbers come from."""
    workflows: dict[str, WorkflowCost] = Field(default_factory=dict)
    """Each workflow's own numbers (one and two reference images differ)."""
    cold_start: ColdStart | None = None
    """What a fresh worker pays before its first job."""
    jobs_per_worker: int = Field(default=100, ge=1, le=10_000_000)
    """Jobs a warm worker serves before it stops: the cold start is spread over them."""
    variants: dict[str, MeasuredVariant] = Field(default_factory=dict)
    """Measured alternatives (the benchmark's variants plan); `baseline` is the pinned stack
    in the same run, what each alternative's saving is computed against."""
    measurement_schema: str = Field(default="", alias="schema", max_length=100)
    """The measurement file's format (report only)."""
    memory: dict[str, Any] = Field(default_factory=dict)
    """Peak VRAM and limited-VRAM runs (report only)."""
    fp8: dict[str, Any] = Field(default_factory=dict)
    """What ComfyUI's FP8 matmul option did (report only)."""
    optimised_graphs: dict[str, Any] = Field(default_factory=dict)
    """Old vs optimised workflow graphs: pixels and times (report only)."""
    environment: dict[str, Any] = Field(default_factory=dict)
    """GPU, driver, ComfyUI commit, date (report only)."""

    @model_validator(mode="after")
    def _fixed_not_negative(self) -> CostSettings:
        _not_negative(self.fixed_seconds, "fixed_seconds")
        return self

    def cost_inputs(self) -> dict[str, Any]:
        """What the computation used (the report-only sections left out)."""
        return self.model_dump(
            exclude={"measurement_schema", "memory", "fp8", "optimised_graphs", "environment"}
        )

    def for_workflow(self, name: str) -> WorkflowCost:
        """This workflow's numbers, else the top level's (one set for every workflow)."""
        if name in self.workflows:
            return self.workflows[name]
        return WorkflowCost(
            seconds_per_step=self.seconds_per_step,
            fixed_seconds=dict(self.fixed_seconds),
            source=self.source,
        )


__all__ = ["ColdStart", "CostSettings", "FirstJob", "MeasuredVariant", "WorkflowCost"]
