"""`imagebuilder test` from its options to written files: the shell around the session.

Loads models.yaml and the cases, checks the workflows, opens the target, runs, then
writes every requested file atomically (the HTML report always). Returns what the
command prints; never prints itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imagebuilder.abtest.cases import load_cases
from imagebuilder.abtest.jobs import JobResult
from imagebuilder.abtest.measurements import fit_workflows, measurements_document
from imagebuilder.abtest.report import AbTestReport, markdown
from imagebuilder.abtest.report_html import DEFAULT_MAX_SIDE, render_html
from imagebuilder.abtest.session import RunOptions, choose_arms, run_test
from imagebuilder.abtest.targets import open_target
from imagebuilder.abtest.thresholds import resolve_thresholds
from imagebuilder.comfy.checks import require_consistent
from imagebuilder.comfy.project import templates_dir_for
from imagebuilder.errors import ConfigError
from imagebuilder.project.atomic import atomic_write_bytes, atomic_write_text
from imagebuilder.project.load import load_config
from imagebuilder.project.redact import redact, redact_data
from imagebuilder.project.variants import with_step_variants


@dataclass(frozen=True)
class AbTestRequest:
    config: Path
    cases: Path
    target: str
    variants: tuple[str, ...]
    options: RunOptions
    report: Path
    report_max_side: int = DEFAULT_MAX_SIDE
    poll_s: float | None = None
    runpod_api_base: str | None = None
    markdown_out: Path | None = None
    json_out: Path | None = None
    outputs: Path | None = None
    measurements_out: Path | None = None
    gpu: str | None = None
    # Step counts to compare when models.yaml declares no variants (None: 4 -> 3 -> 2).
    steps: tuple[int, ...] | None = None
    # Thresholds given on the command line (None: models.yaml's, else the default).
    thresholds: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class AbTestOutcome:
    report: AbTestReport
    markdown: str
    document: dict[str, Any]
    written: tuple[Path, ...]  # report, Markdown, JSON, measurements
    outputs_written: int


def execute(
    request: AbTestRequest,
    *,
    progress: Callable[[JobResult], None] | None = None,
    warn: Callable[[str], None] = lambda _: None,
    log: Callable[[str], None] = lambda _: None,
) -> AbTestOutcome:
    loaded = load_config(request.config)
    templates = templates_dir_for(request.config)
    for warning in require_consistent(loaded.config, templates):
        warn(warning.render())
    cases = load_cases(request.cases)
    config = with_step_variants(loaded.config, list(request.steps) if request.steps else None)
    arms = choose_arms(config, templates, list(request.variants))
    cost = loaded.config.cost
    price = cost.price_per_hour if cost else None
    from_yaml = loaded.config.test.model_dump() if loaded.config.test else {}
    limits = resolve_thresholds(request.thresholds, from_yaml)
    options = replace(request.options, thresholds=limits)
    if limits.max_cost is not None and price is None:
        raise _no_price(loaded.where(("cost",)))
    target = open_target(request.target, api_base=request.runpod_api_base, poll_s=request.poll_s)
    try:
        log(f"test: {len(cases)} case(s) x {len(arms.names)} variant(s) on {target.label}")
        report, pictures, results = run_test(
            target, arms, cases, options, price_per_hour=price, progress=progress
        )
    finally:
        target.close()
    written = [request.report]
    # Every file passes the one redaction rule: worker text may echo the RunPod key.
    atomic_write_text(
        request.report, redact(render_html(report, pictures, max_side=request.report_max_side))
    )
    summary = redact(markdown(report))
    document = redact_data(report.as_dict())
    if request.markdown_out is not None:
        atomic_write_text(request.markdown_out, summary)
        written.append(request.markdown_out)
    if request.json_out is not None:
        atomic_write_text(request.json_out, json.dumps(document, indent=2, sort_keys=True) + "\n")
        written.append(request.json_out)
    outputs = _write_outputs(request.outputs, results) if request.outputs is not None else []
    if request.measurements_out is not None:
        gpu = request.gpu or report.target.get("gpu") or (cost.gpu if cost else None)
        measured = measurements_document(
            fit_workflows(report.rows, arms.steps),
            gpu=str(gpu or "unknown GPU"),
            price_per_hour=price or 0.0,
            target=target.label,
            date=datetime.now(UTC).date().isoformat(),
        )
        text = redact(json.dumps(measured, indent=2))
        atomic_write_text(request.measurements_out, text + "\n")
        written.append(request.measurements_out)
    return AbTestOutcome(
        report=report,
        markdown=summary,
        document=document,
        written=tuple(written),
        outputs_written=len(outputs),
    )


def _no_price(where: str) -> ConfigError:
    return ConfigError(
        "--max-cost needs a price: models.yaml has no cost.price_per_hour",
        location=where,
        hint="add cost: {gpu, price_per_hour, ...} or leave out --max-cost",
    )


def _write_outputs(folder: Path, results: list[JobResult]) -> list[Path]:
    """Full-size outputs as folder/<case>/<variant>.png (warm-ups left out)."""
    paths = []
    for result in results:
        if result.output is None or result.job.warmup:
            continue
        for index, data in enumerate(result.output.images):
            suffix = "" if index == 0 else f"_{index}"
            path = folder / result.job.case / f"{result.job.variant}{suffix}.png"
            atomic_write_bytes(path, data)
            paths.append(path)
    return paths
