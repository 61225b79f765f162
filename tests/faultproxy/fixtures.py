"""Fixtures for network tests; tests/conftest.py re-exports them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imagebuilder import network


@pytest.fixture(autouse=True)
def fresh_network_state() -> Iterator[None]:
    """Each test starts with the policy read from its own environment and no endpoint
    remembered as unreachable: a port one test found closed may serve the next."""
    network.reset()
    yield
    network.reset()
