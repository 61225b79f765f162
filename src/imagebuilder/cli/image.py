"""render, build, build-variants, inspect-image and diff: the image made from the locked
models (one image, or one per A/B variant sharing every common layer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import (
    DEFAULT_CONFIG,
    ConfigOption,
    ImageOption,
    ImageVersionOption,
    JsonOption,
    RevisionOption,
    SourceOption,
    load,
    load_locked,
    make_hub,
    warn_without_workflows,
)
from imagebuilder.cli._imaging import Progress, build_variants_and_report

if TYPE_CHECKING:
    from imagebuilder.image.build import ImageBuild

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
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant", help="Render one variant's image (its LoRA, sampler and workflows)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write build/Dockerfile and its context from templates/Dockerfile.j2 and the lock."""
    from imagebuilder.image.build import render_project

    warn_without_workflows(config)
    loaded, _, current = load_locked(config)
    build = render_project(
        loaded.config, current, config.resolve().parent, build_dir, make_hub().file_url,
        hub_secret=hub_secret, variant=variant,
    )  # fmt: skip
    result = {
        "build_dir": str(build_dir),
        "files": sorted(build.files),
        "content_tag": build.content_tag,
        "layers": [{"name": layer.name, "size": layer.size} for layer in build.layers],
    }
    output.emit(
        result,
        as_json,
        lambda: output.stdout.print(
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
    from imagebuilder.image.build import build_image

    warn_without_workflows(config)
    loaded, _, current = load_locked(config)
    plan = _image_build(config, loaded.config.image.name, build_dir, push=push, image=image,
                        tag=tag, version=version, revision=revision, source=source)  # fmt: skip
    if loaded.config.variants:  # one image per variant, sharing every model layer
        build_variants_and_report(loaded.config, current, plan, as_json)
        return
    with Progress() as progress:
        result = build_image(
            loaded.config, current, plan,
            file_url=make_hub().file_url, progress=progress, log=output.log,
        )  # fmt: skip
    repository, tags, pushed = plan.repository, result["tags"], result["pushed"]

    def human() -> None:
        output.stdout.print(f"built {repository}:{tags[0]} ({result['image_id'][:19]})")
        for entry in pushed:
            output.stdout.print(f"pushed {repository}:{entry['tag']}@{entry['digest']}")

    output.emit(result, as_json, human)


def build_variants(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    build_dir: Annotated[
        Path, typer.Option("--build-dir", help="Contexts go in <build-dir>/<variant>/.")
    ] = DEFAULT_BUILD_DIR,
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
    from imagebuilder.image.variants import require_variants
    from imagebuilder.project.lock import require_current

    warn_without_workflows(config)
    loaded, lock_file, lock = load(config)
    require_variants(loaded.config, config)  # before the lock: the clearer mistake first
    current = require_current(loaded.config, lock, lock_file)
    plan = _image_build(config, loaded.config.image.name, build_dir, push=push, image=image,
                        tag=tag, version=version, revision=revision, source=source)  # fmt: skip
    build_variants_and_report(loaded.config, current, plan, as_json)


def _image_build(
    config: Path,
    default_image: str,
    build_dir: Path,
    *,
    push: bool,
    image: str | None,
    tag: list[str] | None,
    version: str,
    revision: str | None,
    source: str | None,
) -> ImageBuild:
    from imagebuilder.image.build import ImageBuild, build_args

    return ImageBuild(
        project=config.resolve().parent,
        build_dir=build_dir,
        repository=image or default_image,
        build_args=build_args(version, revision, source),
        extra_tags=tuple(tag or []),
        push=push,
    )


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
                    output.printable(text)
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
        output.stdout.print(table)

    output.emit({"image": image, "models": records}, as_json, human)


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
            output.stdout.print("same models")
        for change in changes:
            output.stdout.print(output.printable(f"{change.kind}: {change.name}"))
            for field, (a, b) in change.fields.items():
                output.stdout.print(output.printable(f"  {field}: {a} -> {b}"))

    result: dict[str, Any] = {
        "left": left,
        "right": right,
        "identical": not changes,
        "changes": [change.as_dict() for change in changes],
    }
    output.emit(result, as_json, human)


def register(app: typer.Typer) -> None:
    app.command()(render)
    app.command()(build)
    app.command("inspect-image")(inspect_image)
    app.command()(diff)
    app.command("build-variants")(build_variants)  # after diff: the order --help lists
