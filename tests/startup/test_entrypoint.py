"""The image's entrypoint, run as the image runs it (start.sh, lib/ibstart/, start.json)
against the loopback ComfyUI: prefetch and warm-up happen, ComfyUI's flags reach its
command line, a failing warm-up or a broken start.json never stops the worker, and the
command's exit status is passed on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from comfyserver.comfy import ComfyServer
from imagebuilder.startup.joinparts import join_file
from imagebuilder.startup.settings import JoinFile, parse
from imagebuilder.startup.warmup import UPLOAD_NAME, tiny_png, warmup_graph

ROOT = Path(__file__).resolve().parents[2]
STARTUP = ROOT / "src" / "imagebuilder" / "startup"
WORKFLOW = ROOT / "workflows" / "qwen_image_edit_1.json"

# Stands in for the base's command: ComfyUI's main.py would get the flags; the worker's
# handler waits a moment (the warm-up runs meanwhile) and exits with a code of its own.
FAKE_MAIN = """
import json, sys, time
print(json.dumps({"argv": sys.argv[1:]}), flush=True)
time.sleep(float(sys.argv[1]))
sys.exit(int(sys.argv[2]))
"""


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """The entrypoint's files laid out as templates/Dockerfile.j2 and publish lay them."""
    root = tmp_path / "imagebuilder"
    shutil.copytree(STARTUP, root / "lib" / "ibstart", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(STARTUP / "start.sh", root / "start.sh")
    (tmp_path / "main.py").write_text(FAKE_MAIN)
    models = tmp_path / "models"
    models.mkdir()
    for name, size in (("text_encoder.safetensors", 3 << 20), ("unet.safetensors", 5 << 20)):
        (models / name).write_bytes(os.urandom(size))
    return tmp_path


def rendered_workflow(tmp_path: Path) -> Path:
    """The shipped workflow, rendered (the loopback ComfyUI refuses placeholders)."""
    out = tmp_path / "rendered"
    subprocess.run(
        [sys.executable, "-m", "imagebuilder", "render-workflows", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return out / WORKFLOW.name


def start(
    image: Path, settings: dict[str, Any], *, sleep: float = 1.5, code: int = 7
) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    config = image / "imagebuilder" / "start.json"
    config.write_text(json.dumps(settings))
    events = image / "events.jsonl"
    events.unlink(missing_ok=True)
    env = {**os.environ, "IMAGEBUILDER_START_CONFIG": str(config),
           "IMAGEBUILDER_START_LOG": str(events)}  # fmt: skip
    command = [sys.executable, str(image / "main.py"), str(sleep), str(code)]
    done = subprocess.run(
        ["/bin/sh", str(image / "imagebuilder" / "start.sh"), *command],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    lines = (
        [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    )
    child = json.loads(done.stdout.splitlines()[0])
    return done.returncode, lines, child


def names(events: list[dict[str, Any]]) -> list[str]:
    return [event["ib_start"] for event in events]


def test_prefetch_flags_and_warmup_happen(image: Path) -> None:
    workflow = rendered_workflow(image)
    with ComfyServer(seconds_per_step=0.01, fixed_seconds=0.02) as comfy:
        files = [
            {"path": str(p), "size": p.stat().st_size} for p in sorted((image / "models").iterdir())
        ]
        code, events, child = start(image, {
            "prefetch": {"files": files, "readers": 3, "chunk_mib": 1},
            "comfyui": {"main": str(image / "main.py"), "flags": ["--disable-api-nodes"],
                        "url": comfy.url},
            "warmup": {"workflow": str(workflow), "steps": 1},
        })  # fmt: skip
        prompts = comfy.requests.get("/prompt", 0)
    assert code == 7  # the command's own exit status
    assert child["argv"][-1] == "--disable-api-nodes"  # appended to ComfyUI's command line
    seen = names(events)
    assert "prefetch_done" in seen and seen.count("prefetch_file_done") == 2
    done = next(e for e in events if e["ib_start"] == "prefetch_done")
    assert done["bytes"] == 8 << 20 and done["errors"] == []
    assert "warmup_done" in seen, events
    assert prompts == 1


def test_a_failing_warmup_does_not_stop_the_worker(image: Path) -> None:
    with ComfyServer(seconds_per_step=0.01, fixed_seconds=0.02) as comfy:
        # The template itself: the loopback ComfyUI refuses its placeholders with 400.
        code, events, _ = start(image, {
            "comfyui": {"url": comfy.url}, "warmup": {"workflow": str(WORKFLOW)},
        })  # fmt: skip
    assert code == 7
    failed = [e for e in events if e["ib_start"] == "warmup_failed"]
    assert failed and failed[0]["reason"] == "HTTP 400"
    assert names(events)[-1] == "command_exit"


def test_no_comfyui_and_a_broken_config_still_run_the_command(image: Path) -> None:
    code, events, _ = start(image, {
        "warmup": {"workflow": str(WORKFLOW), "timeout_seconds": 0.5},
        "comfyui": {"url": "http://127.0.0.1:9"},
    }, sleep=1.0, code=0)  # fmt: skip
    assert code == 0 and "warmup_failed" in names(events)
    (image / "imagebuilder" / "start.json").write_text("{not json")
    config = image / "imagebuilder" / "start.json"
    env = {**os.environ, "IMAGEBUILDER_START_CONFIG": str(config)}
    done = subprocess.run(
        ["/bin/sh", str(image / "imagebuilder" / "start.sh"), "sh", "-c", "exit 5"],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 5 and "settings_unreadable" in done.stderr


def test_switched_off_the_command_runs_as_the_base_runs_it(image: Path) -> None:
    env = {**os.environ, "IMAGEBUILDER_START": "0"}
    done = subprocess.run(
        ["/bin/sh", str(image / "imagebuilder" / "start.sh"), "sh", "-c", "echo $0; exit 4"],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 4 and "ib_start" not in done.stderr


def test_split_parts_are_joined_into_place(tmp_path: Path) -> None:
    data = os.urandom((3 << 20) + 12345)
    parts = []
    for index, offset in enumerate(range(0, len(data), 1 << 20)):
        part = tmp_path / f"{index:03d}"
        part.write_bytes(data[offset : offset + (1 << 20)])
        parts.append(str(part))
    target = tmp_path / "models" / "unet.safetensors"
    item = JoinFile(str(target), tuple(parts), len(data))
    assert join_file(item) in {"reflink", "copy_file_range", "copy", "copy_file_range+reflink"}
    assert target.read_bytes() == data
    assert join_file(item) == "present"  # a restarted container pays nothing


def test_warmup_graph_runs_one_step_on_the_tiny_input_and_saves_nothing() -> None:
    graph = json.loads(WORKFLOW.read_text())
    warm = warmup_graph(graph, UPLOAD_NAME, 1)
    kinds = [node["class_type"] for node in warm.values()]
    assert "SaveImage" not in kinds and "PreviewImage" in kinds
    assert all(n["inputs"]["steps"] == 1 for n in warm.values() if n["class_type"] == "KSampler")
    assert graph != warm  # the shipped graph is left as it is


def test_settings_turn_parts_off() -> None:
    settings = parse({"prefetch": {"enabled": False, "files": [{"path": "/x", "size": 1}]},
                      "warmup": {"enabled": False, "workflow": "/w.json"},
                      "comfyui": {"flags_enabled": False, "flags": ["--x"]}})  # fmt: skip
    assert (
        settings.prefetch == () and settings.warmup_workflow == "" and settings.comfyui_flags == ()
    )


def test_warmup_steps_aside_when_a_job_is_already_queued(image: Path) -> None:
    """A job waiting from t=0 loads the models itself; a warm-up ahead of it would only
    delay it."""
    workflow = rendered_workflow(image)
    graph = json.loads(workflow.read_text())
    for node in graph.values():
        if node["class_type"] == "LoadImage":
            node["inputs"]["image"] = "job.png"
    with ComfyServer(seconds_per_step=0.5, fixed_seconds=0.5) as comfy:
        comfy.inputs["job.png"] = tiny_png()
        request = urllib.request.Request(
            f"{comfy.url}/prompt",
            data=json.dumps({"prompt": graph}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert "prompt_id" in json.loads(answer.read())
        code, events, _ = start(image, {
            "comfyui": {"url": comfy.url},
            "warmup": {"workflow": str(workflow), "grace_seconds": 0.1},
        })  # fmt: skip
        prompts = comfy.requests.get("/prompt", 0)
    assert code == 7
    skipped = [e for e in events if e["ib_start"] == "warmup_skipped"]
    assert skipped and "1 job(s) already queued" in skipped[0]["reason"], events
    assert prompts == 1  # the real job only
