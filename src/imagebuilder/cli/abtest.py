"""`imagebuilder test`: run the sample cases through every variant on a real worker.

Reads options, writes files; the work is in imagebuilder.abtest. Results on stdout (a
table, --json or --markdown), one progress line per job on stderr, the HTML report and
optional files written atomically, then the exit code: 0 when every variant passed,
13 (TEST_FAILED) when a job failed or a threshold was missed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from imagebuilder.abtest.cases import DEFAULT_CASES, load_cases
from imagebuilder.abtest.jobs import JobResult
from imagebuilder.abtest.measurements import fit_workflows, measurements_document
from imagebuilder.abtest.report import TestReport, markdown
from imagebuilder.abtest.report_html import DEFAULT_MAX_SIDE, render_html
from imagebuilder.abtest.session import RunOptions, choose_arms, run_test
from imagebuilder.abtest.summary import Thresholds
from imagebuilder.abtest.targets import open_target
from imagebuilder.cli import output as _output
from imagebuilder.cli._common import ConfigOption, JsonOption
from imagebuilder.comfy.checks import require_consistent
from imagebuilder.comfy.workflows import TEMPLATES_DIR
from imagebuilder.errors import ExitCode
from imagebuilder.project.atomic import atomic_write_bytes, atomic_write_text
from imagebuilder.project.load import DEFAULT_CONFIG, load_config


def _progress(result: JobResult) -> None:
    job = result.job
    if result.ok and result.output is not None:
        timing = result.output.timing
        seconds = "-" if timing.execution_s is None else f"{timing.execution_s:.3f}"
        queue = "-" if timing.queue_s is None else f"{timing.queue_s:.3f}"
        _output.log(f"ok    {job.key}: {seconds} s executing, {queue} s queued")
    elif result.failure is not None:
        text = _output.printable(result.failure.message)
        _output.log(f"FAIL  {job.key}: {result.failure.kind.value}: {text}")


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _human(report: TestReport) -> None:
    table = Table("variant", "steps", "failed", "SSIM med/worst", "s/job", "$/job", "saving", "")
    for v in report.variants:
        saving = report.saving(v)
        table.add_row(
            v.variant + (" *" if v.baseline else ""),
            _num(v.steps, "d"),
            f"{v.failed}/{v.jobs}",
            f"{_num(v.median_ssim, '.3f')}/{_num(v.min_ssim, '.3f')}",
            _num(v.median_execution_s, ".3f"),
            _num(v.median_dollars, ".5f"),
            "baseline" if v.baseline else _num(saving, "+.1%"),
            "pass" if v.passed else "FAIL",
        )
    _output.stdout.print(table)
    verdict = "passed" if report.passed else "FAILED"
    _output.stdout.print(f"test {verdict}: target {report.target.get('target')}", markup=False)
    for variant in report.variants:
        for reason in variant.reasons:
            _output.stdout.print(f"  {variant.variant}: {_output.printable(reason)}", markup=False)


def _write_outputs(folder: Path, results: list[JobResult]) -> None:
    for result in results:
        if result.output is None or result.job.warmup:
            continue
        for index, data in enumerate(result.output.images):
            suffix = "" if index == 0 else f"_{index}"
            path = folder / result.job.case / f"{result.job.variant}{suffix}.png"
            atomic_write_bytes(path, data)


def test_variants(  # noqa: PLR0917 (a CLI command: one parameter per option)
    target: Annotated[
        str,
        typer.Option(
            "--target", help="http(s)://host:8188 (ComfyUI) or runpod://ENDPOINT_ID (RunPod)."
        ),
    ],
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant", help="Variant to run (repeat; default: all). Baseline always runs."
        ),
    ] = None,
    cases_file: Annotated[Path, typer.Option("--cases", help="Sample cases file.")] = DEFAULT_CASES,
    config: ConfigOption = DEFAULT_CONFIG,
    min_ssim: Annotated[
        float | None,
        typer.Option("--min-ssim", min=0, max=1, help="Fail below this SSIM (any case)."),
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", min=0, help="Fail above this median s/job.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0, help="Fail above this median $/job.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs in flight at once.")] = 2,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds one job may take, retries included.")
    ] = 600.0,
    warmup: Annotated[
        bool, typer.Option(help="Run one untimed job per variant first (model loading).")
    ] = True,
    poll_interval: Annotated[
        float | None, typer.Option(min=0.001, max=60, help="Seconds between status polls.")
    ] = None,
    runpod_api_base: Annotated[
        str | None,
        typer.Option(
            help="RunPod API base URL (default $RUNPOD_API_BASE or RunPod's).", show_default=False
        ),
    ] = None,
    report: Annotated[
        Path, typer.Option("--report", help="Self-contained HTML report to write.")
    ] = Path("build/test-report.html"),
    report_max_side: Annotated[
        int, typer.Option(min=64, max=4096, help="Longest side of report pictures, pixels.")
    ] = DEFAULT_MAX_SIDE,
    markdown_out: Annotated[
        Path | None, typer.Option("--markdown-out", help="Also write the Markdown summary here.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Also write the JSON result here.")
    ] = None,
    outputs: Annotated[
        Path | None, typer.Option("--outputs", help="Folder for full-size outputs.")
    ] = None,
    measurements_out: Annotated[
        Path | None,
        typer.Option(
            "--measurements-out", help="Write measured timings for `cost --measurements`."
        ),
    ] = None,
    gpu: Annotated[
        str | None, typer.Option(help="GPU name for --measurements-out (default: as reported).")
    ] = None,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the sample cases through each variant on a worker, compare with the baseline."""
    if as_json and as_markdown:
        raise typer.BadParameter(
            "--json and --markdown both choose what goes to stdout: pick one "
            "(--markdown-out FILE writes the Markdown as well)"
        )
    loaded = load_config(config)
    templates = config.parent / TEMPLATES_DIR
    require_consistent(loaded.config, templates)
    cases = load_cases(cases_file)
    arms = choose_arms(loaded.config, templates, variant or [])
    price = loaded.config.cost.price_per_hour if loaded.config.cost else None
    if max_cost is not None and price is None:
        raise typer.BadParameter("--max-cost needs cost.price_per_hour in models.yaml")
    options = RunOptions(
        concurrency=concurrency,
        timeout_s=timeout,
        warmup=warmup,
        thresholds=Thresholds(min_ssim=min_ssim, max_seconds=max_seconds, max_cost=max_cost),
    )
    worker = open_target(target, api_base=runpod_api_base, poll_s=poll_interval)
    try:
        _output.log(f"test: {len(cases)} case(s) x {len(arms.names)} variant(s) on {worker.label}")
        result, pictures, results = run_test(
            worker, arms, cases, options, price_per_hour=price, progress=_progress
        )
    finally:
        worker.close()
    atomic_write_text(report, render_html(result, pictures, max_side=report_max_side))
    _output.log(f"report: {report}")
    summary = markdown(result)
    if markdown_out is not None:
        atomic_write_text(markdown_out, summary)
    document = result.as_dict()
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if outputs is not None:
        _write_outputs(outputs, results)
    if measurements_out is not None:
        gpu_name = (
            gpu
            or result.target.get("gpu")
            or (loaded.config.cost.gpu if loaded.config.cost else None)
        )
        measured = measurements_document(
            fit_workflows(result.rows, arms.steps),
            gpu=str(gpu_name or "unknown GPU"),
            price_per_hour=price or 0.0,
            target=worker.label,
            date=datetime.now(UTC).date().isoformat(),
        )
        atomic_write_text(measurements_out, json.dumps(measured, indent=2) + "\n")
        _output.log(f"measurements: {measurements_out}")
    if as_json:
        _output.emit_json(document)
    elif as_markdown:
        _output.stdout.out(summary, end="")
    else:
        _human(result)
    if not result.passed:
        raise typer.Exit(code=int(ExitCode.TEST_FAILED))


def register(app: typer.Typer) -> None:
    app.command("test")(test_variants)
