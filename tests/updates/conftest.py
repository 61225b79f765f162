"""Fixtures shared by the update tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hubserver.server import HubServer
from imagebuilder.cli.app import main
from imagebuilder.hub.client import Hub
from imagebuilder.project.load import LoadedConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, qwen_hub_env: HubServer) -> Path:
    """A checkout with the commented models.yaml, locked against the 2509 Hub."""
    config = tmp_path / "models.yaml"
    shutil.copy(ROOT / "models.yaml", config)
    assert main(["lock", "-c", str(config)]) == 0
    return config


@pytest.fixture
def shipped(tmp_path: Path) -> LoadedConfig:
    """A copy of the shipped models.yaml, loaded (nothing locked)."""
    shutil.copy(ROOT / "models.yaml", tmp_path / "models.yaml")
    return load_config(tmp_path / "models.yaml")


@pytest.fixture
def hub(qwen_hub: HubServer) -> Hub:
    """A client of the loopback Hub."""
    return Hub(endpoint=qwen_hub.url, token="")
