"""render, build, inspect-image and diff: the image made from the locked models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from imagebuilder.cli import output as _output
from imagebuilder.cli._common import (
    ConfigOption,
    ImageOption,
    ImageVersionOption,
    JsonOption,
    RevisionOption,
    SourceOption,
    load,
    make_hub,
)
from imagebuilder.cli._imaging import Progress, build_args, connect_engine, push_verified
from imagebuilder.cli.variants import build_variants
from imagebuilder.comfy.workflows import rendered_workflow_files
from imagebuilder.errors import ConfigError, DockerError, EngineUnavailable
from imagebuilder.image.plan import (
    CONTENT_HASH_LABEL,
    ModelRecords,
    check_layer_limits,
    diff_records,
    image_tags,
    records_from_labels,
    records_from_lock,
)
from imagebuilder.image.publish.labels import registry_labels
from imagebuilder.image.render import (
    RenderedBuild,
    find_template,
    render_build,
    write_build_context,
)
from imagebuilder.project.load import DEFAULT_CONFIG
from imagebuilder.project.lock import require_current

BuildDirOption = Annotated[
    Path, typer.Option("--build-dir", help="Where the Dockerfile and its context go.")
]
DEFAULT_BUILD_DIR = Path("build")


def _render(config_path: Path, build_dir: Path, hub_secret: bool) -> tuple[Any, RenderedBuild]:
    loaded, lock_file, lock = load(config_path)
    current = require_current(loaded.config, lock, lock_file)
    project = config_path.resolve().parent
    build = render_build(
        loaded.config,
        current,
        find_template(project).read_text(encoding="utf-8"),
        make_hub().file_url,
        workflows=rendered_workflow_files(loaded.config, project),
        hub_secret=hub_secret,
    )
    write_build_context(build, build_dir)
    return loaded.config, build


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
    _, build = _render(config, build_dir, hub_secret)
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
    loaded, lock_file, lock = load(config)
    current = require_current(loaded.config, lock, lock_file)
    repository = image or loaded.config.image.name
    if loaded.config.variants:  # one image per variant, sharing every model layer
        build_variants(
            config=config, build_dir=build_dir, push=push, image=image, tag=tag,
            version=version, revision=revision, source=source, as_json=as_json,
        )  # fmt: skip
        return
    if push:
        check_layer_limits(loaded.config, current, repository)  # before any byte is built
    _, rendered = _render(config, build_dir, hub_secret=False)
    engine = connect_engine()
    try:
        tags = image_tags(rendered.content_tag, tag or [])
        with Progress() as progress:
            image_id = engine.build(
                build_dir,
                tag=f"{repository}:{tags[0]}",
                base=rendered.base,
                build_args=build_args(version, revision, source),
                labels={CONTENT_HASH_LABEL: rendered.content_hash},
                progress=progress,
            )
            for extra in tags[1:]:
                engine.tag(image_id, repository, extra)
            pushed = push_verified(engine, repository, tags, progress) if push else []
    finally:
        engine.close()
    result = {
        "image": repository,
        "image_id": image_id,
        "tags": tags,
        "content_tag": rendered.content_tag,
        "pushed": pushed,
        "digest": pushed[0]["digest"] if pushed else None,
    }

    def human() -> None:
        _output.stdout.print(f"built {repository}:{tags[0]} ({image_id[:19]})")
        for entry in pushed:
            _output.stdout.print(f"pushed {repository}:{entry['tag']}@{entry['digest']}")

    _output.emit(result, as_json, human)


def _labels_of(image: str) -> dict[str, str]:
    """From the local engine when it holds the image; else straight from its registry
    (what `publish` leaves), so no pull and no running engine are needed."""
    try:
        engine = connect_engine()
    except EngineUnavailable:
        return registry_labels(image)
    try:
        if engine.has_image(image):
            return engine.image_labels(image)
    finally:
        engine.close()
    return registry_labels(image)


def _records_of(source: str) -> ModelRecords:
    """An image (local engine or registry), or a models.yaml (with its lock)."""
    if source.endswith((".yaml", ".yml")):
        if not Path(source).is_file() and ":" not in source:  # meant as a file, not a tag
            raise ConfigError(
                "file not found",
                location=source,
                hint="pass the path of a models.yaml (its lock beside it) or an image reference",
            )
        if Path(source).is_file():
            loaded, lock_file, lock = load(Path(source))
            lock = require_current(loaded.config, lock, lock_file)
            return records_from_lock(loaded.config, lock)
    labels = _labels_of(source)
    records = records_from_labels(labels)
    if not records:
        raise DockerError(
            "the image carries no imagebuilder model labels",
            location=source,
            hint="only images built by `imagebuilder build` record their models",
        )
    return records


def inspect_image(
    image: Annotated[
        str, typer.Argument(help="Image reference: in the local engine, else in its registry.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Which models an image carries, read from its labels (local engine or registry)."""
    records = _records_of(image)

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
    if left == right:
        raise ConfigError(
            "diff needs two different sources",
            location=left,
            hint="compare two images, or an image and a models.yaml: "
            "`imagebuilder diff IMAGE models.yaml`",
        )
    changes = diff_records(_records_of(left), _records_of(right))

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
