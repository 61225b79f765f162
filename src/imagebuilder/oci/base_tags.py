"""Newer tags of the base image, as Renovate finds them, and the ComfyUI each carries.

Renovate's rules for Docker tags (its docker.md): only tags that look like versions;
the same suffix (``5.8.5-base`` -> ``5.9.0-base``, never dropping ``-base`` or adding
``-cuda12.8.1``) and the same number of version parts; a major bump is not an update.
With ``name:tag@digest`` the tag is followed and a digest that moved under the same tag
is reported. Only the newest newer tag's engine is read (once per digest: cached), and
the pinned tag's when its digest moved: two reads at most, whatever the tag count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagebuilder.errors import ImageBuilderError
from imagebuilder.oci.engine_pin import OpenRegistry, engine_of_base, open_base_registry
from imagebuilder.oci.reference import parse_reference
from imagebuilder.project.config import ImageSettings
from imagebuilder.project.engine import EngineOffer, EngineSearch

_VERSION_TAG = re.compile(
    r"^(?P<v>v?)(?P<numbers>\d{1,9}(?:\.\d{1,9}){0,3})(?P<suffix>-[A-Za-z0-9._-]*)?$"
)


@dataclass(frozen=True, order=True)
class TagVersion:
    numbers: tuple[int, ...]
    prefix: str
    suffix: str

    @classmethod
    def parse(cls, tag: str) -> TagVersion | None:
        match = _VERSION_TAG.match(tag)
        if match is None:
            return None
        numbers = tuple(int(n) for n in match.group("numbers").split("."))
        return cls(numbers, match.group("v"), match.group("suffix") or "")

    def same_scheme(self, other: TagVersion) -> bool:
        return (self.prefix, self.suffix, len(self.numbers)) == (
            other.prefix, other.suffix, len(other.numbers),
        )  # fmt: skip


def newer_tags(current: str, tags: list[str], *, majors: bool = False) -> list[str]:
    """Tags of the same scheme and suffix, newer than ``current``, oldest first."""
    pinned = TagVersion.parse(current)
    if pinned is None:
        return []
    found = []
    for tag in set(tags):
        version = TagVersion.parse(tag)
        if version is None or not version.same_scheme(pinned) or version <= pinned:
            continue
        if not majors and version.numbers[0] != pinned.numbers[0]:
            continue
        found.append((version, tag))
    return [tag for _version, tag in sorted(found)]


class BaseTagCatalog:
    """The engine catalog of a base image's registry (read with the base's credentials)."""

    def __init__(self, image: ImageSettings, open_client: OpenRegistry = open_base_registry):
        self.image = image
        self.open_client = open_client

    def search(self) -> EngineSearch:
        ref = parse_reference(self.image.base)
        if ref.tag is None:
            return EngineSearch(
                failure=f"the base {self.image.base} is pinned by digest only, with no tag to "
                "follow (write it as name:tag@sha256:...)"
            )
        if TagVersion.parse(ref.tag) is None:
            return EngineSearch(failure=f"the base tag {ref.tag!r} is not a version")
        try:
            name = self.image.base.partition("@")[0].removesuffix(f":{ref.tag}")
            return self._search(name, ref.repository, ref.api_host, ref.tag, ref.digest)
        except ImageBuilderError as error:
            return EngineSearch(failure=f"the base's registry could not be read: {error.message}")

    def _search(
        self, name: str, repository: str, host: str, tag: str, digest: str | None
    ) -> EngineSearch:
        client = self.open_client(host)
        try:
            tags = client.list_tags(repository)
            candidates = newer_tags(tag, tags)
            newest_digest = (
                client.manifest_digest(repository, candidates[-1]) if candidates else None
            )
            pinned_now = client.manifest_digest(repository, tag)
        finally:
            client.close()
        newest = moved = None
        if candidates and newest_digest:
            newest = self._offer(name, candidates[-1], newest_digest)
        if pinned_now and digest and pinned_now != digest:
            moved = self._offer(name, tag, pinned_now)
        notes = () if candidates else (f"engine: no newer tag of {name} than {tag}",)
        return EngineSearch(newest=newest, moved=moved, notes=notes)

    def _offer(self, name: str, tag: str, digest: str) -> EngineOffer:
        base = f"{name}:{tag}@{digest}"
        engine = engine_of_base(base, self.image.comfyui_root, self.open_client)
        return EngineOffer(tag=tag, base=base, engine=engine)
