"""Loopback ComfyUI and RunPod servers for `imagebuilder test` (real HTTP, fake model)."""

from .comfy import ComfyServer
from .engine import BAD_OUTPUT_MARK, HANG_MARK, MANY_OUTPUTS_MARK, NO_OUTPUT_MARK, NODE_ERROR_MARK
from .runpod import RunpodServer

__all__ = [
    "BAD_OUTPUT_MARK",
    "HANG_MARK",
    "MANY_OUTPUTS_MARK",
    "NODE_ERROR_MARK",
    "NO_OUTPUT_MARK",
    "ComfyServer",
    "RunpodServer",
]
