"""One image per A/B variant, every shared model layer built once.

Each variant renders its own build context (build/<variant>/): the same Dockerfile
steps for the shared files, so the engine's cache and the registry's blob store hold
one copy of each model layer; only the variant's own LoRA (if it has one), its lock
and its workflows make new layers. `build` comes here when models.yaml declares
variants; `build-variants` says so explicitly and refuses a stack without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagebuilder.comfy.checks import Problem, require_consistent
from imagebuilder.comfy.workflows import TEMPLATES_DIR, rendered_workflow_files
from imagebuilder.errors import ConfigError
from imagebuilder.image.build import ImageBuild, Log, connect_engine, push_verified
from imagebuilder.image.layers import FileUrl, refuse_oversized_layers
from imagebuilder.image.plan import CONTENT_HASH_LABEL, image_tags
from imagebuilder.image.render import find_template, render_build, write_build_context
from imagebuilder.project.config import Config
from imagebuilder.project.lock import Lock
from imagebuilder.project.variants import VariantStack, differing_entries, stacks, variant_lock

if TYPE_CHECKING:
    from imagebuilder.image.engine import Engine

VARIANT_LABEL = "io.imagebuilder.variant"


def require_variants(config: Config, config_path: Path) -> None:
    if not config.variants:
        raise ConfigError(
            "models.yaml declares no variants",
            location=str(config_path),
            hint="add a 'variants:' section, or build the one stack with `imagebuilder build`",
        )


def variant_tags(name: str, content_tag: str, extra: tuple[str, ...], baseline: bool) -> list[str]:
    """`<variant>`, `models-<hash>`, and each --tag as `<tag>-<variant>` (bare for the
    baseline too, so `--tag v1.2` still names the image users run by default)."""
    tags = image_tags(name, [content_tag, *(f"{tag}-{name}" for tag in extra)])
    return tags + [tag for tag in extra if baseline and tag not in tags]


def _build_one(
    engine: Engine,
    stack: VariantStack,
    lock: Lock,
    all_config: Config,
    plan: ImageBuild,
    *,
    file_url: FileUrl,
    progress: Log,
) -> dict[str, Any]:
    name = stack.name or "default"
    rendered = render_build(
        stack.config,
        variant_lock(lock, stack.config),
        find_template(plan.project).read_text(encoding="utf-8"),
        file_url,
        workflows=rendered_workflow_files(all_config, plan.project, stack.name),
    )
    context = plan.build_dir / name
    write_build_context(rendered, context)
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
    config: Config, lock: Lock, plan: ImageBuild, *, file_url: FileUrl, progress: Log, log: Log
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Build (and push) every variant in order; layers shared with an earlier one are
    reused. Returns the results and the workflows' warnings."""
    warnings: list[Problem] = []
    if (plan.project / TEMPLATES_DIR).is_dir():  # before any build
        warnings = require_consistent(config, plan.project / TEMPLATES_DIR)
    if plan.push:
        refuse_oversized_layers(config, lock, plan.repository)
    engine = connect_engine()
    try:
        built = []
        for stack in stacks(config):
            log(f"building variant {stack.name or 'default'} ...")
            built.append(
                _build_one(engine, stack, lock, config, plan, file_url=file_url, progress=progress)
            )
        if plan.push:
            for result in built:
                result["pushed"] = push_verified(
                    engine, plan.repository, result["tags"], progress, log
                )
    finally:
        engine.close()
    return built, warnings
