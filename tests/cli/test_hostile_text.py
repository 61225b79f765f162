"""Text from headers and the Hub reaching a terminal or a PR body: no markup, escapes or
mentions get through.

Each test is the regression test of one fix from the security review.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from imagebuilder import cli
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
