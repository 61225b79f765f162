"""Hostile models.yaml and measurements: bounded, refused, located.

Each case is the regression test of one finding: the input used to crash (exit 1), hang,
or get through. Now each ends in a clear message naming the file and line, the documented
exit code, and quickly (benchmarks/bench_hostile_input.py times each against its one-second
target). Every case runs through the real command line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imagebuilder.cli.app import main
from imagebuilder.errors import ExitCode
from imagebuilder.project.pathrules import check_repo_path
from infra.hostile import (
    DEEP,
    ORIGINAL,
    assert_refused,
    assert_strict_json,
    line_of,
    replaced,
)

NESTED_BLOCK = "".join(f"{'  ' * level}k{level}:\n" for level in range(60)) + "  " * 60 + "end: 1\n"


NODE_FLOOD = ORIGINAL + "extra: [" + ", ".join(["1"] * 20_000) + "]\n"


SHAPE_CASES = [
    # Before: 250 levels -> RecursionError (exit 1); 10,000 levels -> busy > 300 s.
    *(
        pytest.param(
            ORIGINAL + "extra:\n  deep: " + "[" * depth + "]" * depth + "\n",
            "deep:",
            DEEP,
            id=f"flow-{depth}",
        )
        for depth in (250, 10_000)
    ),
    pytest.param(ORIGINAL + NESTED_BLOCK, "k32:", DEEP, id="block-nesting"),
    pytest.param(NODE_FLOOD, "extra:", "more than 5000 values", id="node-flood"),
    pytest.param(
        ORIGINAL + "# " + "x" * 140_000 + "\n", None, "over the 131072-byte limit", id="oversized"
    ),
    # Before: Python's int-digits limit raised ValueError (exit 1).
    pytest.param(
        replaced("  steps: 4 ", "  steps: " + "9" * 5000 + " "),
        "  steps: 999",
        "number with 5000 digits",
        id="5000-digits",
    ),
    pytest.param(
        replaced("  steps: 4 ", "  steps: " + "9" * 40 + " "),
        "  steps: 999",
        "less than or equal to 200",
        id="40-digits",
    ),
    pytest.param(
        replaced("  shift: 3.0", "  shift: .nan"), "shift: .nan", "finite number", id="nan"
    ),
]


def _last_line(text: str) -> str:
    return text.strip().split("\n")[-1]


# Before: `filename: '..'` and `comfyui_root: /comfyui/../../etc` passed validate.
PATH_CASES = [
    pytest.param(replaced(old, new), _last_line(new), message, id=_last_line(new))
    for old, new, message in [
        ("  comfyui_root: /comfyui", "  comfyui_root: /comfyui/../../etc", r"'\.\.'"),
        ("  comfyui_root: /comfyui", "  comfyui_root: /comfyui/./models", r"'\.'"),
        ("  comfyui_root: /comfyui", "  comfyui_root: //comfyui", "empty path segment"),
        ("    folder: vae\n", "    folder: vae\n    filename: '..'\n", r"'\.\.'"),
        ("    folder: vae\n", "    folder: vae\n    filename: '.'\n", r"'\.'"),
        ("    folder: vae\n", "    folder: vae\n    filename: x.ckpt\n", "pickle"),
        ("    folder: vae\n", "    folder: vae\n    filename: x.pt\n", "pickle"),
        ("    folder: vae\n", "    folder: vae\n    filename: x.pth\n", "pickle"),
        ("    folder: vae\n", "    folder: vae\n    filename: x.bin\n", "pickle"),
        ("    folder: vae\n", "    folder: vae\n    filename: x.pkl\n", "pickle"),
        ("    folder: vae\n", "    folder: vae\n    filename: vae\n", "safetensors"),
    ]
]


HOSTILE_CHARACTERS = {
    "NUL": "\x00",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 CSI": "\x9b",
    "C1 NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "ZERO WIDTH SPACE": "\u200b",
    "BOM mid-file": "\ufeff",
    "ARABIC LETTER MARK": "\u061c",
}


# Each character in a value, written as a YAML escape so that only the value holds it,
# and raw in a comment: a bidi override there makes a reviewer read another file than
# YAML does.
CHARACTER_CASES = [
    pytest.param(
        replaced(old, new.format(escaped=f"\\u{ord(char):04x}", raw=char)),
        at,
        f"U\\+{ord(char):04X}",
        id=f"{place}-{name}",
    )
    for place, old, new, at in [
        ("value", "  gpu: NVIDIA H200", '  gpu: "NVIDIA{escaped}H200"', "  gpu: "),
        ("comment", "# the smallest card", "# the smallest{raw} card", "the smallest"),
    ]
    for name, char in HOSTILE_CHARACTERS.items()
]


@pytest.mark.parametrize(("text", "at", "message"), SHAPE_CASES + PATH_CASES + CHARACTER_CASES)
def test_hostile_models_yaml_is_refused_at_its_line(
    write_config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    text: str,
    at: str | None,
    message: str,
) -> None:
    assert_refused(
        capsys,
        ["validate", "-c", str(write_config(text))],
        code=ExitCode.CONFIG,
        where="models.yaml" if at is None else f"models.yaml:{line_of(text, at)}",
        message=message,
    )


def test_the_node_flood_is_under_the_size_limit() -> None:
    """So that the node-count limit, not the size limit, is what refuses it."""
    assert len(NODE_FLOOD.encode()) < 128 * 1024


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "1e999"])
def test_non_finite_cost_numbers_are_refused(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """Before: `cost` accepted .inf and printed `Infinity` (invalid JSON)."""
    text = replaced("price_per_hour: 3.50", f"price_per_hour: {value}")
    assert_refused(
        capsys,
        ["cost", "-c", str(write_config(text)), "--json"],
        code=ExitCode.CONFIG,
        where=f"models.yaml:{line_of(text, 'price_per_hour:')}",
        message="finite number",
    )


def test_non_finite_measurements_are_refused(
    shipped_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    measurements = shipped_project.with_name("measured.yaml")
    measurements.write_text("gpu: H200\nprice_per_hour: 3.5\nseconds_per_step: .inf\n")
    assert_refused(
        capsys,
        ["cost", "-c", str(shipped_project), "--measurements", str(measurements), "--json"],
        code=ExitCode.CONFIG,
        where="measured.yaml:3",
        message="finite number",
    )


def test_cost_json_is_always_valid_json(
    shipped_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["cost", "-c", str(shipped_project), "--json"]) == 0
    assert_strict_json(capsys.readouterr().out)


def test_a_repo_path_with_a_bidi_override_is_refused() -> None:
    with pytest.raises(ValueError, match="control"):
        check_repo_path("split_files/vae/x\u202egpj.safetensors")
    with pytest.raises(ValueError, match="control"):
        check_repo_path("split_files/vae/x\x9b.safetensors")
