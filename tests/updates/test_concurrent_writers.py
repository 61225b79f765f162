"""One writer at a time: lock, update and publish take models.yaml's writer lock, and
re-read the files inside it, so concurrent runs neither block forever nor revert each other.

The other writer is a real second process each time (it holds the lock, runs `update`,
or is killed with SIGKILL while holding it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hubserver.releases import (
    FP8MIXED_2511,
    publish_2511,
)
from hubserver.server import HubServer
from imagebuilder.cli.app import main
from imagebuilder.errors import ExitCode, WriterBusy
from imagebuilder.hub.client import Hub
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import LockRecorder, load_lock
from imagebuilder.project.writelock import WAIT_ENV, writer_lock, writer_lock_path
from imagebuilder.updates.applying import plan_update, select_changes, write_update
from imagebuilder.updates.check import check_updates

DIGEST = "sha256:" + "d" * 64
HOLDER = """
import sys, time
from pathlib import Path
from imagebuilder.project.writelock import writer_lock
with writer_lock(Path(sys.argv[1]), "publish"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextmanager
def held_by_another_process(config: Path, seconds: float = 60) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(config), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def test_a_held_lock_fails_with_the_holder_and_exit_12(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_file = project.with_name("models.lock.json")
    lock_file.unlink()
    monkeypatch.setenv(WAIT_ENV, "0.3")
    with held_by_another_process(project) as holder:
        capsys.readouterr()
        started = time.monotonic()
        assert main(["lock", "-c", str(project)]) == ExitCode.BUSY
        assert int(ExitCode.BUSY) == 12  # documented in the README
        assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert f"pid {holder.pid} (`imagebuilder publish`" in err
    assert ".models.yaml.lock" in err and WAIT_ENV in err
    assert not lock_file.exists()  # nothing written


def test_a_brief_holder_is_waited_for(project: Path) -> None:
    lock_file = project.with_name("models.lock.json")
    lock_file.unlink()
    with held_by_another_process(project, seconds=1.0) as holder:
        assert main(["lock", "-c", str(project)]) == 0
        assert holder.wait(timeout=10) == 0
    assert load_lock(lock_file) is not None


def test_a_holder_killed_with_sigkill_releases_the_lock(project: Path) -> None:
    with held_by_another_process(project) as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert writer_lock_path(project).exists()  # killed before it could remove it
        with writer_lock(project, "test", wait_s=0):
            pass  # acquired at once: the kernel released the dead holder's lock
    assert not writer_lock_path(project).exists()  # removed by the next holder


COUNTER = """
import sys, time
from pathlib import Path
from imagebuilder.project.writelock import writer_lock
config, counter = Path(sys.argv[1]), Path(sys.argv[2])
for _ in range(int(sys.argv[3])):
    with writer_lock(config, "count", wait_s=60):
        value = int(counter.read_text())
        time.sleep(0.001)  # widen the window a missing lock would lose an update in
        counter.write_text(str(value + 1))
"""


def test_writers_in_several_processes_never_interleave(tmp_path: Path) -> None:
    """The lock file is removed on every release; mutual exclusion must survive that."""
    config, counter = tmp_path / "models.yaml", tmp_path / "counter"
    counter.write_text("0")
    rounds, processes = 60, 3
    children = [
        subprocess.Popen([sys.executable, "-c", COUNTER, str(config), str(counter), str(rounds)])
        for _ in range(processes)
    ]
    assert [child.wait(timeout=120) for child in children] == [0] * processes
    assert int(counter.read_text()) == rounds * processes  # no update lost
    assert not writer_lock_path(config).exists()


def test_publish_records_digests_into_the_current_lock_not_the_one_it_read(
    project: Path, qwen_hub: HubServer
) -> None:
    """Before: a publish that started before an `update` wrote back its old lock."""
    lock_file = project.with_name("models.lock.json")
    at_publish_start = load_lock(lock_file)
    assert at_publish_start is not None
    recorder = LockRecorder(project, at_publish_start)
    recorder("vae", DIGEST)  # an early layer, recorded before the update

    publish_2511(qwen_hub)
    update = subprocess.run(
        [sys.executable, "-c", "from imagebuilder.cli import run; run()", "update", "-c",
         str(project), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert update.returncode == 0, update.stderr
    assert [c["entry"] for c in json.loads(update.stdout)["applied"]] == [
        "diffusion_model",
        "lightning_lora",
    ]

    recorder("text_encoder", DIGEST)  # later layers of the same publish
    recorder("diffusion_model", DIGEST)  # the old base: its pin moved on
    lock = load_lock(lock_file)
    assert lock is not None
    assert lock.models["diffusion_model"].file == FP8MIXED_2511  # update's work stays
    assert lock.models["diffusion_model"].layer_digest is None  # not the old file's digest
    assert lock.models["vae"].layer_digest == DIGEST  # kept by update
    assert lock.models["text_encoder"].layer_digest == DIGEST  # merged after it


def _planned_update(project: Path, qwen_hub: HubServer) -> object:
    loaded = load_config(project)
    lock_file = project.with_name("models.lock.json")
    previous = load_lock(lock_file)
    hub = Hub(endpoint=qwen_hub.url, token="")
    publish_2511(qwen_hub)
    proposal = select_changes(check_updates(loaded.config, previous, hub), [], loaded.config)
    return plan_update(loaded, lock_file, previous, proposal)


def test_update_keeps_digests_a_concurrent_publish_recorded(
    project: Path, qwen_hub: HubServer
) -> None:
    lock_file = project.with_name("models.lock.json")
    planned = _planned_update(project, qwen_hub)
    at_start = load_lock(lock_file)
    assert at_start is not None
    LockRecorder(project, at_start)("vae", DIGEST)  # publish, meanwhile
    write_update(planned)  # type: ignore[arg-type]
    lock = load_lock(lock_file)
    assert lock is not None
    assert lock.models["vae"].layer_digest == DIGEST
    assert lock.models["diffusion_model"].file == FP8MIXED_2511


def test_update_stops_when_models_yaml_changed_underneath(
    project: Path, qwen_hub: HubServer
) -> None:
    lock_file = project.with_name("models.lock.json")
    planned = _planned_update(project, qwen_hub)
    edited = project.read_text().replace("gpu_memory_gb: 24", "gpu_memory_gb: 48")
    project.write_text(edited)  # another run (or a person) wrote models.yaml meanwhile
    lock_before = lock_file.read_bytes()
    with pytest.raises(WriterBusy, match="changed while this command ran") as caught:
        write_update(planned)  # type: ignore[arg-type]
    assert caught.value.exit_code == ExitCode.BUSY
    assert project.read_text() == edited and lock_file.read_bytes() == lock_before
