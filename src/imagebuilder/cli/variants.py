"""`imagebuilder build-variants`: one image per A/B variant, every shared layer built once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imagebuilder.cli._common import (
    DEFAULT_CONFIG,
    ConfigOption,
    ImageOption,
    ImageVersionOption,
    JsonOption,
    RevisionOption,
    SourceOption,
    load,
)
from imagebuilder.cli._imaging import build_variants_and_report


def build_variants(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    build_dir: Annotated[
        Path, typer.Option("--build-dir", help="Contexts go in <build-dir>/<variant>/.")
    ] = Path("build"),
    push: Annotated[bool, typer.Option("--push", help="Push every variant's tags.")] = False,
    image: ImageOption = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="Extra tag: <tag>-<variant>, plain on the baseline."),
    ] = None,
    version: ImageVersionOption = "dev",
    revision: RevisionOption = None,
    source: SourceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build one image per variant in models.yaml, tagged by variant name, sharing layers."""
    from imagebuilder.image.build import ImageBuild, build_args
    from imagebuilder.image.variants import require_variants
    from imagebuilder.project.lock import require_current

    loaded, lock_file, lock = load(config)
    require_variants(loaded.config, config)
    current = require_current(loaded.config, lock, lock_file)
    plan = ImageBuild(
        project=config.resolve().parent,
        build_dir=build_dir,
        repository=image or loaded.config.image.name,
        build_args=build_args(version, revision, source),
        extra_tags=tuple(tag or []),
        push=push,
    )
    build_variants_and_report(loaded.config, current, plan, as_json)


def register(app: typer.Typer) -> None:
    app.command("build-variants")(build_variants)
