"""The check-updates/update table: one line per entry at any width, golden at 80 and 160.

Goldens are the real command against the loopback Hub (stable commit ids), so they show
what a user sees; accept an intended layout change with IMAGEBUILDER_UPDATE_GOLDENS=1.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubserver.releases import publish_2511
from hubserver.server import HubServer
from imagebuilder.cli import main
from imagebuilder.cli._updates_table import difference, fit, render, short_name, table_lines
from imagebuilder.errors import ExitCode, FileNotFoundOnHub, RepoNotFound
from imagebuilder.updates.proposal import (
    Change,
    ChangeKind,
    EntryProblem,
    FileRef,
    Proposal,
    SkippedSource,
)
from imagebuilder.weights.compat import Compatibility
from infra.golden import check_golden

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = ("diffusion_model", "text_encoder", "vae", "lightning_lora")


def golden(name: str, text: str) -> None:
    check_golden(name, text)


def assert_fits(text: str, width: int) -> None:
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long


def table_rows(text: str) -> list[str]:
    """The table's entry rows: after the title and header, up to the first blank line."""
    return text.split("\n\n", 1)[0].splitlines()[2:]


# --- pure layout ------------------------------------------------------------------------


def test_short_names_and_fitting() -> None:
    path = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"
    name = short_name(path)
    assert name == "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16"
    other = "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16"
    span = difference(name, other)
    assert span is not None and name[span[0] : span[1]] == "2509"
    assert fit(name, 21, span) == "…2509…steps-V1.0-bf16"
    assert fit("qwen_image_edit_2509_fp8_e4m3fn", 21) == "…edit_2509_fp8_e4m3fn"
    assert fit("short", 21) == "short"
    assert short_name("a/b\x1b[31m.safetensors") == "b?[31m"  # no escape reaches a terminal


def _ref(path: str, commit: str = "a" * 40, repo: str = "org/repo") -> FileRef:
    return FileRef(repo, path, commit, "c" * 64, 1000, datetime(2025, 9, 22, tzinfo=UTC))


def synthetic() -> Proposal:
    """Every kind of row: change, content change, option, error, up to date, unlocked."""
    base = Change(
        "diffusion_model",
        ChangeKind.NEWER_RELEASE,
        _ref("d/qwen_image_edit_2509_fp8_e4m3fn.safetensors"),
        _ref("d/qwen_image_edit_2511_fp8mixed.safetensors", "b" * 40),
        Compatibility.DROP_IN,
        "newer release 2511 (was 2509)",
    )
    bytes_changed = Change(
        "a_rather_long_entry_name_for_a_text_encoder",
        ChangeKind.CONTENT_CHANGED,
        _ref("t/qwen_2.5_vl_7b_fp8_scaled.safetensors"),
        _ref("t/qwen_2.5_vl_7b_fp8_scaled.safetensors", "e" * 40),
        why="main now serves different bytes",
    )
    option = Change(
        "lightning_lora",
        ChangeKind.FEWER_STEPS,
        _ref("Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"),
        _ref("Qwen-Image-Edit-2509-Lightning-2steps-V1.0-bf16.safetensors"),
        Compatibility.DROP_IN,
        "2 steps instead of 4",
    )
    pins = {
        "vae": FileRef("org/x", "split_files/vae/qwen_image_vae.safetensors"),
        "clip": _ref("clip_vision_h.safetensors"),
        "extra": _ref("x.safetensors"),
    }
    return Proposal(
        changes=(base, bytes_changed),
        options=(option,),
        problems=(EntryProblem("vae", FileNotFoundOnHub("gone", location="org/x@main")),),
        up_to_date=("clip", "extra"),
        unlocked=("extra",),
        skipped_sources=(
            SkippedSource("org/missing@main", ("diffusion_model",), RepoNotFound("x")),
        ),
        pins=pins,
    )


@pytest.mark.parametrize("width", [40, 60, 72, 80, 100, 120, 160, 240])
def test_every_line_fits_and_every_entry_is_one_line(width: int) -> None:
    text = render(synthetic(), title="check-updates: " + "x" * 300, width=width, long=True)
    assert_fits(text, max(width, 60))
    rows = table_rows(text)
    assert len(rows) == 6  # 2 changes, 1 option, 1 error, 2 current
    kinds = [row.split()[-1] for row in rows]
    assert kinds == ["newer-release", "content-changed", "fewer-steps", "error", "up-to-date",
                     "unlocked"]  # fmt: skip
    assert "@aaaaaaa" in rows[1] and "@eeeeeee" in rows[1]  # same file: the commits differ
    assert "_vae" in rows[3] and "_h" in rows[4]  # the pinned file, also for errors


def test_a_narrow_table_keeps_what_differs() -> None:
    lines = table_lines(synthetic(), title="t", width=80)
    assert "2509" in lines[2] and "2511" in lines[2]
    assert "2steps" in lines[4] or "2s" in lines[4]


# --- the real command, golden ------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, qwen_hub_env: HubServer) -> Path:
    shutil.copy(ROOT / "models.yaml", tmp_path / "models.yaml")
    return tmp_path / "models.yaml"


@pytest.fixture
def locked(project: Path) -> Path:
    assert main(["lock", "-c", str(project)]) == 0
    return project


Run = Callable[[list[str], int], tuple[int, str, str]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`code, out, err = run(args, width)`: the command in a terminal `width` columns wide."""

    def run_at(args: list[str], width: int) -> tuple[int, str, str]:
        monkeypatch.setenv("COLUMNS", str(width))
        capsys.readouterr()
        code = main(args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_at


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("with_lock", [True, False], ids=["locked", "no-lock"])
def test_check_updates_golden(
    project: Path, qwen_hub: HubServer, run: Run, width: int, with_lock: bool
) -> None:
    if with_lock:
        assert main(["lock", "-c", str(project)]) == 0
    code, before, _ = run(["check-updates", "-c", str(project)], width)
    assert code == ExitCode.OK
    publish_2511(qwen_hub)
    code, after, err = run(["check-updates", "-c", str(project)], width)
    assert code == ExitCode.UPDATES_AVAILABLE
    lock = "locked" if with_lock else "no-lock"
    moved = ["diffusion_model", "lightning_lora", "text_encoder", "vae"]
    for name, text, order in (
        # The scaled 2509 base beside the LoRA: an option row above the entries.
        (f"current-{lock}", before, ["diffusion_model", *ENTRIES]),
        (f"2511-{lock}", after, moved),
    ):
        assert_fits(text, width)
        assert [row.split()[0] for row in table_rows(text)] == order  # one line per entry
        golden(f"check-updates-{name}-{width}.txt", text)
    if not with_lock:
        assert err.rstrip().splitlines()[-1].startswith("hint: no lock yet")


def test_long_and_update_golden(locked: Path, qwen_hub: HubServer, run: Run) -> None:
    publish_2511(qwen_hub)
    code, long, _ = run(["check-updates", "-c", str(locked), "--long"], 80)
    assert code == ExitCode.UPDATES_AVAILABLE
    assert_fits(long, 80)
    golden("check-updates-long-80.txt", long)
    code, updated, _ = run(["update", "-c", str(locked)], 80)
    assert code == 0
    assert updated.startswith("update: 2 changes applied, wrote models.yaml, models.lock.json\n")
    assert_fits(updated, 80)
    golden("update-80.txt", updated)


def test_warnings_and_notes_go_to_stderr_once(locked: Path, qwen_hub: HubServer, run: Run) -> None:
    qwen_hub.faults.add(r"^/api/models$|^/api/models\?", status=400, times=None)
    code, out, err = run(["check-updates", "-c", str(locked)], 80)
    assert code == ExitCode.OK
    assert "warning" not in out and "note:" not in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "skipped source search lightx2v/Qwen-Image" in warnings[0]
    assert "1 source skipped" in out.splitlines()[0]
