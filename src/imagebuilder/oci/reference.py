"""Image references: 'host[:port]/path[:tag][@digest]' split the way registries read them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagebuilder.errors import ConfigError
from imagebuilder.project.values import check_image_ref

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ImageReference:
    registry: str  # as written: 'ghcr.io', '127.0.0.1:5000', 'docker.io'
    repository: str  # 'owner/name' (Docker Hub official images get 'library/')
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def with_tag(self, tag: str) -> ImageReference:
        if not _TAG.match(tag):
            raise ConfigError(f"{tag!r} is not a valid image tag")
        return ImageReference(self.registry, self.repository, tag, None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> ImageReference:
    """Split a reference; the first part is a registry only if it looks like a host."""
    try:
        check_image_ref(text)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    rest, _, digest = text.partition("@")
    tag = None
    last_slash = rest.rfind("/")
    if ":" in rest[last_slash + 1 :]:
        rest, _, tag = rest.rpartition(":")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if digest and not _DIGEST.match(digest):
        raise ConfigError(f"{text!r}: digest must be sha256:<64 hex>")
    return ImageReference(registry, repository, tag or None, digest or None)
