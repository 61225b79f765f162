"""`imagebuilder test`: run the sample cases through every variant on a real worker.

Reads options, writes files; the work is in imagebuilder.abtest. Results on stdout (a
table, --json or --markdown), one progress line per job on stderr, the HTML report and
optional files written atomically, then the exit code: 0 when the run decided, 13
(TEST_FAILED) when a job failed or a variant missed a threshold the user set (models.yaml
or the command line; the defaults only pick the recommended variant).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption, parse_steps
from imagebuilder.errors import ExitCode

if TYPE_CHECKING:
    from imagebuilder.abtest.jobs import JobResult
    from imagebuilder.abtest.report import AbTestReport

DEFAULT_CASES = Path("samples/cases.yaml")
# report_html.DEFAULT_MAX_SIDE, repeated: importing it would load the image stack at start-up.
DEFAULT_MAX_SIDE = 2048


def _progress(result: JobResult) -> None:
    job = result.job
    if result.ok and result.output is not None:
        timing = result.output.timing
        seconds = "-" if timing.execution_s is None else f"{timing.execution_s:.3f}"
        queue = "-" if timing.queue_s is None else f"{timing.queue_s:.3f}"
        output.log(f"ok    {job.key}: {seconds} s executing, {queue} s queued")
    elif result.failure is not None:
        text = output.printable(result.failure.message)
        output.log(f"FAIL  {job.key}: {result.failure.kind.value}: {text}")


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _human(report: AbTestReport) -> None:
    from rich import box
    from rich.table import Table

    from imagebuilder.abtest.report import HOW_TO_SET
    from imagebuilder.abtest.verdict import thresholds_sentence

    # No vertical rules: the eight columns fit 80 terminal columns uncut.
    table = Table(
        "variant",
        "steps",
        "failed",
        "SSIM med/min",
        "s/job",
        "$/job",
        "saving",
        "verdict",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
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
            report.verdict(v),
        )
    output.stdout.print(table)
    width = output.stdout.width
    say = [
        f"recommended: {report.recommendation.sentence()}",
        f"thresholds: {thresholds_sentence(report.thresholds)}; {HOW_TO_SET}",
    ]
    verdict = "passed" if report.passed else "FAILED"
    say.append(f"test {verdict}: target {report.target.get('target')}")
    for line in say:
        output.stdout.print(output.wrapped(line, width), markup=False)
    for variant in report.variants:
        for reason in variant.reasons:
            line = f"  {variant.variant}: {output.printable(reason)}"
            output.stdout.print(output.wrapped(line, width), markup=False)


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
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            help="Step counts to compare when models.yaml declares no variants "
            "(default: the pinned steps, 3/4 and 1/2 of them, e.g. 4,3,2).",
        ),
    ] = None,
    cases_file: Annotated[Path, typer.Option("--cases", help="Sample cases file.")] = DEFAULT_CASES,
    config: ConfigOption = DEFAULT_CONFIG,
    min_ssim: Annotated[
        float | None,
        typer.Option(
            "--min-ssim",
            min=0,
            max=1,
            help="Lowest SSIM any case may have (default: models.yaml's test.min_ssim, "
            "else 0.90). Set here or there, missing it fails the run.",
        ),
    ] = None,
    min_psnr: Annotated[
        float | None,
        typer.Option(
            "--min-psnr",
            min=0,
            max=100,
            metavar="DB",
            help="Lowest PSNR in dB any case may have (default: test.min_psnr_db, else 25).",
        ),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", min=0, help="Highest median seconds per job."),
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0, help="Highest median $ per job.")
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
        int,
        typer.Option(min=64, max=4096, help="Longest side of report pictures, pixels."),
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
    # Imported here: the comparison stack (scikit-image, scipy) takes a while to load and
    # no other command needs it.
    from imagebuilder.abtest.command import AbTestRequest, execute
    from imagebuilder.abtest.session import RunOptions

    what_if = parse_steps(steps)
    request = AbTestRequest(
        config=config,
        cases=cases_file,
        target=target,
        variants=tuple(variant or ()),
        steps=tuple(what_if) if what_if else None,
        options=RunOptions(
            concurrency=concurrency,
            timeout_s=timeout,
            warmup=warmup,
        ),
        thresholds={
            "min_ssim": min_ssim,
            "min_psnr_db": min_psnr,
            "max_seconds": max_seconds,
            "max_cost": max_cost,
        },
        report=report,
        report_max_side=report_max_side,
        poll_s=poll_interval,
        runpod_api_base=runpod_api_base,
        markdown_out=markdown_out,
        json_out=json_out,
        outputs=outputs,
        measurements_out=measurements_out,
        gpu=gpu,
    )
    outcome = execute(request, progress=_progress, warn=output.warn, log=output.log)
    for path in outcome.written:
        output.log(f"wrote {path}")
    if outputs is not None:
        output.log(f"wrote {outcome.outputs_written} output image(s) under {outputs}")
    result, document = outcome.report, outcome.document
    summary = outcome.markdown
    if as_json:
        output.emit_json(document)
    elif as_markdown:
        output.stdout.out(summary, end="")
    else:
        _human(result)
    if not result.passed:
        raise typer.Exit(code=int(ExitCode.TEST_FAILED))


def register(app: typer.Typer) -> None:
    app.command("test")(test_variants)
