"""Fixtures of the base-image tests: the registry login as a base is read with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.githubapi import github_api  # noqa: F401 (a fixture)
from infra.project import use_registry
from infra.registry import RegistryServer


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, registry: RegistryServer) -> Path:
    """The test's folder; the registry's login in a Docker config only (the base is read
    with the base registry's credentials: never the IMAGEBUILDER_REGISTRY_* pair), and an
    engine cache of its own."""
    use_registry(monkeypatch, registry)
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_USERNAME")
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_PASSWORD")
    monkeypatch.setenv("IMAGEBUILDER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path
