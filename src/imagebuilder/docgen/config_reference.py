"""The models.yaml reference, walked from the JSON Schema of the pydantic model.

The same schema is written to schema/models.schema.json for editors, so the page, the
editor and the validator cannot disagree on keys, types, defaults or limits. Rules a
validator checks in code (repo ids, safe paths, digests) are said in each field's
description.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from imagebuilder.docgen.markdown import code, table

# Placeholders for the keys of user-named mappings, by the mapping's key.
_KEY_NAMES = {"models": "<entry>", "variants": "<variant>", "registries": "<host>"}
Schema = dict[str, Any]


class _Walker:
    def __init__(self, root: Schema) -> None:
        self.defs: dict[str, Schema] = root.get("$defs", {})

    def resolve(self, node: Schema) -> Schema:
        ref = node.get("$ref")
        return self.defs[ref.rsplit("/", 1)[1]] if ref else node

    def non_null(self, node: Schema) -> tuple[Schema, bool]:
        """The schema without its ``null`` alternative, and whether null is allowed."""
        options = node.get("anyOf")
        if options:
            real = [option for option in options if option.get("type") != "null"]
            if len(real) == 1:
                return real[0], len(real) < len(options)
        return node, False

    def nested(self, key: str, node: Schema) -> tuple[str, Schema] | None:
        """The object a property leads to, with its path suffix: ``.key``, ``.key.<x>``, ..."""
        node, _ = self.non_null(node)
        target = self.resolve(node)
        if target.get("type") == "object" and "properties" in target:
            return key, target
        items = target.get("items")
        if target.get("type") == "array" and isinstance(items, dict):
            inner = self.resolve(items)
            if "properties" in inner:
                return f"{key}[]", inner
        values = self.values(target)
        if values is not None:
            inner = self.resolve(values)
            if "properties" in inner:
                return f"{key}.{_KEY_NAMES.get(key, '<name>')}", inner
        return None

    @staticmethod
    def values(node: Schema) -> Schema | None:
        """The schema of a mapping's values (``dict[Name, X]`` gives patternProperties)."""
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            return values
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1:
            only: Schema = next(iter(patterns.values()))
            return only
        return None

    @staticmethod
    def key_rule(node: Schema) -> str:
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1:
            return f"names match {code(next(iter(patterns)))}"
        return ""

    def kind(self, key: str, node: Schema, section: str = "") -> str:
        """The value's type; a nested mapping names the section that describes it."""
        node, nullable = self.non_null(node)
        target = self.resolve(node)
        if "enum" in target:
            text = "one of " + ", ".join(code(str(value)) for value in target["enum"])
        elif target.get("type") == "array":
            text = f"list of {self.kind(key, target.get('items', {}), section)}"
        elif target.get("type") == "object" and "properties" not in target:
            values = self.values(target)
            inner = self.kind(key, values, section) if values is not None else "any"
            text = f"mapping of {code(_KEY_NAMES.get(key, 'name'))} to {inner}"
        elif "properties" in target:
            text = f"section {code(section)}" if section else "mapping"
        else:
            text = str(target.get("type", "any"))
        return f"{text}{', ' if '`' in text else ' '}or null" if nullable else text

    def rules(self, node: Schema) -> str:
        node, _ = self.non_null(node)
        target = self.resolve(node)
        found = [text for text in (_range(target), _length(target)) if text]
        if "minProperties" in target:
            found.append(f"at least {target['minProperties']}")
        if "pattern" in target:
            found.append(f"matches {code(target['pattern'])}")
        if self.key_rule(target):
            found.append(self.key_rule(target))
        return "; ".join(found)

    def sections(self, path: str, node: Schema) -> Iterator[tuple[str, Schema]]:
        yield path, node
        for key, prop in node.get("properties", {}).items():
            found = self.nested(key, prop)
            if found:
                suffix, target = found
                yield from self.sections(f"{path}.{suffix}" if path else suffix, target)


def _range(node: Schema) -> str:
    low = [f">= {node['minimum']}"] if "minimum" in node else []
    low += [f"> {node['exclusiveMinimum']}"] if "exclusiveMinimum" in node else []
    high = [f"<= {node['maximum']}"] if "maximum" in node else []
    high += [f"< {node['exclusiveMaximum']}"] if "exclusiveMaximum" in node else []
    if "minimum" in node and "maximum" in node:
        low_value, high_value = node["minimum"], node["maximum"]
        return f"= {low_value}" if low_value == high_value else f"{low_value} to {high_value}"
    return " and ".join(low + high)


def _length(node: Schema) -> str:
    low, high = node.get("minLength"), node.get("maxLength")
    if low is not None and high is not None:
        return f"{low} to {high} characters"
    if high is not None:
        return f"at most {high} characters"
    return f"at least {low} characters" if low is not None else ""


def _child(path: str, nested: tuple[str, Schema] | None) -> str:
    if nested is None:
        return ""
    return f"{path}.{nested[0]}" if path else nested[0]


def _prose(text: str) -> str:
    """A docstring as one Markdown paragraph (reST ``code`` becomes `code`)."""
    return " ".join(text.replace("``", "`").split())


def _default(prop: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return "optional"
    value = prop["default"]
    if isinstance(value, dict) and value:
        return "each key's default"
    if value in ({}, [], None):
        return {dict: "empty", list: "empty", type(None): "unset"}[type(value)]
    return code(json.dumps(value))


def config_reference(schema: Schema) -> str:
    walker = _Walker(schema)
    parts: list[str] = []
    for path, node in walker.sections("", schema):
        title = code(path) if path else "Top level"
        parts.append(f"### {title}")
        description = _prose(node.get("description", ""))
        if description and path:
            parts.append(description)
        required = set(node.get("required", []))
        rows = [
            [
                code(key),
                walker.kind(key, prop, _child(path, walker.nested(key, prop))),
                _default(prop, key in required),
                walker.rules(prop),
                _prose(prop.get("description", "")),
            ]
            for key, prop in node.get("properties", {}).items()
        ]
        parts.append(table(["key", "type", "default", "rules", "meaning"], rows))
    return "\n\n".join(parts)
