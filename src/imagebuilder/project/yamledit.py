"""Change scalar values in models.yaml and nothing else: comments and layout stay byte-exact.

ruamel.yaml's round-trip dump can still re-flow a document (flow mappings, indentation,
quotes), so instead of dumping, each value is replaced in the original text at the exact
character span the YAML composer reports for its node, in the value's original quoting
style. The result is parsed again to prove every edit landed and nothing else moved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from imagebuilder.errors import ConfigError
from imagebuilder.project.yamlsource import round_trip_yaml

KeyPath = tuple[str, ...]
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./+-]*$")
_PLAIN_AMBIGUOUS = re.compile(
    r"^(?:true|false|yes|no|on|off|null|~|[-+]?[0-9][0-9_.:eE+-]*)$", re.IGNORECASE
)


def _node_at(root: Node, key_path: KeyPath, file: str) -> ScalarNode:
    node = root
    for depth, key in enumerate(key_path):
        if not isinstance(node, MappingNode):
            break
        found = next(
            (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None
        )
        if found is None:
            break
        node = found
        if depth == len(key_path) - 1 and isinstance(node, ScalarNode):
            return node
    raise ConfigError(
        f"no scalar value at {'.'.join(key_path)}",
        location=file,
        hint="`update` edits only values written as plain or quoted scalars",
    )


def render_scalar(value: str, style: str | None) -> str:
    """``value`` as a YAML scalar in the style the file already used for it."""
    if style is None and _PLAIN_SAFE.match(value) and not _PLAIN_AMBIGUOUS.match(value):
        return value
    if style == '"':
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return "'" + value.replace("'", "''") + "'"


def _value_at(document: Any, key_path: KeyPath) -> Any:
    node = document
    for key in key_path:
        node = node[key]
    return node


def set_scalars(text: str, edits: Mapping[KeyPath, str], *, file: str = "models.yaml") -> str:
    """``text`` with each key path's scalar replaced; every other byte unchanged."""
    yaml = round_trip_yaml()
    root = yaml.compose(text)
    spans: list[tuple[int, int, str]] = []
    for key_path, value in edits.items():
        node = _node_at(root, key_path, file)
        if node.start_mark is None or node.end_mark is None:
            raise ConfigError(f"cannot locate {'.'.join(key_path)}", location=file)
        start, end = node.start_mark.index, node.end_mark.index
        if node.value == value:
            continue
        if "\n" in text[start:end]:
            raise ConfigError(
                f"{'.'.join(key_path)} spans several lines; `update` edits one-line values only",
                location=f"{file}:{node.start_mark.line + 1}",
                hint="write the value on one line, then run `imagebuilder update` again",
            )
        spans.append((start, end, render_scalar(value, node.style)))
    edited = text
    for start, end, replacement in sorted(spans, reverse=True):
        edited = edited[:start] + replacement + edited[end:]
    _verify(edited, edits, file)
    return edited


def _verify(edited: str, edits: Mapping[KeyPath, str], file: str) -> None:
    document = round_trip_yaml().load(edited)
    for key_path, value in edits.items():
        if _value_at(document, key_path) != value:
            raise ConfigError(
                f"rewriting {'.'.join(key_path)} did not give {value!r}",
                location=file,
                hint="this is a bug in imagebuilder: edit models.yaml by hand and report it",
            )


def entry_edits(entry: str, values: Mapping[str, str]) -> dict[KeyPath, str]:
    return {("models", entry, key): value for key, value in values.items()}
