"""render-workflows, check-workflows, cost and import-template."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption

if TYPE_CHECKING:
    from rich.table import Table

    from imagebuilder.comfy.cost import CostReport

VariantOption = Annotated[
    str | None, typer.Option("--variant", help="Render for this variant (default: each one).")
]


def render_workflows(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", help="Folder for the rendered workflows.")] = Path(
        "build/workflows"
    ),
    variant: VariantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render workflows/*.json with the pinned files and sampler settings (plus index.json)."""
    from imagebuilder.comfy.project import write_workflows
    from imagebuilder.project.load import load_config

    result = write_workflows(load_config(config).config, config, out, variant)
    output.warn_each(w.render() for w in result.warnings)

    def human() -> None:
        for paths in result.written.values():
            for path in paths:
                output.stdout.print(path, markup=False)

    output.emit({"written": result.written}, as_json, human)


def check_workflows(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Check every workflow, as every variant renders it, against the pinned stack."""
    from imagebuilder.comfy.checks import Severity, check_stack
    from imagebuilder.comfy.project import templates_dir_for
    from imagebuilder.errors import ExitCode
    from imagebuilder.project.load import load_config

    problems = check_stack(load_config(config).config, templates_dir_for(config))

    def human() -> None:
        for problem in problems:
            output.stdout.print(f"{problem.severity.value}: {problem.render()}", markup=False)
        if not problems:
            output.stdout.print("workflows: consistent with models.yaml")

    output.emit({"problems": [p.as_dict() for p in problems]}, as_json, human)
    if any(p.severity is Severity.ERROR for p in problems):
        raise typer.Exit(code=int(ExitCode.WORKFLOW))


def _cost_table(report: CostReport) -> Table:
    from rich.table import Table

    table = Table("variant", "steps", "cfg", "s/job", "fixed s", "$/job", "$/1000 jobs", "saving")
    for row in report.rows:
        saving = "baseline" if row.saving is None else f"{row.saving:+.1%}"
        table.add_row(
            row.variant,
            str(row.steps),
            f"{row.cfg:g}",
            f"{row.seconds_per_job:.3f}",
            f"{row.fixed_seconds:.3f}",
            f"{row.dollars_per_job:.6f}",
            f"{row.dollars_per_1000_jobs:.3f}",
            saving,
        )
    return table


def _parse_steps(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter("--steps takes whole numbers such as 4,3,2") from None
    if not steps or any(s < 1 or s > 200 for s in steps):
        raise typer.BadParameter("--steps takes numbers from 1 to 200, such as 4,3,2")
    return steps


def cost(
    config: ConfigOption = DEFAULT_CONFIG,
    measurements: Annotated[
        Path | None,
        typer.Option("--measurements", help="YAML/JSON with cost fields; overrides models.yaml."),
    ] = None,
    steps: Annotated[
        str | None,
        typer.Option("--steps", help="What-if step counts instead of the variants, e.g. 4,3,2."),
    ] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Seconds and dollars per job for each variant, and what each saves against baseline."""
    from imagebuilder.comfy.cost import arms_from_config, compute, cost_markdown, load_inputs
    from imagebuilder.project.load import load_config

    what_if = _parse_steps(steps)
    loaded = load_config(config)
    inputs = load_inputs(loaded.config, measurements, loaded.where(("cost",)))
    report = compute(arms_from_config(loaded.config, what_if), inputs)
    if markdown and not as_json:
        output.stdout.out(cost_markdown(report), end="")
        return

    def human() -> None:
        output.stdout.print(_cost_table(report))
        output.stdout.print(
            f"inputs: {inputs.gpu} at ${inputs.price_per_hour:g}/h, "
            f"{inputs.seconds_per_step:g} s/step",
            markup=False,
        )
        for note in report.notes:
            output.stdout.print(f"note: {note}", markup=False)

    output.emit(report.as_dict(), as_json, human)


def import_template(
    file: Annotated[Path, typer.Argument(help="A ComfyUI workflow (UI or API format).")],
    as_json: JsonOption = False,
) -> None:
    """Print the models.yaml entries a ComfyUI workflow needs (repo, file, folder, role)."""
    from imagebuilder.comfy.import_template import import_workflow, imported_yaml, read_workflow

    result = import_workflow(read_workflow(file), file.name)
    if as_json:
        output.emit_json(result.as_dict())
        return
    output.stdout.out(imported_yaml(result), end="")


def register(app: typer.Typer) -> None:
    app.command("render-workflows")(render_workflows)
    app.command("check-workflows")(check_workflows)
    app.command()(cost)
    app.command("import-template")(import_template)
