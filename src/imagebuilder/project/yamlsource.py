"""Read models.yaml as hostile input, keeping the line of every key.

ruamel.yaml in round-trip mode keeps comments and layout (``update`` rewrites the
file in place) and records the line of each key, which every validation message
names. The loader refuses what a config file never needs and an attacker likes:
aliases (exponential expansion), custom tags, several documents, huge files, deep
nesting, floods of values, over-long numbers and invisible characters (``yamlguard``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from imagebuilder.errors import ConfigError
from imagebuilder.project.yamlguard import check_text, load_guarded

# A models.yaml is a few KB. The limit keeps the (pure Python) YAML parser's worst case
# under a second: a 128 KiB file of one plain scalar parses in ~0.2 s.
MAX_YAML_BYTES = 128 * 1024

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
    if size > MAX_YAML_BYTES:
        raise ConfigError(
            f"file is {size} bytes, over the {MAX_YAML_BYTES}-byte limit for a config",
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
        check_text(text.removeprefix("\ufeff"), path)  # a leading BOM is an encoding mark
        document = load_guarded(round_trip_yaml(), text, path)
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
    except (ValueError, RecursionError) as exc:  # a backstop: the guards above should win
        raise ConfigError(
            f"the file cannot be read as a config ({type(exc).__name__})",
            location=path.name,
            file=str(path),
        ) from None
    return YamlSource(path=path, text=text, document=document)
