"""Bounds a YAML file must stay within before it is built into a document.

ruamel.yaml builds documents recursively and in pure Python: 250 nested ``[`` ended in
a RecursionError, 10,000 kept it busy for minutes, and a 5,000-digit number broke
Python's int conversion. So every event is checked as the parser hands it to the
composer, stopping at the first event past a limit: aliases (exponential expansion),
several documents, nesting depth, node count, invisible or control characters in any
key or value, and number length.
Raw text is checked before that, where a regular expression is enough (fast, and it
also covers comments, where a bidi override can make a file review as something else).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    ScalarEvent,
)

from imagebuilder.errors import ConfigError
from imagebuilder.project.characters import describe, first_unsafe, refusal

MAX_DEPTH = 32  # models.yaml needs 5 levels; nothing legitimate nests 32 deep
MAX_NODES = 5_000  # keys, values and collections: a 100-entry models.yaml has ~2,500
MAX_NUMBER_DIGITS = 50  # far past any count, size or price; far below int()'s 4,300
# Plain scalars YAML 1.2 reads as numbers (ruamel also takes '_' separators and 0o/0x).
_NUMBER = re.compile(r"[-+]?(?:0[xob][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)")
# Openers with nothing else between them: a fast refusal before the scanner's
# look-ahead (up to 1,024 characters per possible key) ever sees them.
_DEEP_FLOW = re.compile(r"[\[{](?:[ \t]*[\[{]){" + str(MAX_DEPTH) + "}")


def _refuse(path: Path, line: int, message: str, hint: str) -> ConfigError:
    return ConfigError(
        message, location=f"{path.name}:{line}", hint=hint, line=line, file=str(path)
    )


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def check_text(text: str, path: Path) -> None:
    """Raw-text rules: unsafe characters anywhere (comments too), runaway flow nesting."""
    found = first_unsafe(text)
    if found is not None:
        raise _refuse(
            path,
            _line_at(text, found.start()),
            f"the file holds the invisible or control character {describe(found.group())}",
            "delete it (an editor may show it only with 'show invisibles'); control, "
            "bidi and other format characters are refused anywhere in the file",
        )
    deep = _DEEP_FLOW.search(text)
    if deep is not None:
        raise _too_deep(path, _line_at(text, deep.start()))


def _too_deep(path: Path, line: int) -> ConfigError:
    return _refuse(
        path,
        line,
        f"values nested more than {MAX_DEPTH} levels deep",
        "a models.yaml needs a few levels; this looks generated or hostile",
    )


def _line(event: Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _check_scalar(event: ScalarEvent, path: Path) -> None:
    value = event.value or ""
    why = refusal(value)
    if why is not None:
        raise _refuse(path, _line(event), f"a value {why}", "delete the character")
    if event.style is None and _NUMBER.fullmatch(value):
        digits = sum(ch.isdigit() for ch in value)
        if digits > MAX_NUMBER_DIGITS:
            raise _refuse(
                path,
                _line(event),
                f"a number with {digits} digits; at most {MAX_NUMBER_DIGITS} are read",
                "no setting needs a number that long; check the value",
            )


class _EventGuard:
    """Checks each event as the parser hands it on; raises at the first one past a limit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.documents = self.depth = self.nodes = 0

    def check(self, event: Event) -> None:
        path = self.path
        if isinstance(event, AliasEvent):
            raise _refuse(
                path,
                _line(event),
                "YAML aliases (*name) are not allowed",
                "write the value out in full; aliases can expand without bound",
            )
        if isinstance(event, DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise ConfigError(
                    "the file holds several YAML documents; expected one",
                    location=path.name,
                    hint="remove the extra '---' separators",
                    file=str(path),
                )
        elif isinstance(event, CollectionStartEvent):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _too_deep(path, _line(event))
        elif isinstance(event, CollectionEndEvent):
            self.depth -= 1
        if isinstance(event, CollectionStartEvent | ScalarEvent):
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise _refuse(
                    path,
                    _line(event),
                    f"more than {MAX_NODES} values",
                    "a models.yaml holds a few hundred; this looks generated or hostile",
                )
        if isinstance(event, ScalarEvent):
            _check_scalar(event, path)


def load_guarded(yaml: YAML, text: str, path: Path) -> Any:
    """``yaml.load(text)`` with every event checked on its way from the parser to the
    composer: one parse, and the composer (which recurses per level) never sees an event
    past a limit, nor the constructor a number too long to convert."""
    guard = _EventGuard(path)
    parser = yaml.parser  # ruamel builds it once per YAML instance; the composer uses it
    next_event = parser.get_event

    def checked_event() -> Event:
        event: Event = next_event()
        guard.check(event)
        return event

    parser.get_event = checked_event
    return yaml.load(text)
