"""The start path's files as render and publish write them (pure: no Docker)."""

from __future__ import annotations

import json

import pytest

from imagebuilder.errors import ConfigError
from imagebuilder.image import startplan
from imagebuilder.image.startplan import JoinedFile, ModelFile
from imagebuilder.project.config import Role
from infra.stacks import shipped_config as shipped

MODELS = [
    ModelFile("lora", Role.LORA, "/comfyui/models/loras/l.safetensors", 3),
    ModelFile("unet", Role.DIFFUSION_MODEL, "/comfyui/models/diffusion_models/u.safetensors", 20),
    ModelFile("control", Role.CONTROLNET, "/comfyui/models/controlnet/c.safetensors", 2),
    ModelFile("te", Role.TEXT_ENCODER, "/comfyui/models/text_encoders/t.safetensors", 9),
    ModelFile("vae", Role.VAE, "/comfyui/models/vae/v.safetensors", 1),
]


def test_start_json_prefetches_in_the_first_jobs_order_and_names_the_warmup() -> None:
    workflows = ["qwen_image_edit_2.json", "qwen_image_edit_1.json"]
    files = startplan.start_files(shipped(), MODELS, workflows)
    start = json.loads(files["imagebuilder/start.json"])
    order = [item["path"].rsplit("/", 1)[-1] for item in start["prefetch"]["files"]]
    assert order == ["v.safetensors", "t.safetensors", "u.safetensors", "c.safetensors",
                     "l.safetensors"]  # fmt: skip
    assert start["prefetch"]["start_readers"] == 2 and start["prefetch"]["readers"] == 8
    assert start["comfyui"] == {
        "main": "/comfyui/main.py",
        "flags": ["--disable-api-nodes", "--cuda-malloc"],
        "url": "http://127.0.0.1:8188",
    }
    assert start["warmup"]["workflow"] == "/comfyui/user/default/workflows/qwen_image_edit_1.json"
    assert start["join"] == []
    assert "imagebuilder/start.sh" in files
    for module in (
        "main.py",
        "prefetch.py",
        "warmup.py",
        "joinparts.py",
        "inject/sitecustomize.py",
    ):
        assert f"imagebuilder/lib/ibstart/{module}" in files


def test_split_files_are_joined_by_the_start_path() -> None:
    parts = ("/imagebuilder/parts/unet/000", "/imagebuilder/parts/unet/001")
    joins = [JoinedFile("/comfyui/models/diffusion_models/u.safetensors", parts, 20)]
    start = json.loads(
        startplan.start_files(shipped(), MODELS, ["qwen_image_edit_1.json"], joins)[
            "imagebuilder/start.json"
        ]
    )
    assert start["join"][0]["parts"][1] == "/imagebuilder/parts/unet/001"


def test_a_warmup_workflow_the_image_lacks_is_refused() -> None:
    config = shipped()
    assert config.start is not None
    named = config.model_copy(
        update={"start": config.start.model_copy(update={
            "warmup": config.start.warmup.model_copy(update={"workflow": "nope"})})}
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"start\.warmup\.workflow 'nope'"):
        startplan.start_files(named, MODELS, ["qwen_image_edit_1.json"])


def test_start_off_or_without_a_base_command_for_a_dockerfile() -> None:
    config = shipped()
    assert config.start is not None
    off = config.model_copy(update={"start": config.start.model_copy(update={"enabled": False})})
    assert startplan.start_files(off, MODELS, []) == {}
    assert startplan.dockerfile_start(off) is None
    bare = config.model_copy(update={"start": config.start.model_copy(update={"base_command": []})})
    with pytest.raises(ConfigError, match=r"start\.base_command is empty"):
        startplan.dockerfile_start(bare)
    assert startplan.entrypoint(["/init"]) == ["/bin/sh", "/imagebuilder/start.sh", "/init"]
