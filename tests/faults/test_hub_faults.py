"""Every Hub command through the fault proxy: transient faults change nothing, fatal ones
end fast with exit 6, one line, and untouched files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faultproxy import Fault, FaultProxy, Kind
from faults.budget import short_budgets
from faults.case import Case, CaseParts
from faults.closed import closed_port_host
from faults.matrix import HUB_FATAL, HUB_ROUTES, ROUND_TWO, TRANSIENT, Fatal
from hubserver.fixtures import configure_hub_env
from hubserver.releases import add_2511_lora_repo, add_2511_release
from hubserver.server import HubServer
from imagebuilder.cli import main

ROOT = Path(__file__).resolve().parents[2]
VAE = "Comfy-Org/Qwen-Image_ComfyUI/split_files/vae/qwen_image_vae.safetensors@main"


def command_line(command: str, config: Path) -> list[str]:
    if command == "inspect (remote)":
        return ["inspect", VAE, "--json"]
    return [command, "-c", str(config), "--json"]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: object
    stderr: str
    files: dict[str, bytes]
    seconds: float


@dataclass
class Stage:
    hub: HubServer
    proxy: FaultProxy
    template: Path


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """The 2509 stack locked, then the 2511 release published: every command has work."""
    with HubServer("qwen_2509") as hub, FaultProxy(int(hub.host_port.rsplit(":", 1)[1])) as proxy:
        template = tmp_path_factory.mktemp("hubfaults") / "project"
        template.mkdir()
        shutil.copy(ROOT / "models.yaml", template / "models.yaml")
        with pytest.MonkeyPatch.context() as patch:
            configure_hub_env(patch, hub, template.parent / "hf_home")
            assert main(["lock", "-c", str(template / "models.yaml")]) == 0
        add_2511_release(hub)
        add_2511_lora_repo(hub)
        yield Stage(hub, proxy, template)


class Runner(Case[Stage]):
    """This suite's commands, run for one case."""

    def project(self, name: str = "project", endpoint: str | None = None) -> Path:
        """A fresh copy of the locked project, the CLI pointed at the proxy (or endpoint)."""
        project = self.tmp_path / name
        shutil.copytree(self.stage.template, project)
        configure_hub_env(self.monkeypatch, self.stage.hub, self.tmp_path / "hf_home")
        self.monkeypatch.setenv("HF_ENDPOINT", endpoint or self.stage.proxy.url)
        short_budgets(self.monkeypatch)
        self.capsys.readouterr()
        return project

    def run(self, command: str, endpoint: str | None = None) -> Outcome:
        project = self.project(endpoint=endpoint)
        started = time.monotonic()
        code = main(command_line(command, project / "models.yaml"))
        seconds = time.monotonic() - started
        captured = self.capsys.readouterr()
        files = {p.name: p.read_bytes() for p in sorted(project.iterdir()) if p.is_file()}
        try:
            text = captured.out.replace(str(project), "<project>")
            stdout: object = json.loads(text) if text.strip() else None
        except ValueError:
            stdout = captured.out
        return Outcome(code, stdout, captured.err, files, seconds)

    def baseline(self, command: str) -> Outcome:
        """The command's outcome with no fault, run once per module."""
        if command not in _baselines:
            self.stage.proxy.clear()
            clean = self.elsewhere("clean")
            _baselines[command] = clean.run(command)
        return _baselines[command]


_baselines: dict[str, Outcome] = {}


@pytest.fixture
def runner(stage: Stage, case_parts: CaseParts) -> Runner:
    return Runner(stage, *case_parts)


def _break_routes(proxy: FaultProxy, command: str, fault: Fault, times: int) -> None:
    proxy.clear()
    for method, path, header in HUB_ROUTES[command]:
        proxy.add(fault, method=method, path=path, header=header, times=times)


@pytest.mark.parametrize("fault_name", list(TRANSIENT))
@pytest.mark.parametrize("command", list(HUB_ROUTES))
def test_one_transient_fault_per_route_changes_nothing(
    runner: Runner, command: str, fault_name: str
) -> None:
    clean = runner.baseline(command)
    _break_routes(runner.stage.proxy, command, TRANSIENT[fault_name], times=1)
    faulty = runner.run(command)
    assert runner.stage.proxy.faults_applied() >= len(HUB_ROUTES[command])
    assert faulty.exit_code == clean.exit_code, faulty.stderr
    assert faulty.stdout == clean.stdout
    assert faulty.files == clean.files
    assert "Retrying" not in faulty.stderr and "HTTP Error" not in faulty.stderr
    assert faulty.seconds < 10


@pytest.mark.parametrize("fatal", HUB_FATAL, ids=lambda fatal: fatal.name)
@pytest.mark.parametrize("command", list(HUB_ROUTES))
def test_a_dead_hub_ends_fast_once_and_changes_nothing(
    runner: Runner, command: str, fatal: Fatal
) -> None:
    stage = runner.stage
    endpoint = None
    if fatal.fault is None:
        endpoint = f"http://{closed_port_host()}"
    else:
        _break_routes(stage.proxy, command, fatal.fault, times=-1)
    before = {p.name: p.read_bytes() for p in stage.template.iterdir() if p.is_file()}
    outcome = runner.run(command, endpoint)
    stage.proxy.clear()  # release hung connections before the next case
    assert outcome.exit_code == fatal.exit_code, outcome.stderr
    lines = _logical_lines(outcome.stderr)
    errors = [line for line in lines if line.startswith("error:")]
    if fatal.once:
        assert len(errors) == 1, outcome.stderr
        assert "warning:" not in outcome.stderr
    failures = errors + [line for line in lines if line.startswith("warning:")]
    assert failures and all(re.search(fatal.message, line) for line in failures), failures
    assert "Retrying" not in outcome.stderr and "HTTP Error" not in outcome.stderr
    assert outcome.seconds < fatal.bound_s
    assert outcome.files == before  # nothing written, nothing half-written, no temp files


def test_paths_info_always_failing_gives_null_dates_with_a_note(runner: Runner) -> None:
    clean = runner.baseline("check-updates")
    runner.stage.proxy.clear()
    runner.stage.proxy.add(
        Fault(Kind.STATUS, status=503), method="POST", path=r"/paths-info/", times=-1
    )
    faulty = runner.run("check-updates")
    assert faulty.exit_code == clean.exit_code
    assert isinstance(faulty.stdout, dict) and isinstance(clean.stdout, dict)
    assert any("commit dates unknown" in note for note in faulty.stdout["notes"]), faulty.stdout
    dates = [c["proposed"]["date"] for c in faulty.stdout["changes"]]
    assert dates and all(date is None for date in dates)
    assert all(c["proposed"]["date"] for c in clean.stdout["changes"])


def test_the_command_deadline_ends_a_slow_run_naming_what_was_running(runner: Runner) -> None:
    stage = runner.stage
    stage.proxy.clear()
    stage.proxy.add(Fault(Kind.DELAY, seconds=5), method="GET", path=r"^/api/models/", times=-1)
    project = runner.project()
    runner.monkeypatch.setenv("IMAGEBUILDER_READ_TIMEOUT", "30")
    runner.monkeypatch.setenv("IMAGEBUILDER_DEADLINE", "0.02")  # minutes: 1.2 s
    started = time.monotonic()
    code = main(["verify", "-c", str(project / "models.yaml")])
    seconds = time.monotonic() - started
    stage.proxy.clear()
    stderr = runner.capsys.readouterr().err
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 6 and len(errors) == 1, stderr
    assert "GET /api/models/" in errors[0] and "0.02-minute deadline" in stderr
    assert seconds < 4


def test_retries_are_shown_only_with_debug(runner: Runner) -> None:
    for debug in (False, True):
        runner.stage.proxy.clear()
        runner.stage.proxy.add(Fault(Kind.STATUS, status=503), path=r"^/api/models/", times=1)
        project = runner.project(f"debug-{debug}")
        args = ["verify", "-c", str(project / "models.yaml")]
        assert main([*(["--debug"] if debug else []), *args]) == 0
        stderr = runner.capsys.readouterr().err
        assert ("try 1 failed" in stderr) is debug, stderr


NEW_LORA_READ = r"^/lightx2v/Qwen-Image-Edit-2511-Lightning/resolve/"


@pytest.mark.parametrize(
    ("key", "fault"),
    [
        ("lora-header-403", Fault(Kind.STATUS, status=403)),
        ("lora-header-garbage", Fault(Kind.ANSWER, status=200, body=b"<html>no</html>" * 8)),
    ],
)
def test_a_lora_whose_header_cannot_be_read_is_never_applied(
    runner: Runner, key: str, fault: Fault
) -> None:
    """Before: `update` took the LoRA without its fit check ("compat": "unknown", exit 0)."""
    assert ROUND_TWO[key]
    stage = runner.stage
    stage.proxy.clear()
    stage.proxy.add(fault, method="GET", path=NEW_LORA_READ, times=-1)
    before = {p.name: p.read_bytes() for p in stage.template.iterdir() if p.is_file()}
    outcome = runner.run("update")
    stage.proxy.clear()
    assert stage.proxy.faults_applied() == 0  # cleared; the run itself applied them
    assert isinstance(outcome.stdout, dict), outcome.stderr
    changed = {c["entry"] for c in outcome.stdout["applied"]}
    assert not changed & {"lightning_lora", "diffusion_model"}, outcome.stdout["applied"]
    held = {o["entry"]: o["why"] for o in outcome.stdout["options"]}
    assert "could not be read or parsed" in held["lightning_lora"], held
    assert "its LoRA lightning_lora cannot be checked" in held["diffusion_model"], held
    assert "held back" in outcome.stderr
    for name in ("models.yaml", "models.lock.json"):
        if name in before:
            assert outcome.files[name] == before[name], name


def _logical_lines(stderr: str) -> list[str]:
    """stderr's messages whole: notes and warnings wrap at 80 columns, their continuation
    lines indented, so a message is its first line plus the indented ones after it."""
    lines: list[str] = []
    for line in stderr.splitlines():
        if line.startswith("  ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def test_a_killed_writers_temp_files_go_at_the_next_command(runner: Runner) -> None:
    """Before: a temp file stayed until the next write of that very file."""
    assert ROUND_TWO["stale-temp-files"]
    runner.stage.proxy.clear()
    project = runner.project()
    gone = subprocess.Popen(["true"])  # a finished child: its pid names no process
    gone.wait()
    stale = [
        project / f".models.yaml.{gone.pid}.tmp-abc123",
        project / f".report.html.{gone.pid}.tmp-x_1",
    ]
    for path in stale:
        path.write_text("half", encoding="utf-8")
    live = project / f".models.yaml.{os.getpid()}.tmp-live"  # a writer still running
    live.write_text("busy", encoding="utf-8")
    assert main(["lock", "-c", str(project / "models.yaml")]) == 0
    assert not any(path.exists() for path in stale)
    assert live.exists()
