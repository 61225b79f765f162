"""render, build, inspect-image and diff: the image made from the locked models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from imagebuilder.cli import output as _output
from imagebuilder.cli._common import (
    DEFAULT_CONFIG,
    ConfigOption,
    ImageOption,
    ImageVersionOption,
    JsonOption,
    RevisionOption,
    SourceOption,
    load,
    make_hub,
)
from imagebuilder.cli._imaging import Progress, build_variants_and_report

BuildDirOption = Annotated[
    Path, typer.Option("--build-dir", help="Where the Dockerfile and its context go.")
]
DEFAULT_BUILD_DIR = Path("build")


def render(
    config: ConfigOption = DEFAULT_CONFIG,
    build_dir: BuildDirOption = DEFAULT_BUILD_DIR,
    hub_secret: Annotated[
        bool,
        typer.Option(
            "--hub-secret",
            help="Read a Hub token from the BuildKit secret 'hf_token' (gated repos; "
            "needs `DOCKER_BUILDKIT=1 docker build --secret id=hf_token,env=HF_TOKEN`).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write build/Dockerfile and its context from templates/Dockerfile.j2 and the lock."""
    from imagebuilder.image.build import render_project
    from imagebuilder.project.lock import require_current

    loaded, lock_file, lock = load(config)
    current = require_current(loaded.config, lock, lock_file)
    build = render_project(
        loaded.config, current, config.resolve().parent, build_dir, make_hub().file_url,
        hub_secret=hub_secret,
    )  # fmt: skip
    result = {
        "build_dir": str(build_dir),
        "files": sorted(build.files),
        "content_tag": build.content_tag,
        "layers": [{"name": layer.name, "size": layer.size} for layer in build.layers],
    }
    _output.emit(
        result,
        as_json,
        lambda: _output.stdout.print(
            f"wrote {build_dir}/Dockerfile ({len(build.layers)} model layers, "
            f"tag {build.content_tag})"
        ),
    )


def build(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    build_dir: BuildDirOption = DEFAULT_BUILD_DIR,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Extra tag.")] = None,
    push: Annotated[bool, typer.Option("--push", help="Push every tag, check digests.")] = False,
    image: ImageOption = None,
    version: ImageVersionOption = "dev",
    revision: RevisionOption = None,
    source: SourceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render, build with the Docker Engine, tag by content hash (+ --tag), optionally push.

    With variants in models.yaml: one image per variant (see `build-variants`).
    """
    from imagebuilder.image.build import ImageBuild, build_args, build_image
    from imagebuilder.project.lock import require_current

    loaded, lock_file, lock = load(config)
    current = require_current(loaded.config, lock, lock_file)
    plan = ImageBuild(
        project=config.resolve().parent,
        build_dir=build_dir,
        repository=image or loaded.config.image.name,
        build_args=build_args(version, revision, source),
        extra_tags=tuple(tag or []),
        push=push,
    )
    if loaded.config.variants:  # one image per variant, sharing every model layer
        build_variants_and_report(loaded.config, current, plan, as_json)
        return
    with Progress() as progress:
        result = build_image(
            loaded.config, current, plan,
            file_url=make_hub().file_url, progress=progress, log=_output.log,
        )  # fmt: skip
    repository, tags, pushed = plan.repository, result["tags"], result["pushed"]

    def human() -> None:
        _output.stdout.print(f"built {repository}:{tags[0]} ({result['image_id'][:19]})")
        for entry in pushed:
            _output.stdout.print(f"pushed {repository}:{entry['tag']}@{entry['digest']}")

    _output.emit(result, as_json, human)


def inspect_image(
    image: Annotated[
        str, typer.Argument(help="Image reference: in the local engine, else in its registry.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Which models an image carries, read from its labels (local engine or registry)."""
    from rich.table import Table

    from imagebuilder.image.records import records_of

    records = records_of(image)

    def human() -> None:
        table = Table("entry", "repo", "file", "commit", "sha256", "size")
        for name, record in sorted(records.items()):
            # Labels come from an image anyone could have built: never raw to a terminal.
            table.add_row(
                *(
                    _output.printable(text)
                    for text in (
                        name,
                        str(record["repo"]),
                        str(record["file"]),
                        str(record["commit"])[:12],
                        str(record["sha256"])[:12],
                        str(record["size"]),
                    )
                )
            )
        _output.stdout.print(table)

    _output.emit({"image": image, "models": records}, as_json, human)


def diff(
    left: Annotated[str, typer.Argument(help="Image reference or models.yaml path.")],
    right: Annotated[str, typer.Argument(help="Image reference or models.yaml path.")],
    as_json: JsonOption = False,
) -> None:
    """Model differences between two images, or an image and models.yaml (+ lock)."""
    from imagebuilder.errors import ConfigError
    from imagebuilder.image.plan import diff_records
    from imagebuilder.image.records import records_of

    if left == right:
        raise ConfigError(
            "diff needs two different sources",
            location=left,
            hint="compare two images, or an image and a models.yaml: "
            "`imagebuilder diff IMAGE models.yaml`",
        )
    changes = diff_records(records_of(left), records_of(right))

    def human() -> None:
        if not changes:
            _output.stdout.print("same models")
        for change in changes:
            _output.stdout.print(_output.printable(f"{change.kind}: {change.name}"))
            for field, (a, b) in change.fields.items():
                _output.stdout.print(_output.printable(f"  {field}: {a} -> {b}"))

    result: dict[str, Any] = {
        "left": left,
        "right": right,
        "identical": not changes,
        "changes": [change.as_dict() for change in changes],
    }
    _output.emit(result, as_json, human)


def register(app: typer.Typer) -> None:
    app.command()(render)
    app.command()(build)
    app.command("inspect-image")(inspect_image)
    app.command()(diff)
