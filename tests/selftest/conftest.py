"""Fixtures of the loopback Hub's own tests: the tiny scenario, a private blob cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hubserver import HubServer
from hubserver.samples import TINY


@pytest.fixture
def tiny(load_scenario: Callable[..., HubServer]) -> HubServer:
    return load_scenario(TINY)


@pytest.fixture(autouse=True)
def _isolated_hf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HUBSERVER_CACHE_DIR", str(tmp_path / "hubcache"))
