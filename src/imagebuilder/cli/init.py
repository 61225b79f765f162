"""`imagebuilder init`: scaffold a project (models.yaml + workflows) to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import JsonOption


def init(
    folder: Annotated[Path, typer.Argument(help="The project folder (created if missing).")] = Path(
        "."
    ),
    stack: Annotated[
        str,
        typer.Option(
            "--stack",
            help="The shipped stack to start from: qwen-image-edit, flux-kontext or wan2.2-i2v.",
        ),
    ] = "qwen-image-edit",
    as_json: JsonOption = False,
) -> None:
    """Write models.yaml, the workflow templates and their node schema into FOLDER.

    Never overwrites: a folder that already holds any of the files is left as it is
    (exit 3). Next: `imagebuilder validate`, `lock`, `verify`, `render`.
    """
    from imagebuilder.project.scaffold import stack_files, write_project

    written = write_project(folder, stack_files(stack))
    result = {"folder": str(folder), "stack": stack, "written": written}

    def human() -> None:
        output.stdout.print(f"{folder}: {len(written)} files from the {stack} stack")
        for name in written:
            output.stdout.print(f"  {name}")
        output.stdout.print("next: imagebuilder validate && imagebuilder lock")

    output.emit(result, as_json, human)


def register(app: typer.Typer) -> None:
    app.command()(init)
