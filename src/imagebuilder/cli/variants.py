"""One image per A/B variant, every shared model layer built once.

Each variant renders its own build context (build/<variant>/): the same Dockerfile
steps for the shared files, so the engine's cache and the registry's blob store hold
one copy of each model layer; only the variant's own LoRA (if it has one), its lock
and its workflows make new layers. `build` comes here when models.yaml declares
variants; `build-variants` says so explicitly and refuses a stack without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from imagebuilder.comfy.checks import require_consistent
from imagebuilder.comfy.workflows import TEMPLATES_DIR, rendered_workflow_files
from imagebuilder.errors import ConfigError
from imagebuilder.image.plan import CONTENT_HASH_LABEL, check_layer_limits, image_tags
from imagebuilder.image.render import find_template, render_build, write_build_context
from imagebuilder.project.config import Config
from imagebuilder.project.load import DEFAULT_CONFIG, LoadedConfig
from imagebuilder.project.lock import Lock, require_current
from imagebuilder.project.variants import VariantStack, differing_entries, stacks, variant_lock

VARIANT_LABEL = "io.imagebuilder.variant"

if TYPE_CHECKING:
    from imagebuilder.image.engine import Engine


@dataclass(frozen=True)
class VariantBuild:
    """What every variant's build shares: where, which repository, labels, extra tags."""

    project: Path
    build_dir: Path
    repository: str
    build_args: dict[str, str]
    extra_tags: tuple[str, ...]


def variant_tags(name: str, content_tag: str, extra: tuple[str, ...], baseline: bool) -> list[str]:
    """`<variant>`, `models-<hash>`, and each --tag as `<tag>-<variant>` (bare for the
    baseline too, so `--tag v1.2` still names the image users run by default)."""
    tags = image_tags(name, [content_tag, *(f"{tag}-{name}" for tag in extra)])
    return tags + [tag for tag in extra if baseline and tag not in tags]


def _build_one(
    engine: Engine, stack: VariantStack, lock: Lock, all_config: Config, plan: VariantBuild
) -> dict[str, Any]:
    name = stack.name or "default"
    rendered = render_build(
        stack.config,
        variant_lock(lock, stack.config),
        find_template(plan.project).read_text(encoding="utf-8"),
        make_hub().file_url,
        workflows=rendered_workflow_files(all_config, plan.project, stack.name),
    )
    context = plan.build_dir / name
    write_build_context(rendered, context)
    _output.log(f"building variant {name} ...")
    with Progress() as progress:
        image_id = engine.build(
            context,
            tag=f"{plan.repository}:{name}",
            base=rendered.base,
            build_args=plan.build_args,
            labels={CONTENT_HASH_LABEL: rendered.content_hash, VARIANT_LABEL: name},
            progress=progress,
        )
    tags = variant_tags(name, rendered.content_tag, plan.extra_tags, stack.baseline)
    for extra in tags[1:]:
        engine.tag(image_id, plan.repository, extra)
    return {
        "variant": name,
        "baseline": stack.baseline,
        "image_id": image_id,
        "tags": tags,
        "content_tag": rendered.content_tag,
        "own_entries": differing_entries(all_config, name) if stack.name else [],
        "pushed": [],
    }


def build_all_variants(
    loaded: LoadedConfig, lock: Lock, plan: VariantBuild, *, push: bool
) -> list[dict[str, Any]]:
    """Build (and push) every variant in order; layers shared with an earlier one are reused."""
    if (plan.project / TEMPLATES_DIR).is_dir():
        require_consistent(loaded.config, plan.project / TEMPLATES_DIR)  # before any build
    if push:
        check_layer_limits(loaded.config, lock, plan.repository)
    engine = connect_engine()
    try:
        built = [
            _build_one(engine, stack, lock, loaded.config, plan) for stack in stacks(loaded.config)
        ]
        if push:
            with Progress() as progress:
                for result in built:
                    result["pushed"] = push_verified(
                        engine, plan.repository, result["tags"], progress
                    )
    finally:
        engine.close()
    return built


def emit_variants(repository: str, built: list[dict[str, Any]], as_json: bool) -> None:
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
    loaded, lock_file, lock = load(config)
    if not loaded.config.variants:
        raise ConfigError(
            "models.yaml declares no variants",
            location=str(config),
            hint="add a 'variants:' section, or build the one stack with `imagebuilder build`",
        )
    current = require_current(loaded.config, lock, lock_file)
    plan = VariantBuild(
        project=config.resolve().parent,
        build_dir=build_dir,
        repository=image or loaded.config.image.name,
        build_args=build_args(version, revision, source),
        extra_tags=tuple(tag or []),
    )
    emit_variants(plan.repository, build_all_variants(loaded, current, plan, push=push), as_json)


def register(app: typer.Typer) -> None:
    app.command("build-variants")(build_variants)
