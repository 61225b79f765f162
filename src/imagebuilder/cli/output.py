"""Where output goes: results on stdout (table or JSON), progress and logs on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from imagebuilder.project.characters import terminal_safe
from imagebuilder.project.redact import redact

if TYPE_CHECKING:
    from rich.console import Console


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true") or "GITHUB_ACTIONS" in os.environ


# Results: plain stdout. Logs and progress: stderr, never mixed into a result.
# No markup or emoji codes: printed values (file names, header metadata, registry
# messages) are hostile input, and "[/]" in one would crash the print, "[link=...]" plant
# a hyperlink. The two consoles (``stdout``, ``stderr``) are made on first use: rich's
# console costs start-up time that `--version` need not pay.
_consoles: dict[str, Console] = {}


def __getattr__(name: str) -> Console:
    if name not in ("stdout", "stderr"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    if name not in _consoles:
        _consoles[name] = _terminal_safe_console_class()(
            stderr=name == "stderr", soft_wrap=True, highlight=False, markup=False, emoji=False
        )
    return _consoles[name]


def _terminal_safe_console_class() -> type[Console]:
    from rich.console import Console
    from rich.text import Text

    class TerminalSafeConsole(Console):
        """Every string printed, table cells included, passes ``printable`` on its way
        in: one choke point instead of a call at each print of data (a lock entry name
        with ESC once reached the terminal raw). rich's styling is added after it."""

        def render_str(self, text: str, **options: Any) -> Text:
            return super().render_str(printable(text), **options)

    return TerminalSafeConsole


def printable(text: str) -> str:
    """Hostile text for a terminal: control characters but newline (ESC starts escape
    sequences that recolour, retitle or hyperlink the terminal), bidi and other format
    characters (they reorder what is shown) and line separators, each shown as "?";
    known secrets and URL userinfo as "***" (whatever a remote echoed)."""
    return terminal_safe(redact(text))


def log(message: str) -> None:
    _console("stderr").print(message, markup=False)


def wrapped(text: str, width: int) -> str:
    """Prose for a terminal ``width`` columns wide: each line wrapped at spaces, never
    inside a word (a long file name or URL keeps its line and overflows), continuation
    lines indented two more than the line they continue."""
    import textwrap

    lines = []
    for line in text.split("\n"):
        indent = " " * (len(line) - len(line.lstrip(" ")))
        lines.append(
            textwrap.fill(
                line,
                width=max(width, 40),
                subsequent_indent=indent + "  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            if len(line) > width
            else line
        )
    return "\n".join(lines)


def error(message: str) -> None:
    """`error:` and its hint: wrapped at a terminal; one line per part in a log or a pipe,
    where a grep for the message must find it whole."""
    console = _console("stderr")
    text = f"error: {message}"
    console.print(wrapped(text, console.width) if console.is_terminal else text, style="red")


def note(message: str) -> None:
    """A `note:` line on stderr, wrapped to the terminal (80 columns when not a terminal)."""
    console = _console("stderr")
    console.print(wrapped(f"note: {message}", console.width), markup=False)


# Each warning once per command: the same fact found by several entries or threads (a
# shared repo, a retried request) is one line, not one per finder.
_warned: set[str] = set()


def warn(message: str) -> None:
    if message in _warned:
        return
    _warned.add(message)
    console = _console("stderr")
    console.print(wrapped(f"warning: {message}", console.width), markup=False, style="yellow")


def start_command() -> None:
    """Forget the warnings already printed (``main`` may run several commands in one process)."""
    _warned.clear()


def emit_json(data: Any) -> None:
    # allow_nan=False: NaN/Infinity are not JSON; inputs refuse them, this is the backstop.
    text = json.dumps(data, indent=2, sort_keys=True, default=str, allow_nan=False)
    sys.stdout.write(redact(text) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, render_human: Callable[[], None]) -> None:
    """One result: JSON when asked for, the human rendering otherwise."""
    if as_json:
        emit_json(data)
    else:
        render_human()


def warn_each(messages: Iterable[str]) -> None:
    for message in messages:
        warn(message)
