"""Inputs of `imagebuilder cost`: models.yaml's `cost:` block, or a measurement file.

The GPU benchmark (benchmarks/gpu) writes a file in exactly this shape (schema
imagebuilder-gpu-benchmark/1, docs/inference.md), so `cost --measurements FILE` reads
it as is. The top level holds the numbers of one workflow (kept for files written
before per-workflow numbers existed); `workflows` holds each workflow's own; `cold_start`
what a worker pays before its first job. The report-only sections (memory, fp8,
optimised_graphs, environment) are accepted and kept as evidence, not computed with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def _not_negative(parts: dict[str, float], where: str) -> None:
    for part, seconds in parts.items():
        if seconds < 0:
            raise ValueError(f"{where}.{part} is negative ({seconds})")


class WorkflowCost(_Strict):
    """One workflow (one or two reference images): what a step and the fixed part cost."""

    seconds_per_step: float = Field(gt=0, le=3600)
    fixed_seconds: dict[str, float] = Field(default_factory=dict)
    warm_job_seconds: dict[str, float] = Field(default_factory=dict)  # by step count
    fit: dict[str, float] = Field(default_factory=dict)  # least squares over jobs: a check
    calls_per_job: dict[str, float] = Field(default_factory=dict)
    jobs: int | None = Field(default=None, ge=0)
    peak_vram_bytes: int | None = Field(default=None, ge=0)
    peak_vram_reserved_bytes: int | None = Field(default=None, ge=0)
    source: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _fixed_not_negative(self) -> WorkflowCost:
        _not_negative(self.fixed_seconds, "fixed_seconds")
        return self


class FirstJob(_Strict):
    seconds: float = Field(gt=0, le=86_400)
    loaders: dict[str, float] = Field(default_factory=dict)
    models_to_gpu: float | None = Field(default=None, ge=0)


class ColdStart(_Strict):
    """A fresh worker: ComfyUI's start, then a first job that loads every model."""

    server_start_seconds: float = Field(ge=0, le=86_400)
    server_start_samples: list[float] = Field(default_factory=list)
    # page_cache_warm: files already in memory; page_cache_dropped: read from disk.
    first_job_seconds: dict[str, FirstJob] = Field(min_length=1)
    # The job the first-job numbers ran, so its warm equivalent can be subtracted.
    first_job_workflow: str = Field(default="", max_length=100)
    first_job_steps: int = Field(default=4, ge=1, le=200)
    source: str = Field(default="", max_length=500)


class CostSettings(_Strict):
    """Measured GPU seconds, the GPU's price, and how many jobs a warm worker serves."""

    gpu: str = Field(min_length=1, max_length=100)
    price_per_hour: float = Field(gt=0, le=10_000)  # dollars per GPU hour
    seconds_per_step: float = Field(gt=0, le=3600)  # one denoising step (cfg 1)
    # Per-job work that does not scale with steps: text encoding, VAE, image I/O, overhead.
    fixed_seconds: dict[str, float] = Field(default_factory=dict)
    source: str = Field(default="", max_length=500)  # where the numbers come from
    workflows: dict[str, WorkflowCost] = Field(default_factory=dict)
    cold_start: ColdStart | None = None
    # A worker's start and first job, spread over the jobs it serves before it stops.
    jobs_per_worker: int = Field(default=100, ge=1, le=10_000_000)
    # Report-only sections of a benchmark file.
    measurement_schema: str = Field(default="", alias="schema", max_length=100)
    memory: dict[str, Any] = Field(default_factory=dict)
    fp8: dict[str, Any] = Field(default_factory=dict)
    optimised_graphs: dict[str, Any] = Field(default_factory=dict)
    environment: dict[str, Any] = Field(default_factory=dict)

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


__all__ = ["ColdStart", "CostSettings", "FirstJob", "WorkflowCost"]
