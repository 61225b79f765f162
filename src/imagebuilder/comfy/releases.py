"""ComfyUI's releases, from a GitHub-API-shaped endpoint (`image.comfyui.releases_api`).

``GET {api}/releases`` answers ``[{"tag_name", "draft", "prerelease", "published_at",
"target_commitish", ...}]``. The newest release is the highest ``vMAJOR.MINOR.PATCH`` tag
that is neither a draft nor a pre-release (comfy-cli's ``--version latest`` rule). The
answer is hostile input: read up to a size cap, every field checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx2  # the HTTP client huggingface_hub already brings

from imagebuilder.errors import NetworkError
from imagebuilder.project.comfyversion import ComfyVersion

MAX_ANSWER_BYTES = 4_000_000
_TIMEOUT_S = 20.0


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
    url = f"{api.rstrip('/')}/releases?per_page=100"
    body = bytearray()
    try:
        with (
            httpx2.Client(timeout=_TIMEOUT_S, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as answer,
        ):
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise NetworkError(
                        f"the release list is over {MAX_ANSWER_BYTES:,} bytes", location=api
                    )
    except httpx2.HTTPError as error:
        raise NetworkError(
            f"could not read ComfyUI's releases: {error}",
            location=api,
            hint="set image.comfyui.releases_api to a reachable GitHub API (or a mirror)",
        ) from None
    return pick_newest(bytes(body))


def pick_newest(body: bytes) -> ComfyRelease | None:
    """The newest non-draft, non-pre-release version tag in a /releases answer."""
    try:
        listed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    best: ComfyRelease | None = None
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
        if best is not None and version <= best.version:
            continue
        published = item.get("published_at")
        best = ComfyRelease(version, tag, published if isinstance(published, str) else None)
    return best
