"""The benchmark's synthetic stack stays valid: models.yaml parses, the Hub serves it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _build_stack import STACK, bumped_lora, models_yaml, scenario, sizes_for

from hubserver.server import HubServer
from imagebuilder.project.load import load_config


def test_sizes_follow_the_real_stack_proportions() -> None:
    sizes = sizes_for(3.0)
    assert sizes == {
        "diffusion_model": 2_000_000_000,
        "text_encoder": 800_000_000,
        "vae": 100_000_000,
        "lightning_lora": 100_000_000,
    }


def test_models_yaml_is_a_valid_config_for_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        models_yaml("127.0.0.1:5000/bench/build", "127.0.0.1:5000/b@sha256:" + "a" * 64)
    )
    config = load_config(path).config
    assert set(config.models) == set(STACK)
    for name, (role, repo, file, folder) in STACK.items():
        entry = config.models[name]
        assert (entry.role, entry.repo, entry.file, entry.folder) == (role, repo, file, folder)
        assert entry.revision == "main"  # a new Hub commit must reach the next lock


def test_lora_bump_changes_only_the_lora(load_scenario: Callable[..., HubServer]) -> None:
    sizes = sizes_for(0.0001)
    hub = load_scenario(scenario(sizes))
    before = {name: hub.blob(repo, file).sha256 for name, (_, repo, file, _) in STACK.items()}
    assert {name: hub.blob(r, f).size for name, (_, r, f, _) in STACK.items()} == sizes
    hub.commit(*bumped_lora(sizes))
    after = {name: hub.blob(repo, file).sha256 for name, (_, repo, file, _) in STACK.items()}
    assert {name for name in STACK if before[name] != after[name]} == {"lightning_lora"}
