"""Every help screen fits an 80-column terminal, whole: nothing cut, no type names.

The goldens (tests/golden/help/, one per command) are what a user reads at 80 columns;
accept an intended change with IMAGEBUILDER_UPDATE_GOLDENS=1 and review the diff.
"""

from __future__ import annotations

import re

import pytest

from imagebuilder import network
from imagebuilder.cli import app, main
from imagebuilder.cli.app import hoist_global_options
from imagebuilder.docgen.cli_reference import command_tree
from infra import golden

COMMANDS = sorted(command_tree(app).commands)
# Typer's type names (<bool>, <list[str]>, <float range>) and any cut text.
TYPE_NAME = re.compile(r"<(bool|str|int|float|path|file|directory|list\[[^\]]*\]|\w+ range)>")


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_every_help_screen_fits_80_columns_and_matches_its_golden(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    screens = {"imagebuilder.txt": _help([], capsys)}
    screens |= {f"{name}.txt": _help([name], capsys) for name in COMMANDS}
    for name, text in screens.items():
        too_wide = [line for line in text.splitlines() if len(line) > 80]
        assert not too_wide, f"{name}: lines over 80 columns: {too_wide}"
        assert not TYPE_NAME.search(text), f"{name}: a type name in the help: {text}"
        # "[ENTRIES]..." says "repeatable"; any other "..." is text cut to fit.
        assert "…" not in text and "..." not in text.replace("]...", "]"), name
    golden.check_golden_folder("help", screens)


def test_a_wide_terminal_gets_the_same_80_column_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    narrow = _help(["test"], capsys)
    monkeypatch.setenv("COLUMNS", "200")
    assert _help(["test"], capsys) == narrow


def test_every_command_lists_every_option_it_has(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing hidden by the plain formatter: each option's first spelling is shown."""
    for name, command in command_tree(app).commands.items():
        text = _help([name], capsys)
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                assert param.opts[0] in text, f"{name}: {param.opts[0]} missing from --help"


def test_version_has_one_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    for name, command in command_tree(app).commands.items():
        spellings = {opt for param in command.params for opt in param.opts}
        assert "--version" not in spellings, f"{name} has its own --version"
    capsys.readouterr()
    assert main(["publish", "--version", "1.2"]) == 2  # a usage error, not a silent alias


@pytest.mark.parametrize(
    ("argv", "hoisted"),
    [
        (["test", "--deadline", "5", "--json"], ["--deadline", "5", "test", "--json"]),
        (["lock", "--deadline=0.5"], ["--deadline=0.5", "lock"]),
        (["--debug", "lock", "--debug"], ["--debug", "--debug", "lock"]),
        (["diff", "a", "--", "--deadline", "5"], ["diff", "a", "--", "--deadline", "5"]),
        (["lock", "--deadline"], ["lock", "--deadline"]),
    ],
)
def test_global_options_move_before_the_command(argv: list[str], hoisted: list[str]) -> None:
    assert hoist_global_options(argv) == hoisted


def test_deadline_after_the_command_name_is_the_commands_deadline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    main(["schema", "--deadline", "0.5"])
    assert network.DEADLINE.minutes == 0.5
    assert 0 < network.DEADLINE.remaining() <= 30
