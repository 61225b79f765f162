"""The project's snapshot of ComfyUI's /object_info: read it, and refresh it from a worker.

The snapshot lives in workflows/schema/object_info.json (a subfolder, so it is never
taken for a workflow template). It keeps what validation needs from each node (inputs
with their types and limits, outputs) and drops display text (descriptions, tooltips),
which keeps it a third of the size and its diffs readable when ComfyUI is upgraded.

Refresh: `imagebuilder check-workflows --refresh-object-info http://WORKER:8188` asks a
running ComfyUI for GET /object_info and GET /system_stats, writes the snapshot
atomically, then checks against it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2  # the HTTP client huggingface_hub already brings

from imagebuilder.comfy.node_schema import NodeSchema, parse_object_info
from imagebuilder.errors import NetworkError, WorkflowError
from imagebuilder.project.atomic import atomic_write_text

SNAPSHOT = Path("schema") / "object_info.json"  # inside the templates folder
MAX_SNAPSHOT_BYTES = 20_000_000
_NODE_FIELDS = ("input", "input_order", "output", "output_name", "output_node")


def snapshot_path(templates_dir: Path) -> Path:
    return templates_dir / SNAPSHOT


def _without_tooltips(spec: Any) -> Any:
    if isinstance(spec, list) and len(spec) > 1 and isinstance(spec[1], dict):
        return [spec[0], {k: v for k, v in spec[1].items() if k != "tooltip"}, *spec[2:]]
    return spec


def snapshot_document(object_info: dict[str, Any], comfyui: dict[str, Any]) -> dict[str, Any]:
    """The file's content: where it came from, and each node's inputs and outputs."""
    nodes: dict[str, Any] = {}
    for name, raw in object_info.items():
        if not isinstance(raw, dict):
            continue
        node = {field: raw[field] for field in _NODE_FIELDS if field in raw}
        sections = node.get("input")
        if isinstance(sections, dict):
            node["input"] = {
                section: {k: _without_tooltips(v) for k, v in specs.items()}
                if isinstance(specs, dict)
                else specs
                for section, specs in sections.items()
            }
        nodes[name] = node
    return {"comfyui": comfyui, "object_info": nodes}


def _describe(comfyui: dict[str, Any]) -> str:
    version = str(comfyui.get("version") or "unknown version")
    commit = str(comfyui.get("commit") or "")
    return f"{version} ({commit[:12]})" if commit else version


def load_snapshot(path: Path) -> NodeSchema | None:
    """The parsed snapshot, or None where the project keeps none."""
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_SNAPSHOT_BYTES:
        raise WorkflowError(f"snapshot is over {MAX_SNAPSHOT_BYTES} bytes", location=str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkflowError(
            f"ComfyUI node snapshot is not valid JSON: {exc}",
            location=str(path),
            hint="refresh it: imagebuilder check-workflows --refresh-object-info URL",
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("object_info"), dict):
        raise WorkflowError(
            "ComfyUI node snapshot has no 'object_info' object",
            location=str(path),
            hint="refresh it: imagebuilder check-workflows --refresh-object-info URL",
        )
    comfyui: dict[str, Any] = (
        document["comfyui"] if isinstance(document.get("comfyui"), dict) else {}
    )
    return parse_object_info(document["object_info"], _describe(comfyui))


def fetch_snapshot(url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Ask a running ComfyUI for its node schema; the document to write."""
    base = url.rstrip("/")
    try:
        with httpx2.Client(timeout=timeout, follow_redirects=False) as client:
            answers = []
            for path in ("/object_info", "/system_stats"):
                answer = client.get(base + path)
                answer.raise_for_status()
                answers.append(answer.json())
    except (httpx2.HTTPError, ValueError) as exc:
        raise NetworkError(
            f"could not read the node schema from ComfyUI: {exc}",
            location=base,
            hint="give the URL of a running ComfyUI (the worker's port, e.g. "
            "http://127.0.0.1:8188) that answers GET /object_info",
        ) from None
    object_info, stats = answers
    if not isinstance(object_info, dict) or not object_info:
        raise NetworkError("ComfyUI answered /object_info with no nodes", location=base)
    system = stats.get("system", {}) if isinstance(stats, dict) else {}
    comfyui = {
        "version": system.get("comfyui_version"),
        "pytorch": system.get("pytorch_version"),
        "fetched": time.strftime("%Y-%m-%d", time.gmtime()),
        "source": "GET /object_info of a running worker",
    }
    return snapshot_document(object_info, comfyui)


def write_snapshot(path: Path, document: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
