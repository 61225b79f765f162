"""Shared fixtures. Each block imports one provider's fixtures; keep them separate."""

from __future__ import annotations

# Network policy state (imagebuilder.network) reset around every test.
from faultproxy.fixtures import fresh_network_state  # noqa: F401

# Loopback Hugging Face Hub (tests/hubserver): pass endpoint=server.url to every client call.
from hubserver.fixtures import (  # noqa: F401
    hub_env,
    hub_server,
    load_scenario,
    qwen_hub,
    qwen_hub_env,
    qwen_small_hub,
)

# Real Docker Engine, registry and tiny base image (tests/infra).
from infra.fixtures import (  # noqa: F401
    docker_client,
    pytest_collection_modifyitems,
    registry,
    tiny_base_image,
)

# Crafted input for the hostile-input tests: models.yaml from text, the shipped project.
from infra.hostile import shipped_project, write_config  # noqa: F401

# A loopback server that answers whatever a test sets: a lying Hub or registry.
from infra.liar import liar  # noqa: F401

# A locked project aimed at the test registry (tests/infra/project.py).
from infra.project import registry_project  # noqa: F401
