"""A ComfyUI workflow in UI format (what ComfyUI saves, the official templates) as an
API-format graph (what a worker runs and what workflows/ holds).

Subgraphs are flattened (an inner node's id is ``<instance>:<inner>``), Reroutes
followed, bypassed nodes (mode 4) passed through, muted ones (mode 2) dropped. Widget
values are named from the node schema snapshot. The frontend's constant nodes are
folded: Primitive* into their value, ComfySwitchNode into the branch its constant
switch picks, ComfyMathExpression (arithmetic over constants only, parsed, never
evaluated as Python) into its result. Only nodes an output node needs are kept.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from imagebuilder.comfy.nodes import OUTPUT_NODES, Graph
from imagebuilder.errors import WorkflowError

_UI_ONLY = frozenset({"MarkdownNote", "Note", "Reroute", "PrimitiveNode"})
_WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
_CONSTANTS = frozenset({"PrimitiveInt", "PrimitiveFloat", "PrimitiveBoolean", "PrimitiveString"})
_BYPASSED, _MUTED = 4, 2
_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}  # fmt: skip
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "floor": math.floor, "ceil": math.ceil, "round": round, "abs": abs, "min": min,
    "max": max, "int": int,
}  # fmt: skip

Source = tuple[str, int]  # (node id, output slot)


def _arith(expression: str, names: dict[str, Any]) -> Any:
    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.operand))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            return _FUNCTIONS[node.func.id](*(value(arg) for arg in node.args))
        raise ValueError(f"not plain arithmetic: {ast.dump(node)[:80]}")

    if len(expression) > 200:
        raise ValueError("expression too long")
    return value(ast.parse(expression.replace(" (", "("), mode="eval").body)


class _Flattener:
    def __init__(self, document: dict[str, Any], schema: dict[str, Any]) -> None:
        self.schema = schema
        self.subgraphs = {
            str(s.get("id")): s
            for s in (document.get("definitions") or {}).get("subgraphs", [])
            if isinstance(s, dict)
        }
        self.nodes: dict[str, dict[str, Any]] = {}  # flat id -> UI node
        self.inputs: dict[tuple[str, str], Source | None] = {}  # (flat id, input) -> source
        self.scopes: dict[str, tuple[dict[int, Any], str]] = {}  # flat id -> (links, prefix)
        self.instance_of: dict[str, str | None] = {}  # scope prefix -> its instance node
        self.scope_links: dict[str, dict[int, Any]] = {}  # scope prefix -> its links
        self._scope(document, "", None)

    def _scope(self, graph: dict[str, Any], prefix: str, instance: str | None) -> None:
        links = {int(link[0]): link for link in graph.get("links", []) if isinstance(link, list)}
        links |= {
            int(link["id"]): [link["id"], link["origin_id"], link["origin_slot"],
                              link["target_id"], link["target_slot"]]
            for link in graph.get("links", []) if isinstance(link, dict)
        }  # fmt: skip
        for node in graph.get("nodes", []):
            if not isinstance(node, dict) or node.get("mode") == _MUTED:
                continue
            flat = f"{prefix}{node['id']}"
            self.nodes[flat] = node
            self.scopes[flat] = (links, prefix)
            if str(node.get("type")) in self.subgraphs:
                self._scope(self.subgraphs[str(node["type"])], f"{flat}:", flat)
        self.instance_of[prefix] = instance
        self.scope_links[prefix] = links

    def source_of(self, flat: str, slot_input: dict[str, Any]) -> Source | None:
        """Where an input's link comes from, through subgraph edges, Reroutes, bypasses."""
        link_id = slot_input.get("link")
        links, prefix = self.scopes[flat]
        for _ in range(1000):  # bounded: a hostile file may loop
            link = links.get(int(link_id)) if isinstance(link_id, int) else None
            if link is None:
                return None
            origin, slot = int(link[1]), int(link[2])
            if origin == -10:  # the subgraph's input: continue outside, at the instance
                instance = self.instance_of.get(prefix)
                if instance is None:
                    return None
                slots = self.nodes[instance].get("inputs", [])
                link_id = slots[slot].get("link") if slot < len(slots) else None
                links, prefix = self.scopes[instance]
                continue
            flat_origin = f"{prefix}{origin}"
            found = self.nodes.get(flat_origin)
            if found is None:
                return None
            node = found
            kind = str(node.get("type"))
            if kind in self.subgraphs:  # an instance's output: continue inside
                inner = self.subgraphs[kind]
                outputs = inner.get("outputs") or []
                link_id = (
                    (outputs[slot].get("linkIds") or [None])[0] if slot < len(outputs) else None
                )
                prefix = f"{flat_origin}:"
                links = self.scope_links.get(prefix, {})
                continue
            if kind == "Reroute" or node.get("mode") == _BYPASSED:
                wanted = (node.get("outputs") or [{}])[slot].get("type")
                through = [i for i in node.get("inputs", []) if i.get("type") == wanted]
                link_id = (through or node.get("inputs", []) or [{}])[0].get("link")
                continue
            return flat_origin, slot
        return None


def _widget_names(schema: dict[str, Any], kind: str) -> list[tuple[str, bool]]:
    """(input name, takes an extra 'control after generate' value) per widget, in order."""
    info = schema.get(kind)
    if not isinstance(info, dict):
        raise WorkflowError(
            f"node type {kind!r} is not in the node schema snapshot",
            hint="refresh workflows/schema from a ComfyUI that has the node "
            "(check-workflows --refresh-object-info URL)",
        )
    names = []
    for group in ("required", "optional"):
        spec = info.get("input", {}).get(group, {})
        for name in info.get("input_order", {}).get(group, list(spec)):
            kind_spec = spec.get(name, [None])
            type_ = kind_spec[0] if kind_spec else None
            if isinstance(type_, list) or type_ in _WIDGET_TYPES:
                options = kind_spec[1] if len(kind_spec) > 1 else {}
                control = isinstance(options, dict) and bool(options.get("control_after_generate"))
                names.append((name, control))
    return names


def to_api(document: dict[str, Any], schema: dict[str, Any]) -> Graph:
    """The UI-format ``document`` as an API graph; ``schema``: object_info by node type."""
    flat = _Flattener(document, schema)
    graph: Graph = {}
    for node_id, node in flat.nodes.items():
        kind = str(node.get("type"))
        if kind in _UI_ONLY or kind in flat.subgraphs or node.get("mode") == _BYPASSED:
            continue
        inputs: dict[str, Any] = {}
        values = list(node.get("widgets_values") or []) if isinstance(
            node.get("widgets_values"), list
        ) else []  # fmt: skip
        position = 0
        for name, control in _widget_names(schema, kind) if kind not in _FOLDED else []:
            if position < len(values):
                inputs[name] = values[position]
            position += 2 if control else 1
        for slot_input in node.get("inputs", []):
            source = flat.source_of(node_id, slot_input)
            origin = flat.nodes.get(source[0]) if source else None
            if source is None or origin is None:
                continue
            if origin.get("type") == "PrimitiveNode":  # the frontend's widget holder
                inputs[str(slot_input["name"])] = (origin.get("widgets_values") or [None])[0]
            else:
                inputs[str(slot_input["name"])] = [source[0], source[1]]
        graph[node_id] = {"class_type": kind, "inputs": inputs, "_value": values}
    return _prune(_fold(graph))


_FOLDED = frozenset({*_CONSTANTS, "ComfySwitchNode", "ComfyMathExpression"})


_UNKNOWN = object()


def _resolve(graph: Graph, value: Any, depth: int = 0) -> Any:
    """An input's value with foldable nodes replaced: a literal, a link to a real node,
    or _UNKNOWN (a switch or expression over something not constant)."""
    if not (isinstance(value, list) and len(value) == 2 and value[0] in graph):
        return value
    node = graph[value[0]]
    kind = node["class_type"]
    if kind not in _FOLDED:
        return value
    if depth > 50:
        return _UNKNOWN
    if kind in _CONSTANTS:
        return (node["_value"] or [None])[0]
    if kind == "ComfySwitchNode":
        switch = _resolve(graph, node["inputs"].get("switch", (node["_value"] or [False])[0]))
        if not isinstance(switch, bool):
            return _UNKNOWN
        return _resolve(graph, node["inputs"].get("on_true" if switch else "on_false"), depth + 1)
    names = {}
    for name, link in node["inputs"].items():
        number = _resolve(graph, link, depth + 1)
        if not isinstance(number, int | float):
            return _UNKNOWN
        names[name.removeprefix("values.")] = number
    try:
        result = _arith(str((node["_value"] or [""])[0]), names)
    except (ValueError, TypeError, ZeroDivisionError, SyntaxError, OverflowError):
        return _UNKNOWN
    return int(result) if value[1] == 1 else result  # outputs: FLOAT, INT, BOOL


def _fold(graph: Graph) -> Graph:
    folded: Graph = {}
    for node_id, node in graph.items():
        if node["class_type"] in _FOLDED:
            continue
        inputs = {}
        for name, value in node["inputs"].items():
            resolved = _resolve(graph, value)
            if resolved is _UNKNOWN:
                raise WorkflowError(
                    f"node {node_id} input {name!r}: a switch or expression that is not "
                    "constant; export the workflow with the branch you serve",
                )
            inputs[name] = resolved
        folded[node_id] = {"class_type": node["class_type"], "inputs": inputs}
    return folded


def _prune(graph: Graph) -> Graph:
    """Only what an output node needs, by links upstream."""
    needed: set[str] = set()
    todo = [n for n, node in graph.items() if node["class_type"] in OUTPUT_NODES]
    while todo:
        node_id = todo.pop()
        if node_id in needed or node_id not in graph:
            continue
        needed.add(node_id)
        todo += [v[0] for v in graph[node_id]["inputs"].values() if isinstance(v, list)]
    return {node_id: node for node_id, node in graph.items() if node_id in needed}
