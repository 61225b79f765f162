"""render-workflows, check-workflows, cost and import-template."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from imagebuilder.cli import output as _output
from imagebuilder.cli._common import ConfigOption, JsonOption
from imagebuilder.comfy.checks import Severity, check_stack, require_consistent
from imagebuilder.comfy.cost import CostReport, arms_from_config, compute, load_inputs
from imagebuilder.comfy.import_template import ImportResult, import_workflow, read_workflow
from imagebuilder.comfy.workflows import TEMPLATES_DIR, render_all
from imagebuilder.errors import ExitCode
from imagebuilder.project.atomic import atomic_write_text
from imagebuilder.project.config import Config
from imagebuilder.project.load import DEFAULT_CONFIG, load_config
from imagebuilder.project.variants import stacks
from imagebuilder.project.yamlsource import round_trip_yaml

VariantOption = Annotated[
    str | None, typer.Option("--variant", help="Render for this variant (default: each one).")
]


def templates_dir_for(config_path: Path) -> Path:
    """workflows/ beside models.yaml: the templates belong to the project, like the pins."""
    return config_path.parent / TEMPLATES_DIR


def render_workflows(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", help="Folder for the rendered workflows.")] = Path(
        "build/workflows"
    ),
    variant: VariantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render workflows/*.json with the pinned files and sampler settings (plus index.json)."""
    loaded = load_config(config)
    templates = templates_dir_for(config)
    require_consistent(loaded.config, templates)
    names = [variant] if variant else [s.name for s in stacks(loaded.config)]
    written: dict[str, list[str]] = {}
    for name in names:
        target = out / name if name and not variant else out
        files = render_all(loaded.config, name, templates_dir=templates)
        for file_name, text in files.items():
            atomic_write_text(target / file_name, text)
        written[name or "default"] = [str(target / file_name) for file_name in files]

    def human() -> None:
        for paths in written.values():
            for path in paths:
                _output.stdout.print(path, markup=False)

    _output.emit({"written": written}, as_json, human)


def check_workflows(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Check every workflow, as every variant renders it, against the pinned stack."""
    loaded = load_config(config)
    problems = check_stack(loaded.config, templates_dir_for(config))

    def human() -> None:
        for problem in problems:
            _output.stdout.print(f"{problem.severity.value}: {problem.render()}", markup=False)
        if not problems:
            _output.stdout.print("workflows: consistent with models.yaml")

    _output.emit({"problems": [p.as_dict() for p in problems]}, as_json, human)
    if any(p.severity is Severity.ERROR for p in problems):
        raise typer.Exit(code=int(ExitCode.WORKFLOW))


def workflow_summary(config: Config, config_path: Path) -> dict[str, Any]:
    """For `validate`: raises WorkflowError on errors, logs warnings, returns a summary."""
    templates = templates_dir_for(config_path)
    if not templates.is_dir():  # a project without workflows ships none: nothing to check
        return {"templates": None, "consistent": True, "warnings": []}
    warnings = require_consistent(config, templates)
    return {
        "templates": str(templates),
        "consistent": True,
        "warnings": [w.as_dict() for w in warnings],
    }


def _cost_table(report: CostReport) -> Table:
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


def cost_markdown(report: CostReport) -> str:
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
    what_if = _parse_steps(steps)
    loaded = load_config(config)
    inputs = load_inputs(loaded.config, measurements, loaded.where(("cost",)))
    report = compute(arms_from_config(loaded.config, what_if), inputs)
    if markdown and not as_json:
        _output.stdout.out(cost_markdown(report), end="")
        return

    def human() -> None:
        _output.stdout.print(_cost_table(report))
        _output.stdout.print(
            f"inputs: {inputs.gpu} at ${inputs.price_per_hour:g}/h, "
            f"{inputs.seconds_per_step:g} s/step",
            markup=False,
        )
        for note in report.notes:
            _output.stdout.print(f"note: {note}", markup=False)

    _output.emit(report.as_dict(), as_json, human)


def imported_yaml(result: ImportResult) -> str:
    models = {entry.name: entry.yaml_fields() for entry in result.entries}
    buffer = io.StringIO()
    round_trip_yaml().dump({"models": models}, buffer)  # keeps the entries' order
    header = [f"# models.yaml entries for {result.source} ({result.format} format)"]
    header += [
        f"# repo unknown (no URL in the workflow): {e.name}" for e in result.entries if not e.repo
    ]
    header += [f"# skipped: {reason}" for reason in result.skipped]
    return "\n".join(header) + "\n" + buffer.getvalue()


def import_template(
    file: Annotated[Path, typer.Argument(help="A ComfyUI workflow (UI or API format).")],
    as_json: JsonOption = False,
) -> None:
    """Print the models.yaml entries a ComfyUI workflow needs (repo, file, folder, role)."""
    result = import_workflow(read_workflow(file), file.name)
    if as_json:
        _output.emit_json(result.as_dict())
        return
    _output.stdout.out(imported_yaml(result), end="")


def register(app: typer.Typer) -> None:
    app.command("render-workflows")(render_workflows)
    app.command("check-workflows")(check_workflows)
    app.command()(cost)
    app.command("import-template")(import_template)
