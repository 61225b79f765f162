"""render, build, inspect-image and diff: the image made from the locked models."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.status import Status
from rich.table import Table

from imagebuilder import _output
from imagebuilder.commands._common import ConfigOption, JsonOption, load, make_hub
from imagebuilder.configload import DEFAULT_CONFIG
from imagebuilder.docker_engine import Engine
from imagebuilder.errors import ConfigError, DockerError, PushFailed
from imagebuilder.image_plan import (
    CONTENT_HASH_LABEL,
    ModelRecords,
    check_layer_limits,
    diff_records,
    image_tags,
    records_from_labels,
    records_from_lock,
)
from imagebuilder.lockfile import require_current
from imagebuilder.registry_client import ImageName, RegistryClient
from imagebuilder.render import (
    RenderedBuild,
    find_template,
    render_build,
    write_build_context,
)
from imagebuilder.workflows import rendered_workflow_files

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


class _Progress:
    """Build output on stderr: a live status line on a terminal, step headers in CI."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty() and not _output.in_ci()
        self.status: Status | None = None

    def __enter__(self) -> _Progress:
        if self.live:
            self.status = _output.stderr.status("building ...")
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(None, None, None)

    def __call__(self, line: str) -> None:
        if self.status is not None:
            self.status.update(line[:120])
        elif line.startswith(("Step ", "Successfully")):
            _output.log(line[:160])


def _build_args(version: str, revision: str | None, source: str | None) -> dict[str, str]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    created = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return {
        "IMAGE_VERSION": version,
        "IMAGE_REVISION": revision or os.environ.get("GITHUB_SHA", "unknown"),
        "IMAGE_SOURCE": source or (f"{server}/{repo}" if server and repo else "unknown"),
        "IMAGE_CREATED": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _push_all(
    engine: Engine, repository: str, tags: list[str], progress: _Progress
) -> list[dict[str, str]]:
    name = ImageName.parse(repository)
    credentials = engine.registry_credentials(name.registry)
    client = RegistryClient(
        name.registry,
        credentials.username if credentials else None,
        credentials.password if credentials else None,
    )
    pushed = []
    try:
        for tag in tags:
            _output.log(f"pushing {repository}:{tag} ...")
            digest = engine.push(repository, tag, credentials, progress)
            served = client.manifest_digest(name.repository, tag)
            if served != digest:
                raise PushFailed(
                    f"the registry serves {served} for this tag, the push reported {digest}",
                    location=f"{repository}:{tag}",
                    hint="another push may have raced this one; push again",
                )
            pushed.append({"tag": tag, "digest": digest})
    finally:
        client.close()
    return pushed


def build(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    build_dir: BuildDirOption = DEFAULT_BUILD_DIR,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Extra tag.")] = None,
    push: Annotated[bool, typer.Option("--push", help="Push every tag, check digests.")] = False,
    image: Annotated[
        str | None, typer.Option("--image", help="Repository to tag (default: image.name).")
    ] = None,
    version: Annotated[str, typer.Option("--image-version", help="OCI version label.")] = "dev",
    revision: Annotated[str | None, typer.Option(help="OCI revision label.")] = None,
    source: Annotated[str | None, typer.Option(help="OCI source label.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Render, build with the Docker Engine, tag by content hash (+ --tag), optionally push."""
    loaded, lock_file, lock = load(config)
    current = require_current(loaded.config, lock, lock_file)
    repository = image or loaded.config.image.name
    if push:
        check_layer_limits(loaded.config, current, repository)  # before any byte is built
    _, rendered = _render(config, build_dir, hub_secret=False)
    engine = Engine.connect()
    try:
        tags = image_tags(rendered.content_tag, tag or [])
        with _Progress() as progress:
            image_id = engine.build(
                build_dir,
                tag=f"{repository}:{tags[0]}",
                base=rendered.base,
                build_args=_build_args(version, revision, source),
                labels={CONTENT_HASH_LABEL: rendered.content_hash},
                progress=progress,
            )
            for extra in tags[1:]:
                engine.tag(image_id, repository, extra)
            pushed = _push_all(engine, repository, tags, progress) if push else []
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


def _records_of(source: str) -> ModelRecords:
    """An image in the local engine, or a models.yaml (with its lock)."""
    if source.endswith((".yaml", ".yml")) and Path(source).is_file():
        loaded, lock_file, lock = load(Path(source))
        return records_from_lock(loaded.config, require_current(loaded.config, lock, lock_file))
    engine = Engine.connect()
    try:
        labels = engine.image_labels(source)
    finally:
        engine.close()
    records = records_from_labels(labels)
    if not records:
        raise DockerError(
            "the image carries no imagebuilder model labels",
            location=source,
            hint="only images built by `imagebuilder build` record their models",
        )
    return records


def inspect_image(
    image: Annotated[str, typer.Argument(help="Image reference in the local engine.")],
    as_json: JsonOption = False,
) -> None:
    """Which models an image carries, read from its labels."""
    records = _records_of(image)

    def human() -> None:
        table = Table("entry", "repo", "file", "commit", "sha256", "size")
        for name, record in sorted(records.items()):
            table.add_row(
                name,
                str(record["repo"]),
                str(record["file"]),
                str(record["commit"])[:12],
                str(record["sha256"])[:12],
                str(record["size"]),
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
        raise ConfigError("diff needs two different sources")
    changes = diff_records(_records_of(left), _records_of(right))

    def human() -> None:
        if not changes:
            _output.stdout.print("same models")
        for change in changes:
            _output.stdout.print(f"{change.kind}: {change.name}")
            for field, (a, b) in change.fields.items():
                _output.stdout.print(f"  {field}: {a} -> {b}")

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
