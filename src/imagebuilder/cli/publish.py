"""`imagebuilder publish`: assemble the image in the registry, no daemon, no local copy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    load_locked,
    make_hub,
    warn_without_workflows,
)

if TYPE_CHECKING:
    from rich.table import Table

    from imagebuilder.image.publish.request import PublishResult

TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Tag to point at the image (repeatable)."),
]


def _report_table(result: PublishResult) -> Table:
    from rich.table import Table

    table = Table("layer", "name", "action", "bytes", "from Hub", "sent", "seconds")
    for layer in result.layers:
        table.add_row(
            layer.kind, layer.name, layer.action, f"{layer.size:,}", f"{layer.hub_bytes:,}",
            f"{layer.sent_bytes:,}", f"{layer.seconds:.2f}",
        )  # fmt: skip
    return table


def publish_command(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    tag: TagOption = None,
    image: Annotated[
        str | None, typer.Option(help="Target repository (default: image.name).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Recompute the digest; compare with the tag. Moves nothing."),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="With --check: fail when the lock has no layer digest for a file, instead "
            "of streaming and hashing it from the Hub.",
        ),
    ] = False,
    source: Annotated[str, typer.Option(help="org.opencontainers.image.source")] = "unknown",
    revision: Annotated[str, typer.Option(help="org.opencontainers.image.revision")] = "unknown",
    version: Annotated[
        str,
        # --image-version as in `build`: --version is the global option only.
        typer.Option("--image-version", help="org.opencontainers.image.version"),
    ] = "dev",
    parallel: Annotated[int, typer.Option(min=1, max=16, help="Model layers at once.")] = 3,
    previous: Annotated[
        list[str] | None,
        typer.Option(
            help="Tag of an earlier publish whose layers may be reused when the lock has no "
            "layer digests (repeatable; the --tag values are always tried)."
        ),
    ] = None,
    split_large_files: Annotated[
        bool,
        typer.Option(
            "--split-large-files",
            help="Publish files over the registry's layer limit as parts in separate layers, "
            "joined by a small entrypoint step when the container starts.",
        ),
    ] = False,
    variant: Annotated[
        str | None,
        typer.Option(
            help="With variants in models.yaml: the one to publish (its own LoRA and "
            "workflows; tagged with its name unless --tag is given)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Publish the image straight into the registry: only what changed moves."""
    from imagebuilder.errors import ExitCode
    from imagebuilder.image.publish.prepare import PublishOptions, publish_project

    if strict and not check:
        raise typer.BadParameter("--strict applies to --check only", param_hint="--strict")
    warn_without_workflows(config)
    loaded, _, lock = load_locked(config)
    options = PublishOptions(
        image=image, tags=list(tag or []), parallel=parallel, previous=previous,
        split=split_large_files, variant=variant, check_only=check, strict=strict,
        labels={"source": source, "revision": revision, "version": version},
    )  # fmt: skip
    request, result = publish_project(
        loaded.config, config, lock, make_hub(), options, log=output.log
    )
    matches = result.current_digest == result.digest

    def human() -> None:
        output.stdout.print(_report_table(result))
        refs = ", ".join(f"{request.target.name}:{t}" for t in result.tags)
        if check:
            state = "matches" if matches else f"differs (registry has {result.current_digest})"
            output.stdout.print(f"{result.digest}: {state}")
        else:
            output.stdout.print(f"{request.target.name}@{result.digest}\ntagged: {refs}")

    data = result.as_dict() | ({"matches": matches} if check else {})
    output.emit(data, as_json, human)
    if check and not matches:
        raise typer.Exit(code=int(ExitCode.CHECK_FAILED))


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_command)
