"""An installed engine (`image.comfyui: {source: release, version: ...}`): the lock pins
the release's commit, read from the GitHub-API-shaped endpoint (`releases_api`) once;
`build` then fetches exactly that commit from `repository` and checks it.
"""

from __future__ import annotations

from imagebuilder.comfy.releases import release_commit
from imagebuilder.project.engine import EngineLock, EngineSettings, EngineSource


def same_release(settings: EngineSettings, record: EngineLock | None) -> bool:
    """The lock's record pins the release models.yaml names, from the same repository."""
    return (
        record is not None
        and record.source is EngineSource.RELEASE
        and record.comfyui_version == settings.version
        and record.commit is not None
        and record.sources.get("repository") == settings.repository
    )


def pin_release(settings: EngineSettings, base: str, previous: EngineLock | None) -> EngineLock:
    """The lock's engine for an installed release: the previous record when it pins the
    same release (nothing is read), else the tag's commit from ``releases_api``."""
    if previous is not None and same_release(settings, previous):
        return previous.model_copy(update={"base": base})
    assert settings.version is not None  # EngineSettings requires it for source: release
    record = EngineLock(source=EngineSource.RELEASE, base=base, comfyui_version=settings.version)
    commit, where = release_commit(settings.releases_api, record.version)
    return record.model_copy(
        update={
            "commit": commit,
            "sources": {
                "comfyui_version": "models.yaml image.comfyui.version",
                "commit": where,
                "repository": settings.repository,
            },
        }
    )
