"""render: golden Dockerfiles, layer order, injection attempts rendered inert."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from imagebuilder.errors import ConfigError, LockDriftError
from imagebuilder.hub.client import Hub
from imagebuilder.image.layers import MODEL_LABEL_PREFIX
from imagebuilder.image.render import (
    find_template,
    label_value,
    render_build,
    write_build_context,
)
from imagebuilder.project.config import Config
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import Lock, LockEntry
from infra.golden import check_golden

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = find_template(ROOT).read_text(encoding="utf-8")
URLS = Hub(endpoint="https://huggingface.co", token="").file_url


def fake_lock(config: Config) -> Lock:
    models = {}
    for index, (name, entry) in enumerate(sorted(config.models.items())):
        models[name] = LockEntry(
            repo=entry.repo,
            file=entry.file,
            revision=entry.revision,
            commit=f"{index + 1:x}" * 40,
            sha256=f"{index + 10:x}" * 64,
            size=1000 * (index + 1),
        )
    return Lock(version=1, models=models)


def project_config() -> Config:
    return load_config(ROOT / "models.yaml").config


def test_project_dockerfile_matches_golden() -> None:
    config = project_config()
    build = render_build(config, fake_lock(config), TEMPLATE, URLS)
    check_golden("Dockerfile.models-yaml", build.dockerfile)


def test_hub_secret_and_workflows_variant_matches_golden() -> None:
    config = project_config()
    build = render_build(
        config, fake_lock(config), TEMPLATE, URLS, workflows={"edit.json": b"{}"}, hub_secret=True
    )
    check_golden("Dockerfile.secret-workflows", build.dockerfile)
    assert build.files["workflows/edit.json"] == b"{}"


def test_layers_go_from_least_to_most_often_changed() -> None:
    config = project_config()
    build = render_build(config, fake_lock(config), TEMPLATE, URLS)
    roles = [layer.role for layer in build.layers]
    assert roles == ["vae", "text_encoder", "diffusion_model", "lora"]
    text = build.dockerfile
    positions = [text.index(layer.url) for layer in build.layers]
    assert positions == sorted(positions)
    assert text.index('COPY ["models.lock.json"') > positions[-1]


def test_same_inputs_same_tag_and_a_lora_bump_changes_it() -> None:
    config = project_config()
    lock = fake_lock(config)
    first = render_build(config, lock, TEMPLATE, URLS)
    again = render_build(config, lock, TEMPLATE, URLS)
    assert first.content_tag == again.content_tag
    lora = lock.models["lightning_lora"].model_copy(update={"sha256": "f" * 64})
    bumped = Lock(version=1, models={**lock.models, "lightning_lora": lora})
    assert render_build(config, bumped, TEMPLATE, URLS).content_tag != first.content_tag


def test_the_content_tag_does_not_depend_on_the_hub_endpoint() -> None:
    """Before: the URLs in the Dockerfile were hashed, so HF_ENDPOINT (a mirror, the
    loopback Hub) changed the tag of the same models."""
    config = project_config()
    lock = fake_lock(config)
    public = render_build(config, lock, TEMPLATE, URLS)
    mirror_urls = Hub(endpoint="http://mirror.internal:8080", token="").file_url
    mirrored = render_build(config, lock, TEMPLATE, mirror_urls)
    assert "http://mirror.internal:8080/" in mirrored.dockerfile  # it downloads from there
    assert mirrored.dockerfile != public.dockerfile
    assert mirrored.content_tag == public.content_tag


def test_drifted_lock_is_refused() -> None:
    config = project_config()
    lock = fake_lock(config)
    partial = Lock(version=1, models={k: v for k, v in lock.models.items() if k != "vae"})
    with pytest.raises(LockDriftError):
        render_build(config, partial, TEMPLATE, URLS)


def test_labels_record_every_pinned_file() -> None:
    config = project_config()
    lock = fake_lock(config)
    build = render_build(config, lock, TEMPLATE, URLS)
    for name, pinned in lock.models.items():
        key = f"{MODEL_LABEL_PREFIX}{name}="
        assert key in build.dockerfile
        assert pinned.sha256 in build.dockerfile and pinned.commit in build.dockerfile


HOSTILE_FILE = "weights/a'b\"c$(touch /tmp/pwned)`id`;rm -rf $HOME #x.safetensors"


def hostile_config() -> tuple[Config, Lock]:
    base = project_config()
    entry = base.models["lightning_lora"].model_copy(
        update={"file": HOSTILE_FILE, "repo": "evil/repo"}
    )
    config = base.model_copy(update={"models": {**base.models, "lightning_lora": entry}})
    lock = fake_lock(config)
    return config, lock


def test_hostile_file_name_renders_as_one_inert_shell_word() -> None:
    config, lock = hostile_config()
    build = render_build(config, lock, TEMPLATE, URLS)
    run_line = next(
        line
        for line in build.dockerfile.splitlines()
        if line.strip().startswith("dest=") and "#x.safetensors" in line
    )
    words = shlex.split(run_line.strip().removesuffix("\\").strip().removesuffix(";"))
    assert words == [f"dest=/comfyui/models/loras/{HOSTILE_FILE.rsplit('/', maxsplit=1)[-1]}"]
    # The real shell agrees: echoing the quoted word runs nothing and prints it back.
    quoted = run_line.strip().removeprefix("dest=").removesuffix("; \\")
    out = subprocess.run(
        ["sh", "-c", f"printf %s {quoted}"], capture_output=True, text=True, check=False
    )
    assert out.stdout == f"/comfyui/models/loras/{HOSTILE_FILE.rsplit('/', maxsplit=1)[-1]}"
    assert not Path("/tmp/pwned").exists()


def test_hostile_label_value_survives_dockerfile_quoting() -> None:
    config, lock = hostile_config()
    build = render_build(config, lock, TEMPLATE, URLS)
    label_line = next(
        line for line in build.dockerfile.splitlines() if "io.imagebuilder.model.lightning" in line
    )
    assert "\\$(touch" in label_line and '\\"c' in label_line
    # Undo the Dockerfile escaping the way the builder does: the JSON comes back intact.
    raw = label_line.split("=", 1)[1].strip().removesuffix("\\").strip()
    unescaped = raw[1:-1].replace('\\"', '"').replace("\\$", "$").replace("\\\\", "\\")
    assert json.loads(unescaped)["file"] == HOSTILE_FILE


@pytest.mark.parametrize("bad", ["a\nRUN curl evil", "x\rY", "tab\there", "nul\x00"])
def test_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError):
        label_value(bad)


def test_write_build_context_drops_stale_workflows(tmp_path: Path) -> None:
    config = project_config()
    lock = fake_lock(config)
    with_flow = render_build(config, lock, TEMPLATE, URLS, workflows={"old.json": b"{}"})
    write_build_context(with_flow, tmp_path)
    assert (tmp_path / "workflows/old.json").exists()
    write_build_context(render_build(config, lock, TEMPLATE, URLS), tmp_path)
    assert not (tmp_path / "workflows/old.json").exists()
    assert (tmp_path / "Dockerfile").read_text().startswith("# Rendered by")
