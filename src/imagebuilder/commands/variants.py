"""build-variants: one image per A/B variant, every shared model layer built once.

Each variant renders its own build context (build/<variant>/): the same Dockerfile
steps for the shared files, so the engine's cache and the registry's blob store hold
one copy of each model layer; only the variant's own LoRA (if it has one), its lock
and its workflows make new layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from imagebuilder import _output
from imagebuilder.commands._common import ConfigOption, JsonOption, load, make_hub
from imagebuilder.config import Config
from imagebuilder.configload import DEFAULT_CONFIG
from imagebuilder.docker_engine import Credentials, Engine
from imagebuilder.errors import ConfigError, PushFailed
from imagebuilder.image_plan import CONTENT_HASH_LABEL, check_layer_limits, image_tags
from imagebuilder.lockfile import Lock, require_current
from imagebuilder.registry_client import ImageName, RegistryClient
from imagebuilder.render import find_template, render_build, write_build_context
from imagebuilder.variants import VariantStack, differing_entries, stacks, variant_lock
from imagebuilder.workflow_checks import require_consistent
from imagebuilder.workflows import TEMPLATES_DIR, rendered_workflow_files

VARIANT_LABEL = "io.imagebuilder.variant"


def _log_build_steps(line: str) -> None:
    if line.startswith(("Step ", "Successfully")):
        _output.log(line[:160])


def _push_verified(
    engine: Engine, client: RegistryClient, repository: str, tag: str, creds: Credentials | None
) -> dict[str, str]:
    _output.log(f"pushing {repository}:{tag} ...")
    digest = engine.push(repository, tag, creds, _log_build_steps)
    served = client.manifest_digest(ImageName.parse(repository).repository, tag)
    if served != digest:
        raise PushFailed(
            f"the registry serves {served} for this tag, the push reported {digest}",
            location=f"{repository}:{tag}",
            hint="another push may have raced this one; push again",
        )
    return {"tag": tag, "digest": digest}


def _build_one(
    engine: Engine,
    stack: VariantStack,
    lock: Lock,
    *,
    project: Path,
    build_dir: Path,
    repository: str,
    all_config: Config,
) -> dict[str, Any]:
    name = stack.name or "default"
    rendered = render_build(
        stack.config,
        variant_lock(lock, stack.config),
        find_template(project).read_text(encoding="utf-8"),
        make_hub().file_url,
        workflows=rendered_workflow_files(all_config, project, stack.name),
    )
    context = build_dir / name
    write_build_context(rendered, context)
    _output.log(f"building variant {name} ...")
    image_id = engine.build(
        context,
        tag=f"{repository}:{name}",
        base=rendered.base,
        build_args={},
        labels={CONTENT_HASH_LABEL: rendered.content_hash, VARIANT_LABEL: name},
        progress=_log_build_steps,
    )
    tags = image_tags(name, [rendered.content_tag])
    for extra in tags[1:]:
        engine.tag(image_id, repository, extra)
    return {
        "variant": name,
        "baseline": stack.baseline,
        "image_id": image_id,
        "tags": tags,
        "content_tag": rendered.content_tag,
        "own_entries": differing_entries(all_config, name) if stack.name else [],
    }


def build_variants(
    config: ConfigOption = DEFAULT_CONFIG,
    build_dir: Annotated[
        Path, typer.Option("--build-dir", help="Contexts go in <build-dir>/<variant>/.")
    ] = Path("build"),
    push: Annotated[bool, typer.Option("--push", help="Push every variant's tags.")] = False,
    image: Annotated[
        str | None, typer.Option("--image", help="Repository to tag (default: image.name).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build one image per variant in models.yaml, tagged by variant name, sharing layers."""
    loaded, lock_file, lock = load(config)
    if not loaded.config.variants:
        raise ConfigError(
            "models.yaml declares no variants",
            location=str(config),
            hint="add a 'variants:' section, or build the one stack with `imagebuilder build`",
        )
    current = require_current(loaded.config, lock, lock_file)
    project = config.resolve().parent
    if (project / TEMPLATES_DIR).is_dir():
        require_consistent(loaded.config, project / TEMPLATES_DIR)  # before any build
    repository = image or loaded.config.image.name
    if push:
        check_layer_limits(loaded.config, current, repository)
    engine = Engine.connect()
    try:
        built = [
            _build_one(
                engine,
                stack,
                current,
                project=project,
                build_dir=build_dir,
                repository=repository,
                all_config=loaded.config,
            )
            for stack in stacks(loaded.config)
        ]
        if push:
            registry = ImageName.parse(repository).registry
            creds = engine.registry_credentials(registry)
            client = RegistryClient(
                registry, creds.username if creds else None, creds.password if creds else None
            )
            try:
                for result in built:
                    result["pushed"] = [
                        _push_verified(engine, client, repository, tag, creds)
                        for tag in result["tags"]
                    ]
            finally:
                client.close()
    finally:
        engine.close()

    def human() -> None:
        table = Table("variant", "tags", "image id", "own entries")
        for result in built:
            table.add_row(
                result["variant"] + (" (baseline)" if result["baseline"] else ""),
                ", ".join(result["tags"]),
                result["image_id"][:19],
                ", ".join(result["own_entries"]) or "-",
            )
        _output.stdout.print(table)

    _output.emit({"image": repository, "variants": built}, as_json, human)


def register(app: typer.Typer) -> None:
    app.command("build-variants")(build_variants)
