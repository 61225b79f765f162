"""`imagebuilder inspect FILE|owner/name/path@rev`: what the safetensors header tells."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import JsonOption, make_hub

if TYPE_CHECKING:
    from rich.table import Table

    from imagebuilder.weights.inspection import HeaderSummary

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _table(summary: HeaderSummary, needs_engine: dict[str, Any]) -> Table:
    from rich.table import Table

    title = output.printable(summary.name)
    table = Table(title=title, title_justify="left")
    table.add_column("property", no_wrap=True)  # names are never cut; values may wrap
    table.add_column("value", overflow="fold")
    table.add_row("file size", f"{summary.file_size:,} bytes")
    table.add_row("tensors", f"{summary.tensor_count:,}")
    table.add_row("parameters", f"{summary.parameter_count:,}")
    for dtype, size in summary.bytes_by_dtype.items():
        table.add_row(f"bytes {dtype}", f"{size:,}")
    table.add_row("precision", summary.precision_label)
    floor = needs_engine["comfyui"]
    needs = f">= {floor}: {needs_engine['reason']}" if floor else "any (no version marker)"
    table.add_row("needs ComfyUI", output.printable(needs))
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
    target: Annotated[
        str, typer.Argument(help="A local file, owner/name/path@revision, or a Hub file URL.")
    ],
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

    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise typer.BadParameter(
            f"{sha256[:80]!r} is not a sha256: 64 hex digits, as in models.lock.json",
            param_hint="--sha256",
        )
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
    if sha256 is not None:  # a mismatch has raised ChecksumMismatch (exit 8) by now
        result["sha256_verified"] = sha256.lower()
    lines: list[str] = []
    if "lora_check" in result:
        lines = lora_check_lines(result["lora_check"], str(against))
    elif "comparison" in result:
        lines = comparison_lines(result["comparison"], str(against))

    def human() -> None:
        output.stdout.print(_table(summary, result["needs_engine"]))
        if sha256 is not None:
            output.stdout.print(f"sha256: matches {sha256.lower()}")
        for line in lines:
            output.stdout.print(output.printable(line))

    output.emit(result, as_json, human)
    for warning in result.get("lora_check", {}).get("warnings", ()):
        output.warn(warning)


def lora_check_lines(check: dict[str, Any], base: str) -> list[str]:
    """``--against`` for a LoRA: the verdict, then the first mismatches, one a line."""
    verdict = "applies" if check["applies"] else "DOES NOT APPLY"
    lines = [
        f"against: {base}",
        f"LoRA check: {verdict}, {check['matched']}/{check['targets']} targets match "
        f"({check['convention']} keys)",
    ]
    shown = [f"  {m['target']}: {m['problem']}" for m in check["mismatches"]]
    return lines + _and_more(shown, check["total_mismatches"], "more")


def comparison_lines(comparison: dict[str, Any], other: str) -> list[str]:
    """``--against`` for two models: the verdict, what differs, dtype changes."""
    changes = comparison["dtype_changes"]
    dtype = f"; {changes:,} tensors change dtype" if changes else ""
    lines = [f"against: {other}", f"comparison: {comparison['verdict']}{dtype}"]
    shown = [f"  {difference}" for difference in comparison["differences"]]
    return lines + _and_more(shown, comparison["total_differences"], "more differences")


def _and_more(shown: list[str], total: int, more: str) -> list[str]:
    """The first lines of a capped list, then how many were left out."""
    hidden = total - len(shown)
    return [*shown, f"  ... and {hidden} {more}"] if hidden > 0 else shown


def register(app: typer.Typer) -> None:
    app.command()(inspect)
