"""`imagebuilder inspect FILE|owner/name/path@rev`: what the safetensors header tells."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from imagebuilder.cli import output as _output
from imagebuilder.cli._common import JsonOption, make_hub
from imagebuilder.errors import FileNotFoundOnHub, PickleFormatRefused
from imagebuilder.project.config import (
    PICKLE_SUFFIXES,
    check_repo_id,
    check_repo_path,
    check_revision,
)
from imagebuilder.weights.compat import check_lora, compare_models
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import HeaderSummary, lora_info, summarize
from imagebuilder.weights.remote import fetch_header, read_local_header, verify_local_file


def read_target(target: str) -> Header:
    """A local file when the path exists, else ``owner/name/path/in/repo[@revision]``."""
    suffix = Path(target.partition("@")[0]).suffix.lower()
    if suffix in PICKLE_SUFFIXES:  # refused by name, local or remote: exit 7, not a usage error
        raise PickleFormatRefused(
            f"{suffix} is a pickle-based format, refused: loading it can run arbitrary code",
            location=target,
            hint="inspect the .safetensors release of this model instead",
        )
    if Path(target).is_file():
        return read_local_header(Path(target))
    ref, _, revision = target.partition("@")
    parts = ref.split("/", 2)
    try:
        if len(parts) != 3:
            raise ValueError(f"{target!r} is neither a file nor owner/name/path[@revision]")
        repo, path = check_repo_id("/".join(parts[:2])), check_repo_path(parts[2])
        revision = check_revision(revision or "main")
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="TARGET") from None
    hub = make_hub()
    remote = hub.snapshot(repo, revision).files.get(path)
    if remote is None:
        raise FileNotFoundOnHub(
            f"{path}: file not found at this revision",
            location=f"{repo}@{revision}",
            hint="check the path inside the repo (case matters) and the revision",
        )
    return fetch_header(hub, remote.repo, path, remote.commit, remote.size)


def _table(summary: HeaderSummary) -> Table:
    title = _output.printable(summary.name)
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
        table.add_row(_output.printable(f"metadata.{key[:60]}"), _output.printable(value[:200]))
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
    if sha256 is not None and not Path(target).is_file():
        # Checking a remote sha256 means downloading the file: refuse rather than skip it.
        raise typer.BadParameter(
            "checks local files only; a remote file's sha256 needs a download "
            "(`imagebuilder lock` takes it from the Hub's metadata)",
            param_hint="--sha256",
        )
    header = read_target(target)
    if sha256 is not None and Path(target).is_file():
        verify_local_file(Path(target), sha256=sha256.lower())
    summary = summarize(header)
    result: dict[str, Any] = summary.as_dict()
    if against is not None:
        other = read_target(against)
        if lora_info(header) is not None:
            result["lora_check"] = check_lora(header, other).as_dict()
        else:
            result["comparison"] = compare_models(header, other).as_dict()

    def human() -> None:
        _output.stdout.print(_table(summary))
        for key in ("lora_check", "comparison"):
            if key in result:
                _output.stdout.print(f"{key}: {result[key]}")

    _output.emit(result, as_json, human)


def register(app: typer.Typer) -> None:
    app.command()(inspect)
