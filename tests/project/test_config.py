"""models.yaml validation: every problem is one clear message with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.errors import ConfigError, ConfigErrors, ExitCode
from imagebuilder.image.layers import ROLE_ORDER
from imagebuilder.project.config import ROLE_FOLDERS, Role
from imagebuilder.project.entries import lora_base
from imagebuilder.project.load import load_config
from imagebuilder.project.schema import SCHEMA_PATH, models_schema_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "models.yaml").read_text()
LORA_NAME = "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def replaced(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def problems(path: Path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    return error.problems if isinstance(error, ConfigErrors) else [error]


def test_shipped_models_yaml_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = load_config(ROOT / "models.yaml")
    assert set(loaded.config.models) == {"diffusion_model", "text_encoder", "vae", "lightning_lora"}
    assert main(["validate", "--config", str(ROOT / "models.yaml")]) == 0
    assert "valid (4 models)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "    revision: main\n    folder: vae",
            "    revison: main\n    folder: vae",
            "revison:",
            "unknown key 'revison'",
        ),
        (
            "  gpu_memory_gb: 24",
            "  gpu_memory_gb: lots",
            "gpu_memory_gb:",
            "image.gpu_memory_gb: Input should be a valid number",
        ),
        (
            "  steps: 4 ",
            "  steps: '4'",
            "steps: '4'",
            "sampler.steps: Input should be a valid integer",
        ),
        (
            "repo: Comfy-Org/Qwen-Image_ComfyUI\n    file: split_files/vae",
            "repo: Comfy-Org/../etc\n    file: split_files/vae",
            "Comfy-Org/../etc",
            "is not a Hub repo id",
        ),
        (
            "split_files/vae/qwen_image_vae.safetensors",
            "split_files/vae/qwen_image_vae.ckpt",
            "qwen_image_vae.ckpt",
            "pickle-based format (.ckpt), refused",
        ),
        (
            "    revision: main\n    folder: vae",
            "    revision: 'main;rm -rf /'\n    folder: vae",
            "rm -rf",
            "is not a valid revision",
        ),
        (
            "runpod/worker-comfyui@sha256:",
            "runpod/worker-comfyui:latest#",
            "worker-comfyui:latest",
            "not pinned by digest",
        ),
        (
            "    folder: text_encoders",
            "    folder: loras",
            "folder: loras",
            "does not hold a text_encoder",
        ),
    ],
)
def test_one_clear_message_with_line(
    tmp_path: Path, old: str, new: str, needle: str, expected: str
) -> None:
    text = replaced(old, new)
    found = problems(write(tmp_path, text))
    assert len(found) == 1, [p.render() for p in found]
    assert expected in found[0].message
    assert found[0].location == f"models.yaml:{line_of(text, needle)}"


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = replaced("    revision: main\n    folder: vae", "    revison: main\n    folder: vae")
    (problem,) = problems(write(tmp_path, text))
    assert problem.hint == "did you mean 'revision'?"
    assert problem.render().startswith(
        f"models.yaml:{line_of(text, 'revison')}: models.vae.revison"
    )


def test_duplicate_destination(tmp_path: Path) -> None:
    text = replaced(
        "  lightning_lora:\n",
        "  other_lora:\n"
        "    role: lora\n"
        "    repo: someone/other-loras\n"
        f"    file: Qwen-Image-Edit-2509/{LORA_NAME}\n"
        "    folder: loras\n"
        "  lightning_lora:\n",
    )
    found = problems(write(tmp_path, text))
    assert len(found) == 1
    assert (
        "destination models/loras/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16"
        in found[0].message
    )
    assert "'other_lora'" in found[0].message
    assert found[0].location == f"models.yaml:{line_of(text, 'lightning_lora:') + 3}"


SECOND_MODEL = (
    "  second_model:\n"
    "    role: diffusion_model\n"
    "    repo: Comfy-Org/Qwen-Image-Edit_ComfyUI\n"
    "    file: split_files/diffusion_models/qwen_image_edit_2509_bf16.safetensors\n"
    "    folder: diffusion_models\n"
)


def test_several_entries_of_a_role_are_valid(tmp_path: Path) -> None:
    """Wan 2.2 has two diffusion models, Flux two text encoders: a role is not a slot."""
    text = replaced("  text_encoder:\n", SECOND_MODEL + "  text_encoder:\n")
    text = text.replace(
        "    folder: text_encoders\n",
        "    folder: text_encoders\n  clip_l:\n    role: text_encoder\n"
        "    repo: comfyanonymous/flux_text_encoders\n    file: clip_l.safetensors\n"
        "    folder: text_encoders\n",
        1,
    )
    config = load_config(write(tmp_path, text)).config
    assert [n for n, _ in config.entries_by_role(Role.DIFFUSION_MODEL)] == [
        "diffusion_model",
        "second_model",
    ]
    assert lora_base(config, "lightning_lora") == "diffusion_model"  # its updates.follows


def test_every_comfyui_model_folder_has_a_role() -> None:
    # folder_paths.py of ComfyUI a125cd84, less configs, diffusers (folders) and classifiers
    folders = {
        "checkpoints", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
        "style_models", "embeddings", "vae_approx", "controlnet", "gligen", "upscale_models",
        "hypernetworks", "photomaker", "model_patches", "audio_encoders",
    }  # fmt: skip
    held = {folder for folders_of in ROLE_FOLDERS.values() for folder in folders_of}
    assert folders <= held
    assert set(ROLE_ORDER) == set(Role)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("nowhere", "base 'nowhere' is not an entry"),
        ("vae", "base 'vae' is a vae; a LoRA patches a diffusion_model or checkpoint"),
    ],
)
def test_lora_base_must_be_a_base_model(tmp_path: Path, base: str, expected: str) -> None:
    text = replaced("    distilled_steps: 4\n", f"    distilled_steps: 4\n    base: {base}\n")
    (problem,) = problems(write(tmp_path, text))
    assert expected in problem.message
    assert problem.location == f"models.yaml:{line_of(text, f'base: {base}')}"


def test_entry_names_cannot_shadow_placeholders(tmp_path: Path) -> None:
    text = replaced("  vae:\n    role: vae\n", "  steps:\n    role: vae\n")
    (problem,) = problems(write(tmp_path, text))
    assert "placeholder {{ steps }} for a sampler setting" in problem.message
    text = replaced("  vae:\n    role: vae\n", "  lora:\n    role: vae\n")
    (problem,) = problems(write(tmp_path, text))
    assert "entry name 'lora' is a role, but the entry is a vae" in problem.message


def test_several_problems_reported_together(tmp_path: Path) -> None:
    text = replaced("  gpu_memory_gb: 24", "  gpu_memory_gb: lots")
    text = text.replace("    folder: vae", "    folder: vae\n    colour: blue")
    assert len(problems(write(tmp_path, text))) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("version: 1\nversion: 1\n", "duplicate"),
        ("version: [1\n", "YAML syntax error"),
        ("- 1\n- 2\n", "top level must be a mapping"),
        ("a: 1\n---\nb: 2\n", "several YAML documents"),
    ],
)
def test_hostile_or_broken_yaml(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert expected in caught.value.render()


def test_cli_exit_code_and_json_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, replaced("split_files/vae/qwen_image_vae.safetensors", "vae.pth"))
    assert main(["validate", "--config", str(path), "--json"]) == ExitCode.CONFIG
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["error"] == "ConfigErrors"
    assert "pickle-based format (.pth)" in data["problems"][0]["message"]
    assert "Traceback" not in captured.err
    assert "pickle-based" in captured.err


def test_github_annotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    text = replaced("  gpu_memory_gb: 24", "  gpu_memory_gb: lots")
    path = write(tmp_path, text)
    assert main(["validate", "--config", str(path)]) == ExitCode.CONFIG
    line = line_of(text, "gpu_memory_gb")
    assert f"::error file={path},line={line}::" in capsys.readouterr().err


def test_missing_file(tmp_path: Path) -> None:
    assert main(["validate", "--config", str(tmp_path / "nope.yaml")]) == ExitCode.CONFIG


def test_json_schema_is_current() -> None:
    committed = (ROOT / SCHEMA_PATH).read_text()
    assert committed == models_schema_text(), "run `imagebuilder schema --write`"
