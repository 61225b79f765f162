"""The build path refuses oversized layers before building, with publish's sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebuilder.errors import LayerTooLarge
from imagebuilder.image.layers import refuse_oversized_layers
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import Lock, LockEntry

ROOT = Path(__file__).resolve().parents[2]


def lock_with_sizes(sizes: dict[str, int]) -> Lock:
    config = load_config(ROOT / "models.yaml").config
    return Lock(
        version=1,
        models={
            name: LockEntry(
                repo=entry.repo,
                file=entry.file,
                revision=entry.revision,
                commit="0" * 40,
                sha256="0" * 64,
                size=sizes.get(name, 1000),
            )
            for name, entry in config.models.items()
        },
    )


def test_the_20_gb_diffusion_model_does_not_fit_ghcr() -> None:
    config = load_config(ROOT / "models.yaml").config
    lock = lock_with_sizes({"diffusion_model": 20_430_000_000})
    with pytest.raises(LayerTooLarge) as caught:
        refuse_oversized_layers(config, lock, "ghcr.io/example/worker")
    assert "diffusion_model (20.4 GB)" in caught.value.message
    assert "publish --split-large-files" in (caught.value.hint or "")
    refuse_oversized_layers(config, lock, "registry.example.com/worker")  # no limit there


def test_tar_headers_count_toward_the_limit() -> None:
    config = load_config(ROOT / "models.yaml").config
    limit = config.image.registries["ghcr.io"].max_layer_bytes
    lock = lock_with_sizes({"vae": limit - 100})  # the file fits, its layer does not
    with pytest.raises(LayerTooLarge) as caught:
        refuse_oversized_layers(config, lock, "ghcr.io/example/worker")
    assert "vae" in caught.value.message
