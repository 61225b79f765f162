"""ComfyUI's releases, from a GitHub-API-shaped endpoint (`image.comfyui.releases_api`).

``GET {api}/releases`` answers ``[{"tag_name", "draft", "prerelease", "published_at",
"target_commitish", ...}]``. The newest release is the highest ``vMAJOR.MINOR.PATCH`` tag
that is neither a draft nor a pre-release (comfy-cli's ``--version latest`` rule). The
answer is hostile input: read up to a size cap, every field checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx2  # the HTTP client huggingface_hub already brings

from imagebuilder.errors import NetworkError
from imagebuilder.project.comfyversion import ComfyVersion

MAX_ANSWER_BYTES = 4_000_000
_TIMEOUT_S = 20.0
_SHA = re.compile(r"[0-9a-f]{40}")


class _Missing(NetworkError):
    """The endpoint answered 404: no such tag (named by the caller)."""


@dataclass(frozen=True)
class ComfyRelease:
    version: ComfyVersion
    tag: str
    published: str | None  # ISO date, as GitHub writes it

    @property
    def label(self) -> str:
        date = f" ({self.published[:10]})" if self.published else ""
        return f"ComfyUI {self.version}{date}"


def newest_release(api: str) -> ComfyRelease | None:
    """The newest ComfyUI release the endpoint lists (None: it lists none)."""
    return pick_newest(_get(api, "/releases?per_page=100"))


def newer_releases(api: str, than: ComfyVersion) -> list[ComfyRelease]:
    """The releases newer than ``than`` (drafts and pre-releases skipped), oldest first."""
    return [r for r in pick_releases(_get(api, "/releases?per_page=100")) if r.version > than]


def _get(api: str, path: str) -> bytes:
    url = f"{api.rstrip('/')}{path}"
    body = bytearray()
    try:
        with (
            httpx2.Client(timeout=_TIMEOUT_S, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as answer,
        ):
            if answer.status_code == httpx2.codes.NOT_FOUND:
                raise _Missing(f"{url} answered 404", location=api)
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise NetworkError(
                        f"the answer is over {MAX_ANSWER_BYTES:,} bytes", location=url
                    )
    except httpx2.HTTPError as error:
        raise NetworkError(
            f"could not read ComfyUI's releases: {error}",
            location=api,
            hint="set image.comfyui.releases_api to a reachable GitHub API (or a mirror)",
        ) from None
    return bytes(body)


def pick_newest(body: bytes) -> ComfyRelease | None:
    """The newest non-draft, non-pre-release version tag in a /releases answer."""
    releases = pick_releases(body)
    return releases[-1] if releases else None


def pick_releases(body: bytes) -> list[ComfyRelease]:
    """Every non-draft, non-pre-release version tag in a /releases answer, oldest first."""
    try:
        listed = json.loads(body)
    except (ValueError, RecursionError):
        return []
    found: dict[ComfyVersion, ComfyRelease] = {}
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict) or item.get("draft") or item.get("prerelease"):
            continue
        tag = item.get("tag_name")
        if not isinstance(tag, str):
            continue
        try:
            version = ComfyVersion.parse(tag)
        except ValueError:
            continue
        if version in found:
            continue
        published = item.get("published_at")
        found[version] = ComfyRelease(
            version, tag, published if isinstance(published, str) else None
        )
    return [found[v] for v in sorted(found)]


def release_commit(api: str, version: ComfyVersion) -> tuple[str, str]:
    """The commit the release tag ``v<version>`` names, and the URL it was read from:
    ``GET {api}/git/ref/tags/v<version>``; an annotated tag is followed once
    (``{api}/git/tags/<sha>``) to the commit it tags."""
    tag_path = f"/git/ref/tags/v{version}"
    kind, sha = _git_object(_get_ref(api, tag_path, version), api)
    if kind == "tag":
        kind, sha = _git_object(_get_ref(api, f"/git/tags/{sha}", version), api)
    if kind != "commit":
        raise NetworkError(
            f"the tag v{version} names a {kind}, not a commit",
            location=f"{api}{tag_path}",
            hint="check image.comfyui.version and image.comfyui.releases_api",
        )
    return sha, f"{api.rstrip('/')}{tag_path}"


def _get_ref(api: str, path: str, version: ComfyVersion) -> bytes:
    try:
        return _get(api, path)
    except _Missing:
        raise NetworkError(
            f"ComfyUI has no release tag v{version}",
            location=f"{api.rstrip('/')}{path}",
            hint="set image.comfyui.version to a released version "
            "(`imagebuilder check-updates` lists newer ones)",
        ) from None


def _git_object(body: bytes, api: str) -> tuple[str, str]:
    """(type, sha) of a git ref or tag answer: ``{"object": {"type", "sha"}}``."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    target = answer.get("object") if isinstance(answer, dict) else None
    kind = target.get("type") if isinstance(target, dict) else None
    sha = target.get("sha") if isinstance(target, dict) else None
    if not (isinstance(kind, str) and isinstance(sha, str) and _SHA.fullmatch(sha)):
        raise NetworkError(
            "the tag answer names no git object (type and 40-hex sha)",
            location=api,
            hint="check image.comfyui.releases_api: it must answer as GitHub's REST API",
        )
    return kind[:20], sha
