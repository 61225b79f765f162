"""`imagebuilder publish`: assemble the image in the registry, no daemon, no local copy."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from imagebuilder.cli import output as _output
from imagebuilder.cli._common import ConfigOption, JsonOption, load, make_hub
from imagebuilder.comfy.workflows import rendered_workflow_files
from imagebuilder.errors import ConfigError, ExitCode
from imagebuilder.image.publish.plan import (
    check_layer_limits,
    files_layer,
    max_layer_bytes,
    model_labels,
    model_layer_plans,
    oci_labels,
)
from imagebuilder.image.publish.request import PublishRequest, PublishResult
from imagebuilder.image.publish.run import publish
from imagebuilder.image.render import FileUrl
from imagebuilder.oci.auth import find_credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.image import created_time
from imagebuilder.oci.reference import ImageReference, parse_reference
from imagebuilder.oci.transport import RegistryTransport
from imagebuilder.project.config import Config
from imagebuilder.project.load import DEFAULT_CONFIG
from imagebuilder.project.lock import Lock, require_current, write_lock
from imagebuilder.project.variants import effective_config, variant_lock

TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Tag to point at the image (repeatable)."),
]


def _client(host: str) -> RegistryClient:
    return RegistryClient(RegistryTransport(host, find_credentials(host)))


class LockRecorder:
    """Writes each new layer digest into the lock as soon as its blob is committed."""

    def __init__(self, path: Path, lock: Lock):
        self.path, self.lock = path, lock
        self._mutex = threading.Lock()

    def __call__(self, name: str, digest: str) -> None:
        with self._mutex:
            entry = self.lock.models[name].model_copy(update={"layer_digest": digest})
            self.lock = Lock(version=self.lock.version, models={**self.lock.models, name: entry})
            write_lock(self.path, self.lock)


def build_request(
    config: Config,
    lock: Lock,
    project_dir: Path,
    file_url: FileUrl,
    *,
    image: str | None,
    tags: list[str],
    labels: dict[str, str],
    parallel: int,
    previous: list[str] | None = None,
    split: bool = False,
    variant: str | None = None,
) -> PublishRequest:
    """What to publish. With ``variant``: that variant's stack, lock entries and workflows."""
    workflows = rendered_workflow_files(config, project_dir, variant)
    config = effective_config(config, variant)
    lock = variant_lock(lock, config)
    target = parse_reference(image or config.image.name)
    plans = model_layer_plans(config, lock, file_url)
    limit = max_layer_bytes(target.registry, config.image.registries)
    plans = check_layer_limits(plans, target.registry, limit, split=split)
    repository = ImageReference(target.registry, target.repository)
    default_tags = [target.tag] if target.tag else ([variant] if variant else [])
    tags = [repository.with_tag(t).tag or t for t in tags or default_tags]
    created = created_time(os.environ.get("SOURCE_DATE_EPOCH"))
    all_labels = oci_labels(config.image.base, created=created, **labels)
    all_labels |= model_labels(config, lock, file_url)
    return PublishRequest(
        base=parse_reference(config.image.base),
        target=repository,
        tags=tuple(tags),
        plans=tuple(plans),
        files_layer=files_layer(config, lock, workflows, plans),
        labels=all_labels,
        created=created,
        parallel=parallel,
        previous_tags=tuple(previous or ()),
    )


def _require_variant_choice(config: Config, variant: str | None, config_path: Path) -> None:
    """One image per publish: with variants declared, the user says which one."""
    if config.variants and variant is None:
        raise ConfigError(
            f"models.yaml declares variants ({', '.join(config.variants)}); "
            "publish builds one image at a time",
            location=str(config_path),
            hint="publish each with --variant NAME (shared layers are uploaded once)",
        )
    if variant is not None and not config.variants:
        raise ConfigError(
            f"--variant {variant!r}, but models.yaml declares no variants",
            location=str(config_path),
            hint="drop --variant, or add a 'variants:' section",
        )


def _report_table(result: PublishResult) -> Table:
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
    source: Annotated[str, typer.Option(help="org.opencontainers.image.source")] = "unknown",
    revision: Annotated[str, typer.Option(help="org.opencontainers.image.revision")] = "unknown",
    version: Annotated[
        str,
        # --image-version as in `build`; --version stays for scripts written before.
        typer.Option("--image-version", "--version", help="org.opencontainers.image.version"),
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
    loaded, lock_file, current = load(config)
    lock = require_current(loaded.config, current, lock_file)
    _require_variant_choice(loaded.config, variant, config)
    hub = make_hub()
    request = build_request(
        loaded.config, lock, config.resolve().parent, hub.file_url,
        image=image, tags=list(tag or []), parallel=parallel, previous=previous,
        split=split_large_files, variant=variant,
        labels={"source": source, "revision": revision, "version": version},
    )  # fmt: skip
    target = _client(request.target.api_host)
    base = target if request.base.api_host == target.host else _client(request.base.api_host)
    try:
        result = publish(
            hub=hub, target=target, base_registry=base, request=request,
            on_layer=LockRecorder(lock_file, lock), check_only=check, log=_output.log,
        )  # fmt: skip
    finally:
        target.close()
        if base is not target:
            base.close()
    matches = result.current_digest == result.digest

    def human() -> None:
        _output.stdout.print(_report_table(result))
        refs = ", ".join(f"{request.target.name}:{t}" for t in result.tags)
        if check:
            state = "matches" if matches else f"differs (registry has {result.current_digest})"
            _output.stdout.print(f"{result.digest}: {state}")
        else:
            _output.stdout.print(f"{request.target.name}@{result.digest}\ntagged: {refs}")

    data = result.as_dict() | ({"matches": matches} if check else {})
    _output.emit(data, as_json, human)
    if check and not matches:
        raise typer.Exit(code=int(ExitCode.CHECK_FAILED))


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_command)
