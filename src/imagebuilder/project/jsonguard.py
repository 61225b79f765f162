"""Read a JSON file we wrote (the lock) as hostile input: bounded, finite, located.

Python's json module recurses once per nesting level (deep nesting ended in a
RecursionError, exit 1), turns 5,000-digit numbers into a ValueError, and accepts NaN
and Infinity, which are not JSON. Here each becomes a ConfigError naming the line.
Depth is measured on the parsed value (cheap) and located in the text only on refusal.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from imagebuilder.errors import ConfigError

MAX_DEPTH = 32  # the lock nests 3 levels
MAX_NUMBER_DIGITS = 50
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


class _Refused(Exception):
    def __init__(self, message: str, needle: str) -> None:
        super().__init__(message)
        self.message, self.needle = message, needle


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        digits = len(text.lstrip("-"))
        raise _Refused(f"a number with {digits} digits; at most {MAX_NUMBER_DIGITS} are read", text)
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise _Refused(f"a number written with {len(text)} characters; too long", text)
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text[:20]!r} is not a finite number", text)
    return value


def _constant(name: str) -> float:
    raise _Refused(f"{name} is not a finite number (and not JSON)", name)


def _depth_exceeded(value: Any) -> bool:
    """Whether ``value`` nests deeper than MAX_DEPTH; iterative, so it cannot recurse."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep_at(text: str) -> int:
    """Line of the first bracket past MAX_DEPTH (strings blanked so they cannot count)."""
    blanked = _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)
    depth = 0
    for match in _BRACKETS.finditer(blanked):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return text.count("\n", 0, match.start()) + 1
    return 1


def _refuse(path: Path, line: int, message: str, hint: str) -> ConfigError:
    where = f"{path.name}:{line}"
    return ConfigError(message, location=where, hint=hint, line=line, file=str(path))


def load_json(text: str, path: Path, *, hint: str) -> Any:
    """The parsed value, or a ConfigError at the offending line."""
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except _Refused as refused:
        at = text.find(refused.needle)
        line = text.count("\n", 0, at) + 1 if at >= 0 else 1
        raise _refuse(path, line, refused.message, hint) from None
    except RecursionError:
        too_deep = True
    except json.JSONDecodeError as exc:
        raise _refuse(path, exc.lineno, f"not valid JSON: {exc.msg}", hint) from None
    else:
        too_deep = _depth_exceeded(value)
    if too_deep:
        raise _refuse(
            path, _too_deep_at(text), f"values nested more than {MAX_DEPTH} levels deep", hint
        )
    return value
