"""What `build` needs for one image or one per variant: progress, labels, verified pushes."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.status import Status

from imagebuilder.cli import output as _output
from imagebuilder.errors import PushFailed
from imagebuilder.oci.registry import ImageName, RegistryClient

if TYPE_CHECKING:
    from imagebuilder.image.engine import Engine


def connect_engine() -> Engine:
    """The Docker Engine, imported on first use: the docker SDK takes about a third of a
    second to import, which every other command (validate, lock, ...) need not pay."""
    from imagebuilder.image.engine import Engine  # noqa: PLC0415

    return Engine.connect()


class Progress:
    """Build output on stderr: a live status line on a terminal, step headers in CI."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty() and not _output.in_ci()
        self.status: Status | None = None

    def __enter__(self) -> Progress:
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


def push_verified(
    engine: Engine, repository: str, tags: list[str], progress: Progress
) -> list[dict[str, str]]:
    """Push each tag, then check the registry serves the digest the push reported."""
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
