"""The lock's engine record: kept by every lock rewrite and carried by both image paths."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from imagebuilder.image.publish.plan import image_lock_json
from imagebuilder.project.engine import EngineLock, EngineSource
from imagebuilder.project.lock import Lock, LockEntry, with_recorded_digests

ENGINE = EngineLock(
    source=EngineSource.BASE,
    base="example.org/worker:5.9.0-base@sha256:" + "a" * 64,
    comfyui_version="0.5.1",
    commit="b" * 40,
    sources={"comfyui_version": "/comfyui/comfyui_version.py in layer sha256:..."},
    bytes_read=264_285,
)
ENTRY = LockEntry(
    repo="o/n", file="x.safetensors", revision="main", commit="c" * 40, sha256="d" * 64,
    size=1, layer_digest="sha256:" + "e" * 64,
)  # fmt: skip


def test_both_image_paths_carry_the_engine() -> None:
    lock = Lock(version=1, models={"m": ENTRY}, engine=ENGINE)
    carried = json.loads(image_lock_json(lock))  # what publish writes; render copies the same
    assert carried["engine"]["comfyui_version"] == "0.5.1"
    assert carried["engine"]["commit"] == "b" * 40
    assert "layer_digest" not in carried["models"]["m"]
    assert lock.for_image().to_json().encode() == image_lock_json(lock)


def test_rewrites_keep_the_engine() -> None:
    lock = Lock(version=1, models={"m": ENTRY}, engine=ENGINE)
    assert with_recorded_digests(lock, lock).engine == ENGINE
    assert Lock.model_validate_json(lock.to_json()) == lock


@pytest.mark.parametrize(
    "change",
    [{"comfyui_version": "latest"}, {"commit": "xyz"}, {"torch": "2.8; rm -rf"}, {"extra": 1}],
)
def test_a_hostile_engine_record_is_refused(change: dict[str, object]) -> None:
    data = {**json.loads(ENGINE.model_dump_json()), **change}
    with pytest.raises(ValidationError):
        EngineLock.model_validate(data)
