"""Offline tests of publish's plan: layer limits, split parts, the image lock, labels, history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imagebuilder.errors import LayerTooLarge
from imagebuilder.image.layers import (
    PART_HEADROOM,
    ModelLayerPlan,
    ModelSource,
    fit_layer_limit,
    max_layer_bytes,
)
from imagebuilder.image.publish.plan import image_lock_json, join_script, oci_labels
from imagebuilder.image.publish.previous import digests_by_history, history_line
from imagebuilder.project.config import Registry
from imagebuilder.project.lock import Lock, LockEntry
from imagebuilder.project.pins import Pin

GIB = 1 << 30


def plan(name: str, size: int) -> ModelLayerPlan:
    pin = Pin("o/r", f"{name}.safetensors", "a" * 40, "b" * 64, size)
    return ModelLayerPlan(ModelSource(name, pin, size, f"m/{name}"), size + 3072)


def test_layer_limit_names_every_file_and_the_options() -> None:
    limit = max_layer_bytes("ghcr.io", {})
    assert limit == 10_000_000_000
    fit_layer_limit([plan("small", 1000)], "ghcr.io", limit)
    with pytest.raises(LayerTooLarge) as caught:
        fit_layer_limit([plan("unet", 20 * GIB), plan("vae", 1000)], "ghcr.io", limit)
    assert "unet" in caught.value.message and "vae" not in caught.value.message
    assert caught.value.hint and "max_layer_bytes" in caught.value.hint
    assert max_layer_bytes("ghcr.io", {"ghcr.io": Registry(max_layer_bytes=5)}) == 5
    assert max_layer_bytes("example.org", {}) is None


def test_image_lock_has_no_layer_digests() -> None:
    entry = LockEntry(
        repo="o/r", file="f.safetensors", revision="main", commit="a" * 40, sha256="b" * 64,
        size=1, layer_digest="sha256:" + "c" * 64,
    )  # fmt: skip
    text = image_lock_json(Lock(version=1, models={"vae": entry})).decode()
    assert "layer_digest" not in text and "b" * 64 in text


def test_split_parts_cover_the_file_and_each_fits_the_limit() -> None:
    limit = 1_000_000
    big, small = plan("unet", 2_500_000), plan("vae", 1000)
    plans = fit_layer_limit([big, small], "ghcr.io", limit, split=True)
    assert plans[1] == small
    parts = plans[0].parts
    assert [p.size for p in parts] == [limit - PART_HEADROOM] * 2 + [
        2_500_000 - 2 * (limit - PART_HEADROOM)
    ]
    assert all(p.layout().total_size <= limit for p in parts)
    assert [p.layer_path for p in parts] == [f"imagebuilder/parts/unet/{i:03d}" for i in range(3)]
    assert plans[0].known_digests == () and plans[0].layers == parts


def test_join_script_names_each_split_file() -> None:
    plans = fit_layer_limit([plan("unet", 2_500_000)], "ghcr.io", 1_000_000, split=True)
    script = join_script(plans).decode()
    assert "join /m/unet /imagebuilder/parts/unet" in script
    assert script.rstrip().endswith('exec "$@"')


def test_history_of_a_published_config_gives_back_the_digests() -> None:
    source = plan("vae", 10).source
    config = {
        "history": [
            {"created_by": "base layer"},
            {"created_by": history_line(source)},
            {"created_by": "imagebuilder publish: labels", "empty_layer": True},
        ],
        "rootfs": {"diff_ids": ["sha256:" + "1" * 64, "sha256:" + "2" * 64]},
    }
    assert digests_by_history(config) == {history_line(source): "sha256:" + "2" * 64}
    config["rootfs"] = {"diff_ids": ["sha256:" + "1" * 64]}  # not ours: trust nothing
    assert digests_by_history(config) == {}


def test_publish_writes_the_same_oci_label_keys_as_the_dockerfile() -> None:
    """The two image paths must label images alike; the keys live in two places."""
    golden = (Path(__file__).parents[1] / "golden" / "Dockerfile.models-yaml").read_text()
    in_dockerfile = set(re.findall(r"(org\.opencontainers\.image\.[a-z.]+)=", golden))
    keys = oci_labels("b", source="s", revision="r", version="v", created="c")
    assert in_dockerfile == set(keys)
