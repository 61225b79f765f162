"""Read models.yaml as hostile input, keeping the line of every key.

ruamel.yaml in round-trip mode keeps comments and layout (``update`` rewrites the
file in place) and records the line of each key, which every validation message
names. The loader refuses what a config file never needs and an attacker likes:
aliases (exponential expansion), custom tags, several documents, huge files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, DocumentStartEvent

from imagebuilder.errors import ConfigError

MAX_CONFIG_BYTES = 1_000_000  # a models.yaml is a few KB; more is a mistake or an attack

KeyPath = Sequence[str | int]


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values on rewrite
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document plus the way back to its lines."""

    path: Path
    text: str
    document: Any

    def line_of(self, key_path: KeyPath) -> int | None:
        """1-based line of the deepest existing node on ``key_path``."""
        node = self.document
        line: int | None = 1
        for key in key_path:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        return line

    def where(self, key_path: KeyPath) -> str:
        line = self.line_of(key_path)
        return f"{self.path.name}:{line}" if line else self.path.name


def _refuse_aliases_and_multi_docs(text: str, path: Path) -> None:
    documents = 0
    for event in round_trip_yaml().parse(text):
        if isinstance(event, AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else "?"
            raise ConfigError(
                "YAML aliases (*name) are not allowed",
                location=f"{path.name}:{line}",
                hint="write the value out in full; aliases can expand without bound",
                line=line if isinstance(line, int) else None,
                file=str(path),
            )
        if isinstance(event, DocumentStartEvent):
            documents += 1
    if documents > 1:
        raise ConfigError(
            "the file holds several YAML documents; expected one",
            location=path.name,
            hint="remove the extra '---' separators",
            file=str(path),
        )


def load_yaml(path: Path) -> YamlSource:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(
            "file not found",
            location=str(path),
            hint="run from the repository root or pass --config PATH",
            file=str(path),
        ) from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"file is {size} bytes, over the {MAX_CONFIG_BYTES}-byte limit for a config",
            location=str(path),
            file=str(path),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not valid UTF-8 (byte {exc.start})", location=str(path), file=str(path)
        ) from None
    try:
        _refuse_aliases_and_multi_docs(text, path)
        document = round_trip_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"YAML syntax error: {problem}",
            location=f"{path.name}:{line}" if line else path.name,
            hint="check indentation and quoting on that line (duplicate keys are errors too)",
            line=line,
            file=str(path),
        ) from None
    except YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", location=path.name, file=str(path)) from None
    return YamlSource(path=path, text=text, document=document)
