"""From a project to a publish: the request (layers, labels, tags) and the registry
sessions it runs in. `imagebuilder publish` calls ``publish_project``."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imagebuilder.comfy.workflows import rendered_workflow_files
from imagebuilder.errors import ConfigError
from imagebuilder.hub.client import Hub
from imagebuilder.image.layers import FileUrl, fit_layer_limit, max_layer_bytes, model_layer_plans
from imagebuilder.image.publish.check import check_published
from imagebuilder.image.publish.plan import files_layer, model_labels, oci_labels
from imagebuilder.image.publish.request import PublishRequest, PublishResult
from imagebuilder.image.publish.run import publish
from imagebuilder.image.startplan import start_settings
from imagebuilder.oci.auth import RegistryRole
from imagebuilder.oci.client import open_registry
from imagebuilder.oci.image import created_time
from imagebuilder.oci.reference import ImageReference, parse_reference
from imagebuilder.project.config import Config
from imagebuilder.project.engine import EngineSource
from imagebuilder.project.lock import Lock, LockRecorder
from imagebuilder.project.variants import effective_config, variant_lock


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
    plans = fit_layer_limit(plans, target.registry, limit, split=split)
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
        start_command=tuple(start.base_command) if (start := start_settings(config)) else None,
    )


def require_variant_choice(config: Config, variant: str | None, config_path: Path) -> None:
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


def require_no_installed_engine(config: Config, config_path: Path) -> None:
    """publish assembles layers without running anything, and an installed engine needs a
    pip install (its requirements, built for the base's Python and CUDA): refused before
    any registry is touched, instead of an image that would not run the pinned ComfyUI."""
    engine = config.image.comfyui
    if engine is not None and engine.source is EngineSource.RELEASE:
        raise ConfigError(
            f"image.comfyui installs ComfyUI {engine.version} (source: release), which "
            "publish cannot do: installing it runs pip in the image, and publish runs "
            "nothing (it assembles layers in the registry)",
            location=str(config_path),
            hint="build and push it with `imagebuilder build --push`, or pin a base tag "
            "that carries the ComfyUI you need (source: base; `check-updates` finds one)",
        )


@dataclass(frozen=True)
class PublishOptions:
    """The command's options, as the request needs them."""

    image: str | None
    tags: list[str]
    labels: dict[str, str]
    parallel: int
    previous: list[str] | None
    split: bool
    variant: str | None
    check_only: bool
    strict: bool = False  # with check_only: refuse what the lock cannot vouch for


def publish_project(
    config: Config,
    config_path: Path,
    lock: Lock,
    hub: Hub,
    options: PublishOptions,
    *,
    log: Callable[[str], None],
) -> tuple[PublishRequest, PublishResult]:
    """Publish (or, with ``check_only``, recompute) the image; every new layer digest is
    written into the lock beside models.yaml as soon as its blob is committed."""
    require_variant_choice(config, options.variant, config_path)
    require_no_installed_engine(config, config_path)
    request = build_request(
        config, lock, config_path.resolve().parent, hub.file_url,
        image=options.image, tags=options.tags, parallel=options.parallel,
        previous=options.previous, split=options.split, variant=options.variant,
        labels=options.labels,
    )  # fmt: skip
    target = open_registry(request.target.api_host, RegistryRole.TARGET)
    same_host = request.base.api_host == target.host  # then the target's credentials fit
    base = target if same_host else open_registry(request.base.api_host, RegistryRole.BASE)
    try:
        if options.check_only:
            result = check_published(
                hub=hub, target=target, base_registry=base, request=request,
                strict=options.strict, log=log,
            )  # fmt: skip
        else:
            result = publish(
                hub=hub, target=target, base_registry=base, request=request,
                on_layer=LockRecorder(config_path, lock), log=log,
            )  # fmt: skip
    finally:
        target.close()
        if base is not target:
            base.close()
    return request, result
