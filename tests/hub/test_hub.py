"""The Hub layer against the loopback Hub: ranged reads, errors, renamed repos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hubserver import GATED_TOKEN, HubServer
from imagebuilder.errors import FileNotFoundOnHub, GatedRepo, RepoNotFound
from imagebuilder.hub.client import Hub

VAE = ("Comfy-Org/Qwen-Image_ComfyUI", "split_files/vae/qwen_image_vae.safetensors")
HubEnv = Callable[[HubServer], Path]


def test_read_range_reads_only_what_it_asks(qwen_hub: HubServer, hub_env: HubEnv) -> None:
    hub_env(qwen_hub)
    hub = Hub()
    commit = qwen_hub.head(VAE[0])
    qwen_hub.stats.reset()
    data = hub.read_range(*VAE, commit, 0, 8)
    assert len(data) == 8
    assert data == qwen_hub.blob(*VAE).content.read(0, 8)
    assert qwen_hub.stats.bytes_served == 8


def test_gated_repo_says_what_to_do(qwen_hub: HubServer, hub_env: HubEnv) -> None:
    hub_env(qwen_hub)
    qwen_hub.set_gated(VAE[0], True)
    commit = qwen_hub.head(VAE[0])
    with pytest.raises(GatedRepo) as caught:
        Hub().read_range(*VAE, commit, 0, 8)
    assert "HF_TOKEN" in (caught.value.hint or "")
    assert len(Hub(token=GATED_TOKEN).read_range(*VAE, commit, 0, 8)) == 8


def test_missing_things(qwen_hub: HubServer, hub_env: HubEnv) -> None:
    hub_env(qwen_hub)
    hub = Hub()
    with pytest.raises(RepoNotFound):
        hub.snapshot("nobody/nothing", "main")
    commit = qwen_hub.head(VAE[0])
    with pytest.raises(FileNotFoundOnHub):
        hub.read_range(VAE[0], "split_files/vae/gone.safetensors", commit, 0, 8)


def test_renamed_repo_reports_its_new_name(qwen_hub: HubServer, hub_env: HubEnv) -> None:
    hub_env(qwen_hub)
    qwen_hub.rename_repo("lightx2v/Qwen-Image-Lightning", "lightx2v/Qwen-Image-Lightning-LoRAs")
    snapshot = Hub().snapshot("lightx2v/Qwen-Image-Lightning", "main")
    assert snapshot.renamed
    assert snapshot.repo == "lightx2v/Qwen-Image-Lightning-LoRAs"


def test_repr_never_shows_the_token() -> None:
    hub = Hub(endpoint="http://127.0.0.1:1", token="hf_secret_value")
    assert "hf_secret_value" not in repr(hub)
