"""Fixtures of the image tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.project import ProjectFactory


@pytest.fixture
def publish_project(registry_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A locked project aimed at the test registry, its build date fixed, for `publish`."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1758535200")
    return registry_project("pub-")
