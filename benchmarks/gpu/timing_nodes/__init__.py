"""A ComfyUI custom node package that adds no nodes: it times ComfyUI's own functions.

ComfyUI imports every package in <base>/custom_nodes/ after its built-in nodes, so by
the time this runs the loaders, the CLIP/VAE classes and the sampler exist and can be
wrapped in place. Nothing in ComfyUI's source is changed. Each wrapped call is timed
between two torch.cuda.synchronize() calls (GPU work is asynchronous, so a host clock
alone would time the launch, not the work) and appended as one JSON line to the file
named by IB_TIMING_LOG.

It also adds two HTTP routes for the benchmark: GET /ib_bench/memory (peak and current
VRAM seen by PyTorch in this process) and POST /ib_bench/reset_peak.

IB_MEMORY_CAP_GB caps what PyTorch may allocate in this process (with ComfyUI's
--reserve-vram telling it how much it may plan for), so a smaller card is imitated by
a hard limit, not only by ComfyUI's own accounting.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import torch

NODE_CLASS_MAPPINGS: dict[str, Any] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}

_LOG_PATH = os.environ.get("IB_TIMING_LOG", "")
_lock = threading.Lock()
_depth = threading.local()
_scaled_mm_calls = [0]


def _emit(record: dict[str, Any]) -> None:
    if not _LOG_PATH:
        return
    line = json.dumps(record)
    with _lock, open(_LOG_PATH, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(part: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "value", 0)
        _depth.value = depth + 1
        _sync()
        started = time.time()
        clock = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _sync()
            seconds = time.perf_counter() - clock
            _depth.value = depth
            _emit({"part": part, "start": started, "seconds": seconds, "depth": depth})

    wrapper.__ib_timed__ = True  # type: ignore[attr-defined]
    return wrapper


def _wrap(owner: Any, name: str, part: str) -> None:
    original = getattr(owner, name, None)
    if original is None or getattr(original, "__ib_timed__", False):
        logging.warning("ib timing: %s.%s not found, not timed", owner, name)
        return
    setattr(owner, name, _timed(part, original))


def _count_scaled_mm() -> None:
    original = getattr(torch, "_scaled_mm", None)
    if original is None:
        return

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        _scaled_mm_calls[0] += 1
        return original(*args, **kwargs)

    torch._scaled_mm = counted


def _install() -> None:
    import comfy.model_base
    import comfy.model_management
    import comfy.sample
    import comfy.sd
    import nodes

    # Loaders (cold start), as the nodes call them.
    _wrap(nodes.UNETLoader, "load_unet", "load_diffusion_model")
    _wrap(nodes.CLIPLoader, "load_clip", "load_text_encoder")
    _wrap(nodes.VAELoader, "load_vae", "load_vae")
    _wrap(nodes.LoraLoaderModelOnly, "load_lora_model_only", "load_lora")
    _wrap(comfy.model_management, "load_models_gpu", "models_to_gpu")
    # The parts of a job.
    _wrap(nodes.LoadImage, "load_image", "load_image")
    _wrap(nodes.SaveImage, "save_images", "save_image")
    _wrap(comfy.sd.CLIP, "encode_from_tokens_scheduled", "text_encode")
    _wrap(comfy.sd.CLIP, "tokenize", "tokenize")
    _wrap(comfy.sd.VAE, "encode", "vae_encode")
    _wrap(comfy.sd.VAE, "decode", "vae_decode")
    _wrap(comfy.sample, "sample", "sample")
    # One call per denoising step at cfg 1 (two with a separate unconditional pass).
    _wrap(comfy.model_base.BaseModel, "apply_model", "step")
    _count_scaled_mm()


def _cap_memory() -> None:
    cap = os.environ.get("IB_MEMORY_CAP_GB")
    if not cap or not torch.cuda.is_available():
        return
    total = torch.cuda.get_device_properties(0).total_memory
    fraction = min(1.0, float(cap) * 1024**3 / total)
    torch.cuda.set_per_process_memory_fraction(fraction, 0)
    logging.info("ib timing: PyTorch allocations capped at %s GiB (%.3f)", cap, fraction)


def _add_routes() -> None:
    from aiohttp import web
    from server import PromptServer

    routes = PromptServer.instance.routes

    @routes.get("/ib_bench/memory")
    async def memory(_request: web.Request) -> web.Response:
        stats: dict[str, Any] = {"scaled_mm_calls": _scaled_mm_calls[0]}
        if torch.cuda.is_available():
            free, total = torch.cuda.mem_get_info()
            stats |= {
                "max_allocated": torch.cuda.max_memory_allocated(),
                "max_reserved": torch.cuda.max_memory_reserved(),
                "allocated": torch.cuda.memory_allocated(),
                "reserved": torch.cuda.memory_reserved(),
                "device_free": free,
                "device_total": total,
            }
        return web.json_response(stats)

    @routes.post("/ib_bench/reset_peak")
    async def reset_peak(_request: web.Request) -> web.Response:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        return web.json_response({"ok": True})


_install()
_cap_memory()
_add_routes()
_emit({"part": "timing_nodes_loaded", "start": time.time(), "seconds": 0.0, "depth": 0})
