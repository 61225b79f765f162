"""The worked examples under examples/, copied into a scratch project per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hubserver.server import HubServer
from hubserver.stacks import other_stacks

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NAMES = ("flux-kontext", "wan2.2-i2v")


def copy_example(name: str, destination: Path) -> Path:
    """The example's folder copied to ``destination``; returns its models.yaml."""
    shutil.copytree(EXAMPLES / name, destination)
    return destination / "models.yaml"


@pytest.fixture
def stacks_hub() -> Iterator[HubServer]:
    """Both examples' repos at full size: exact headers, sizes, virtual data."""
    with HubServer(other_stacks()) as server:
        yield server


@pytest.fixture
def stacks_small_hub() -> Iterator[HubServer]:
    """The same repos and paths with tiny real files, for builds."""
    with HubServer(other_stacks(small=True)) as server:
        yield server


@pytest.fixture
def stacks_hub_env(stacks_hub: HubServer, hub_env: Callable[[HubServer], Path]) -> HubServer:
    hub_env(stacks_hub)
    return stacks_hub
