"""Text from headers and the Hub reaching a terminal or a PR body: no markup, escapes or
mentions get through.

Each test is the regression test of one fix from the security review.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from rich.table import Table
from safetensors.numpy import save_file

from imagebuilder import cli
from imagebuilder.cli import output as _output
from imagebuilder.project.characters import UNSAFE_CHARACTERS
from imagebuilder.updates.report import md


def test_header_metadata_cannot_inject_markup_or_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: "[/]" in a metadata value crashed `inspect` (rich MarkupError), "[link=...]"
    planted a hyperlink and ESC sequences reached the terminal."""
    path = tmp_path / "m.safetensors"
    metadata = {"a": "[/]", "b": "\x1b]8;;https://evil.example\x1b\\click [link=x]y[/link]"}
    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(path), metadata=metadata)
    assert cli.main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[/]" in out
    assert "[link=x]y[/link]" in out
    assert "\x1b" not in out


def test_pr_body_text_cannot_mention_people() -> None:
    """Before: a Hub file name like "ping-@org/team.safetensors" pinged a whole team."""
    assert "@o" not in md("ping-@org/team and @octocat")
    assert md("ping-@org/team").replace("\u2060", "") == "ping-@org/team"
    assert md("org/x@main") == "org/x@main"  # repo@revision is no mention: left as it is


def test_printing_hostile_text_is_terminal_safe(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "name\x1b[31m\u202eevil\x9b2J\u2028x"
    table = Table("entry")
    table.add_row(hostile)
    _output.stdout.print(table)
    _output.stdout.print(hostile)
    _output.stdout.out(hostile)
    _output.log(hostile)
    _output.warn(hostile)
    captured = capsys.readouterr()
    for char in ("\x1b", "\u202e", "\x9b", "\u2028"):
        assert char not in captured.out + captured.err


def test_the_unsafe_class_is_exactly_these_unicode_categories() -> None:
    """Written out as ranges for a fast import; checked here against every code point."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    found = {match.start() for match in UNSAFE_CHARACTERS.finditer(everything)}
    expected = {
        code
        for code, char in enumerate(everything)
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs"} and char not in "\t\n\r"
    }
    assert found == expected
