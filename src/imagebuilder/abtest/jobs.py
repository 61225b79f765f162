"""What a target is asked to run and what comes back: pure data.

A job is one case in one variant. A target either returns its output images with the
timings it can measure, or raises ``JobFailed`` with a kind the report groups by; the
runner never drops a job: every job ends as exactly one ``JobResult``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from imagebuilder.abtest.graph import JobGraph
from imagebuilder.abtest.media import VideoFile
from imagebuilder.project.redact import redact


class FailureKind(StrEnum):
    REJECTED = "rejected"  # the target refused the workflow (validation, 4xx)
    NODE_ERROR = "node_error"  # a node raised while executing
    TIMEOUT = "timeout"  # no result within the time limit
    HTTP = "http"  # transport errors or 5xx that outlasted the retries
    MISSING_OUTPUT = "missing_output"  # finished, but an output image is missing
    BAD_OUTPUT = "bad_output"  # an output is not a readable image


class JobFailed(Exception):
    """A job's failure; its message often quotes the worker, so it is redacted here,
    once, for every report that shows it (a gateway may echo the Authorization header)."""

    def __init__(self, kind: FailureKind, message: str, *, node: str | None = None):
        message = redact(message)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.node = node


@dataclass(frozen=True)
class Job:
    case: str
    variant: str
    job_graph: JobGraph
    warmup: bool = False  # run first to load models; timed but left out of medians

    @property
    def key(self) -> str:
        return f"{self.case}/{self.variant}" + (" (warm-up)" if self.warmup else "")


@dataclass(frozen=True)
class TargetTiming:
    """What the target itself says. ComfyUI: execution from its history messages; queue =
    acceptance to completion seen, less execution. RunPod: delayTime and executionTime."""

    execution_s: float | None
    queue_s: float | None


@dataclass(frozen=True)
class TargetOutput:
    images: tuple[bytes, ...]
    timing: TargetTiming
    details: dict[str, Any] = field(default_factory=dict)  # prompt/job id, for the report
    videos: tuple[VideoFile, ...] = ()  # video outputs, reported as files (not scored)


@dataclass(frozen=True)
class Decoded:
    """An output as scored: 8-bit RGB, shrunk to a bounded size when the output is larger
    (``full_size`` then says what the worker returned; None: these are its pixels)."""

    pixels: NDArray[np.uint8]  # H x W x 3
    full_size: tuple[int, int] | None = None  # (width, height)

    @property
    def scored_size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])  # (width, height)

    @property
    def size(self) -> tuple[int, int]:
        """The output's own size (width, height), whatever size it was scored at."""
        return self.full_size or self.scored_size

    @property
    def shrunk(self) -> bool:
        return self.full_size is not None and self.full_size != self.scored_size


@dataclass(frozen=True)
class JobResult:
    job: Job
    wall_s: float  # upload to last output fetched and decoded, on this machine's clock
    output: TargetOutput | None = None
    failure: JobFailed | None = None
    picture: Decoded | None = None  # the first output, decoded inside the job's time

    @property
    def ok(self) -> bool:
        return self.output is not None and self.failure is None


class Target(Protocol):
    """A worker that runs one job at a time per call; calls may come from several threads."""

    @property
    def label(self) -> str: ...  # shown in reports: never holds a secret

    def run(self, job: Job, deadline: float) -> TargetOutput: ...  # deadline: monotonic

    def describe(self) -> dict[str, Any]: ...  # facts for the report (gpu, versions)

    def close(self) -> None: ...
