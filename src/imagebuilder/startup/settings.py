"""start.json, as the entrypoint reads it: anything missing or malformed turns that part
off (and says so) instead of stopping the worker."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .events import log

DEFAULT_PATH = "/imagebuilder/start.json"


@dataclass(frozen=True)
class PrefetchFile:
    path: str
    size: int


@dataclass(frozen=True)
class JoinFile:
    destination: str
    parts: tuple[str, ...]  # in order
    size: int


@dataclass(frozen=True)
class Settings:
    prefetch: tuple[PrefetchFile, ...] = ()
    python_libraries: tuple[str, ...] = ()  # packages whose shared libraries are read first
    readers: int = 8
    start_readers: int = 2  # readers until ComfyUI answers: its own start reads files too
    chunk_bytes: int = 16 << 20
    nice: int = 10  # the readers' CPU nice value and best-effort I/O level (0-7): 7 - nice//3
    comfyui_main: str = ""
    comfyui_flags: tuple[str, ...] = ()
    comfyui_url: str = "http://127.0.0.1:8188"
    warmup_workflow: str = ""
    warmup_steps: int = 1
    warmup_timeout: float = 900.0
    warmup_grace: float = 0.5  # seconds after ComfyUI answers before looking at its queue
    join: tuple[JoinFile, ...] = field(default_factory=tuple)


def _int(value: Any, default: int, low: int, high: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return default


def parse(data: Any) -> Settings:
    """Settings from start.json's JSON; parts that are off or invalid come back empty."""
    if not isinstance(data, dict):
        raise ValueError("start.json must hold a JSON object")
    prefetch = data.get("prefetch") or {}
    comfyui = data.get("comfyui") or {}
    warmup = data.get("warmup") or {}
    files: tuple[PrefetchFile, ...] = ()
    if prefetch.get("enabled", True):
        files = tuple(
            PrefetchFile(str(item["path"]), int(item.get("size", 0)))
            for item in prefetch.get("files", [])
        )
    flags: tuple[str, ...] = ()
    if comfyui.get("flags_enabled", True):
        flags = tuple(str(flag) for flag in comfyui.get("flags", []))
    joins = tuple(
        JoinFile(str(item["destination"]), tuple(str(p) for p in item["parts"]), int(item["size"]))
        for item in (data.get("join") or [])
    )
    return Settings(
        prefetch=files,
        python_libraries=tuple(str(name) for name in prefetch.get("python_libraries", []))
        if prefetch.get("enabled", True)
        else (),
        readers=_int(prefetch.get("readers"), 8, 1, 64),
        start_readers=_int(prefetch.get("start_readers"), 2, 1, 64),
        chunk_bytes=_int(prefetch.get("chunk_mib"), 16, 1, 1024) << 20,
        nice=_int(prefetch.get("nice"), 10, 0, 19),
        comfyui_main=str(comfyui.get("main", "")),
        comfyui_flags=flags,
        comfyui_url=str(comfyui.get("url", "http://127.0.0.1:8188")).rstrip("/"),
        warmup_workflow=str(warmup.get("workflow", "")) if warmup.get("enabled", True) else "",
        warmup_steps=_int(warmup.get("steps"), 1, 1, 100),
        warmup_timeout=float(warmup.get("timeout_seconds", 900.0)),
        warmup_grace=float(warmup.get("grace_seconds", 0.5)),
        join=joins,
    )


def load(path: str | None = None) -> Settings:
    where = path or os.environ.get("IMAGEBUILDER_START_CONFIG") or DEFAULT_PATH
    try:
        with open(where, encoding="utf-8") as handle:
            settings = parse(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log("settings_unreadable", path=where, error=str(error), effect="every part is off")
        return Settings()
    return apply_switches(settings)


def apply_switches(settings: Settings) -> Settings:
    """IMAGEBUILDER_PREFETCH=0, IMAGEBUILDER_WARMUP=0, IMAGEBUILDER_COMFYUI_FLAGS=0 turn
    one part off at run time (e.g. in an endpoint's environment) without a rebuild."""
    off = {name for name in ("PREFETCH", "WARMUP", "COMFYUI_FLAGS") if _switched_off(name)}
    return Settings(
        **{
            **settings.__dict__,
            **({"prefetch": (), "python_libraries": ()} if "PREFETCH" in off else {}),
            **({"warmup_workflow": ""} if "WARMUP" in off else {}),
            **({"comfyui_flags": ()} if "COMFYUI_FLAGS" in off else {}),
        }
    )


def _switched_off(name: str) -> bool:
    return os.environ.get(f"IMAGEBUILDER_{name}", "").strip().lower() in {"0", "false", "off", "no"}
