"""Scenario files: YAML/JSON (or a dict) describing the repos a HubServer starts with.

Format (see scenarios/*.yaml for full examples)::

    repos:
      - id: org/name
        aliases: [org/old-name]        # renamed repos: old names answer 307 to the new one
        gated: false
        commits:                       # oldest first; each lists changes vs its parent
          - date: 2025-09-22T10:00:00.000Z
            title: Add model
            id: <40 hex>               # optional, else derived deterministically
            files:
              README.md: {text: "hello"}
              a.safetensors: {safetensors: {tensors: {w: {dtype: F32, shape: [2, 2]}}, seed: 1}}
              big.safetensors: {virtual_safetensors: {tensors: {...}, metadata: {...}}, seed: 2}
              blob.bin: {raw: {size: 4096, seed: 3}}
              bad.safetensors: {bytes_b64: "AAAA"}
              model.safetensors: {generator: qwen_image_transformer, args: {layers: 2}, real: true}
              liar.bin: {raw: {size: 10}, lfs: {sha256: "<64 hex>", size: 10}}
              old.txt: {delete: true}
        branches: {main: -1, dev: 0}   # commit index or id; main defaults to the last commit
        tags: {v1.0: 1}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def read_scenario(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A scenario as plain data, from a dict, a file path, or a name under scenarios/."""
    if isinstance(source, Mapping):
        return dict(source)
    path = _locate(source)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    if not isinstance(data, Mapping) or not isinstance(data.get("repos", []), list):
        raise ValueError(f"{path}: a scenario is a mapping with a 'repos' list")
    return dict(data)


def _locate(source: str | Path) -> Path:
    path = Path(source)
    if path.exists():
        return path
    for candidate in (SCENARIO_DIR / f"{source}", SCENARIO_DIR / f"{source}.yaml"):
        if candidate.exists():
            return candidate
    known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"no scenario {source!r} (file path or one of {known})")
