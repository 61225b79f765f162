"""Image JSON built on a base image: canonical, deterministic, the right platform."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from imagebuilder.oci.image import (
    DOCKER_MANIFEST,
    Descriptor,
    NewLayer,
    assemble_image,
    created_time,
    pick_platform,
)


def base_image() -> tuple[dict[str, Any], dict[str, Any]]:
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"digest": "sha256:" + "c" * 64, "size": 10},
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": "sha256:" + "b" * 64,
                "size": 100,
            }
        ],
    }
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"], "Labels": {"from.base": "yes"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d" * 64]},
        "history": [{"created_by": "base"}],
    }
    return manifest, config


def test_image_json_is_canonical_and_deterministic() -> None:
    manifest, config = base_image()
    layer = NewLayer(Descriptor("application/vnd.oci.image.layer.v1.tar", "sha256:" + "e" * 64, 5),
                     "sha256:" + "e" * 64, "model")  # fmt: skip
    first = assemble_image(manifest, config, [layer], labels={"k": "v"}, created=created_time("0"))
    second = assemble_image(
        manifest, config, [layer], labels={"k": "v"}, created=created_time(None)
    )
    assert first == second
    built = json.loads(first.config)
    assert built["config"]["Labels"] == {"from.base": "yes", "k": "v"}
    assert built["rootfs"]["diff_ids"][-1] == "sha256:" + "e" * 64
    assert built["created"] == "1970-01-01T00:00:00Z"
    out = json.loads(first.manifest)
    assert out["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert out["config"]["digest"] == "sha256:" + hashlib.sha256(first.config).hexdigest()
    assert created_time("1758535200") == "2025-09-22T10:00:00Z"


def test_platform_is_picked_from_an_index() -> None:
    index = {
        "manifests": [
            {"digest": "sha256:" + "a" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:" + "b" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    }
    assert pick_platform(index, "linux", "amd64") == "sha256:" + "b" * 64
