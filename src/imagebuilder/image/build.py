"""The Docker Engine path: render the build context, build, tag, and push with a check.

`build` without variants lands here (`image.variants` builds one image per variant).
The engine module is imported on first use: the docker SDK takes about a third of a
second to import, which commands that never build need not pay.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagebuilder.comfy.workflows import rendered_workflow_files
from imagebuilder.errors import PushFailed
from imagebuilder.image.layers import FileUrl, refuse_oversized_layers
from imagebuilder.image.plan import CONTENT_HASH_LABEL, image_tags
from imagebuilder.image.render import RenderedBuild, find_template, render_build
from imagebuilder.image.render import write_build_context as write_context
from imagebuilder.oci.auth import RegistryRole, credentials_for
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.reference import parse_reference
from imagebuilder.oci.transport import RegistryTransport
from imagebuilder.project.config import Config
from imagebuilder.project.lock import Lock
from imagebuilder.project.variants import effective_config, variant_lock

if TYPE_CHECKING:
    from imagebuilder.image.engine import Engine

Log = Callable[[str], None]


def connect_engine() -> Engine:
    from imagebuilder.image.engine import Engine  # noqa: PLC0415 (see the module docstring)

    return Engine.connect()


def build_args(version: str, revision: str | None, source: str | None) -> dict[str, str]:
    """The OCI version/revision/source/created labels, from options or the CI environment."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    created = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return {
        "IMAGE_VERSION": version,
        "IMAGE_REVISION": revision or os.environ.get("GITHUB_SHA", "unknown"),
        "IMAGE_SOURCE": source or (f"{server}/{repo}" if server and repo else "unknown"),
        "IMAGE_CREATED": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def render_project(
    config: Config,
    lock: Lock,
    project_dir: Path,
    build_dir: Path,
    file_url: FileUrl,
    *,
    hub_secret: bool = False,
    variant: str | None = None,
) -> RenderedBuild:
    """Render the Dockerfile and its context from the project's files; write them.

    With ``variant``: that variant's image (its LoRA, sampler and workflows) only.
    """
    stack = effective_config(config, variant)  # an unknown variant: ConfigError
    build = render_build(
        stack,
        variant_lock(lock, stack),
        find_template(project_dir).read_text(encoding="utf-8"),
        file_url,
        workflows=rendered_workflow_files(config, project_dir, variant),
        hub_secret=hub_secret,
    )
    write_context(build, build_dir)
    return build


def push_verified(
    engine: Engine, repository: str, tags: list[str], progress: Log, log: Log
) -> list[dict[str, str]]:
    """Push each tag, then check the registry serves the digest the push reported."""
    name = parse_reference(repository)
    credentials = credentials_for(name.api_host, RegistryRole.TARGET)
    client = RegistryClient(RegistryTransport(name.api_host, credentials))
    pushed = []
    try:
        for tag in tags:
            log(f"pushing {repository}:{tag} ...")
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


@dataclass(frozen=True)
class ImageBuild:
    """What one `build` is asked for: where, which repository, labels, tags, push."""

    project: Path
    build_dir: Path
    repository: str
    build_args: dict[str, str]
    extra_tags: tuple[str, ...]
    push: bool


def build_image(
    config: Config, lock: Lock, plan: ImageBuild, *, file_url: FileUrl, progress: Log, log: Log
) -> dict[str, Any]:
    """Render, build, tag by content hash (+ extra tags), optionally push: the result."""
    if plan.push:
        refuse_oversized_layers(config, lock, plan.repository)  # before any byte is built
    rendered = render_project(config, lock, plan.project, plan.build_dir, file_url)
    engine = connect_engine()
    try:
        tags = image_tags(rendered.content_tag, list(plan.extra_tags))
        image_id = engine.build(
            plan.build_dir,
            tag=f"{plan.repository}:{tags[0]}",
            base=rendered.base,
            build_args=plan.build_args,
            labels={CONTENT_HASH_LABEL: rendered.content_hash},
            progress=progress,
        )
        for extra in tags[1:]:
            engine.tag(image_id, plan.repository, extra)
        pushed = push_verified(engine, plan.repository, tags, progress, log) if plan.push else []
    finally:
        engine.close()
    return {
        "image": plan.repository,
        "image_id": image_id,
        "tags": tags,
        "content_tag": rendered.content_tag,
        "pushed": pushed,
        "digest": pushed[0]["digest"] if pushed else None,
    }
