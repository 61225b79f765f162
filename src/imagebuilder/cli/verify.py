"""`imagebuilder verify`: every pinned file's header, size, LoRA fit and the memory budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption, load_locked, make_hub

if TYPE_CHECKING:
    from rich.table import Table

    from imagebuilder.weights.budget import Budget


def _budget_table(budget: Budget) -> Table:
    from rich.table import Table

    from imagebuilder.weights.budget import gib

    table = Table("stage", "components", "weights", title="GPU memory, stage by stage")
    for stage in budget.stages:
        table.add_row(stage.name, ", ".join(stage.components), gib(stage.weight_bytes))
    table.add_row("peak", budget.peak_stage, f"{gib(budget.peak_bytes)} of {gib(budget.gpu_bytes)}")
    table.add_row("image", "all model files", gib(budget.total_bytes))
    return table


def verify(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Check every pinned file remotely (headers, sizes, LoRA fit) and the memory budget."""
    from rich.table import Table

    from imagebuilder.comfy.project import workflow_summary
    from imagebuilder.errors import ExitCode
    from imagebuilder.weights.verify import check_stack, stack_budget

    loaded, _, lock = load_locked(config)
    # The workflows first: they are local and cheap, and a graph pointing at a file the
    # image does not hold fails the job whatever the headers say (WorkflowError, exit 11).
    workflows = workflow_summary(loaded.config, config)
    output.warn_each(w.render() for w in workflows.warnings)
    report = check_stack(loaded.config, lock, make_hub())
    report["workflows"] = workflows.as_dict()
    budget = stack_budget(loaded.config, lock)  # pure and cheap: for the table

    def human() -> None:
        files = Table("entry", "precision", "architecture", "tensors", "parameters", "bytes")
        for name, info in report["files"].items():
            arch = info["architecture"]
            files.add_row(name, info["precision_label"], arch.get("family", "?"),
                          f"{info['tensor_count']:,}", f"{info['parameter_count']:,}",
                          f"{info['file_size']:,}")  # fmt: skip
        output.stdout.print(files)
        output.stdout.print(_budget_table(budget))
        for name, check in report["lora_checks"].items():
            verdict = "applies" if check["applies"] else "DOES NOT APPLY"
            output.stdout.print(f"{name} -> {check['base']}: {verdict} "
                                 f"({check['matched']}/{check['targets']} targets)")  # fmt: skip

    output.emit(report, as_json, human)
    for warning in report["warnings"]:
        output.warn(warning)
    if report["problems"]:
        for problem in report["problems"]:
            output.stderr.print(f"check failed: {problem}", markup=False, style="red")
        raise typer.Exit(code=int(ExitCode.CHECK_FAILED))


def register(app: typer.Typer) -> None:
    app.command()(verify)
