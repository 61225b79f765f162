"""Pytest fixtures for the loopback Hub; tests/conftest.py re-exports them.

Point the client at a server with `endpoint=server.url` on every call (HfApi(endpoint=...),
hf_hub_download(..., endpoint=...)). HF_ENDPOINT is read once when huggingface_hub is
imported, so setting it in a test changes nothing in-process; imagebuilder passes
`endpoint=` explicitly for the same reason. `hub_env` still sets it, for subprocesses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import huggingface_hub.constants as constants
import pytest

from .server import HubServer

ScenarioSource = str | Path | Mapping[str, Any]


@pytest.fixture
def hub_server() -> Iterator[HubServer]:
    """An empty, started Hub; add repos with `hub_server.add_repo({...})` or `.load(...)`."""
    with HubServer() as server:
        yield server


@pytest.fixture
def load_scenario() -> Iterator[Callable[..., HubServer]]:
    """Factory: `load_scenario("qwen_small", page_size=2)` -> a started HubServer."""
    servers: list[HubServer] = []

    def start(source: ScenarioSource, **options: Any) -> HubServer:
        server = HubServer(source, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def qwen_hub() -> Iterator[HubServer]:
    """The real 2509 stack: full-size virtual files (header reads only, never whole downloads)."""
    with HubServer("qwen_2509") as server:
        yield server


@pytest.fixture
def qwen_small_hub() -> Iterator[HubServer]:
    """Same repos and paths as qwen_hub, with tiny real files that download in milliseconds."""
    with HubServer("qwen_small") as server:
        yield server


def configure_hub_env(monkeypatch: pytest.MonkeyPatch, server: HubServer, home: Path) -> Path:
    """Isolate huggingface_hub: env for subprocesses, module constants for this process."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "HF_ENDPOINT": server.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE"):
        monkeypatch.delenv(key, raising=False)
    # Constants were frozen at import; repoint caches and token files so no test touches
    # ~/.cache/huggingface. ENDPOINT is deliberately left alone: code under test must pass
    # endpoint= itself, and a patched default would hide a missing one.
    hub_cache = home / "hub"
    patches: dict[str, object] = {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(hub_cache),
        "HUGGINGFACE_HUB_CACHE": str(hub_cache),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_OFFLINE": False,
    }
    for name, patched in patches.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, patched)
    return home


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[HubServer], Path]:
    """`home = hub_env(server)`: HF_* env and caches pointed at `server` and a tmp HF_HOME."""

    def apply(server: HubServer) -> Path:
        return configure_hub_env(monkeypatch, server, tmp_path / "hf_home")

    return apply


@pytest.fixture
def qwen_hub_env(qwen_hub: HubServer, hub_env: Callable[[HubServer], Path]) -> HubServer:
    """qwen_hub, with the HF_* environment and caches pointed at it: for CLI runs."""
    hub_env(qwen_hub)
    return qwen_hub
