"""`imagebuilder inspect FILE|owner/name/path@rev`: what the safetensors header tells."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import JsonOption, make_hub

if TYPE_CHECKING:
    from rich.table import Table

    from imagebuilder.weights.inspection import HeaderSummary


def _table(summary: HeaderSummary) -> Table:
    from rich.table import Table

    title = output.printable(summary.name)
    table = Table("property", "value", title=title, title_justify="left")
    table.add_row("file size", f"{summary.file_size:,} bytes")
    table.add_row("tensors", f"{summary.tensor_count:,}")
    table.add_row("parameters", f"{summary.parameter_count:,}")
    for dtype, size in summary.bytes_by_dtype.items():
        table.add_row(f"bytes {dtype}", f"{size:,}")
    table.add_row("precision", summary.precision_label)
    for key, value in summary.architecture.as_dict().items():
        table.add_row(f"architecture.{key}", str(value))
    if summary.lora:
        for key, value in summary.lora.as_dict().items():
            table.add_row(f"lora.{key}", ", ".join(map(str, value)) if isinstance(value, tuple)
                          else str(value))  # fmt: skip
    for key, value in summary.metadata.items():
        # Metadata is free text from the file: no escape sequence reaches the terminal.
        table.add_row(output.printable(f"metadata.{key[:60]}"), output.printable(value[:200]))
    return table


def inspect(
    target: Annotated[str, typer.Argument(help="A local file, or owner/name/path@revision.")],
    against: Annotated[
        str | None,
        typer.Option(help="A base model (for a LoRA) or a second model to compare with."),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="Local files: also check the sha256 (e.g. the lock's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Read a safetensors header (remote: HTTP Range, never a download) and report it."""
    from imagebuilder.weights.targets import TargetSyntaxError, inspect_target

    if sha256 is not None and not Path(target).is_file():
        # Checking a remote sha256 means downloading the file: refuse rather than skip it.
        raise typer.BadParameter(
            "checks local files only; a remote file's sha256 needs a download "
            "(`imagebuilder lock` takes it from the Hub's metadata)",
            param_hint="--sha256",
        )
    try:
        summary, result = inspect_target(target, against, sha256, make_hub)
    except TargetSyntaxError as error:
        raise typer.BadParameter(str(error), param_hint="TARGET") from None

    def human() -> None:
        output.stdout.print(_table(summary))
        for key in ("lora_check", "comparison"):
            if key in result:
                output.stdout.print(f"{key}: {result[key]}")

    output.emit(result, as_json, human)


def register(app: typer.Typer) -> None:
    app.command()(inspect)
