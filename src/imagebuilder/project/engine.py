"""The inference core as part of the pinned stack: models.yaml's `image.comfyui` and the
lock's `engine` record (ComfyUI version, commit, Python, torch, and where each came from).

Pure data. How the facts are learned (the base image's registry, a running worker's
/system_stats) lives in ``oci.base_engine`` and the commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from imagebuilder.project.comfyversion import ComfyVersion, check_comfy_version
from imagebuilder.project.strict import Strict

ComfyVersionText = Annotated[str, AfterValidator(check_comfy_version)]
GITHUB_API = "https://api.github.com/repos/Comfy-Org/ComfyUI"
GITHUB_GIT = "https://github.com/Comfy-Org/ComfyUI.git"
_URL = r"^https?://[A-Za-z0-9.:-]{1,200}(/[A-Za-z0-9._~/-]{0,200})?$"


class EngineSource(StrEnum):
    BASE = "base"  # the base image carries ComfyUI; `lock` reads which one from its registry
    RELEASE = "release"  # the image installs a ComfyUI release, pinned to its commit


class EngineSettings(Strict):
    """Which ComfyUI the image runs (`image.comfyui`). Set, the engine is pinned: `lock`
    records it, `verify` checks every file against it, `check-workflows` uses its node
    schema, `check-updates` moves it together with the models that need it."""

    source: EngineSource = Field(default=EngineSource.BASE, strict=False)
    """`base`: the base image carries ComfyUI; `lock` reads its version (and git commit)
    from the image in its registry, without Docker and without pulling it. `release`: the
    image installs the ComfyUI release `version` on top of the base (a base that lags);
    `lock` pins the release's commit, `build` fetches exactly that commit."""
    version: ComfyVersionText | None = None
    """The ComfyUI release to install (`source: release` only), such as `0.5.0`."""
    releases_api: str = Field(default=GITHUB_API, pattern=_URL)
    """GitHub-API-shaped endpoint of the ComfyUI repository: `{api}/releases` for
    `check-updates`, `{api}/git/ref/tags/v{version}` for `lock` to pin a release's commit."""
    repository: str = Field(default=GITHUB_GIT, pattern=_URL)
    """The git repository `build` fetches the pinned commit from (`source: release`)."""

    @model_validator(mode="after")
    def _version_fits_source(self) -> EngineSettings:
        if self.source is EngineSource.RELEASE and self.version is None:
            raise ValueError(
                'source: release needs the ComfyUI release to install, e.g. version: "0.5.0"'
            )
        if self.source is EngineSource.BASE and self.version is not None:
            raise ValueError(
                "version is for source: release (the base image's ComfyUI is read from "
                "the image, not named); drop version or set source: release"
            )
        return self


class EngineLock(BaseModel):
    """The lock's record of the engine: what the image runs, and where each fact came from."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    source: EngineSource = Field(strict=False)
    base: str | None = Field(default=None, max_length=600)  # the base ref it was read from
    comfyui_version: ComfyVersionText
    commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    python: str | None = Field(default=None, pattern=r"^[0-9][0-9.]{0,20}$")
    torch: str | None = Field(default=None, pattern=r"^[0-9][0-9A-Za-z.+_-]{0,60}$")
    sources: dict[str, str] = Field(default_factory=dict)  # fact -> where it was read
    bytes_read: int | None = Field(default=None, ge=0)  # to learn it from the registry

    @property
    def version(self) -> ComfyVersion:
        return ComfyVersion.parse(self.comfyui_version)

    @property
    def label(self) -> str:
        """ "ComfyUI 0.3.64 (a125cd84)": how messages name the engine."""
        commit = f" ({self.commit[:8]})" if self.commit else ""
        return f"ComfyUI {self.comfyui_version}{commit}"

    def same_identity(self, other: EngineLock) -> bool:
        """The same engine, however many bytes it took to learn it."""
        bare = {"bytes_read": None}
        return self.model_copy(update=bare) == other.model_copy(update=bare)


@dataclass(frozen=True)
class EngineOffer:
    """A base image tag and the engine it carries."""

    tag: str
    base: str  # name:tag@digest, as models.yaml's image.base takes it
    engine: EngineLock


@dataclass(frozen=True)
class EngineSearch:
    """What the base's registry says about newer engines: the newest newer tag (Renovate
    style: same suffix and version scheme), a digest that moved under the pinned tag, and
    why nothing could be offered when nothing was."""

    newest: EngineOffer | None = None
    moved: EngineOffer | None = None  # the pinned tag now names another digest
    failure: str | None = None  # the registry could not be read, or no tag to follow
    notes: tuple[str, ...] = field(default=())
    newest_release: str | None = None  # "ComfyUI 0.8.0 (2026-01-07)", from releases_api


class EngineCatalog(Protocol):
    """Where check-updates asks for newer engines (the base image's registry)."""

    def search(self) -> EngineSearch: ...
