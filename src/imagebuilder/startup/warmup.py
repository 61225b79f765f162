"""Warm ComfyUI up: run the shipped workflow once on a tiny input as soon as it answers.

The first job of a fresh worker loads every model (seconds to tens of seconds); run
here, that load happens before a real job arrives, or at worst while it waits in the
same queue (if a job is already queued once ComfyUI has answered for a moment, the
warm-up is skipped: that job loads the models itself). The input is an 8x8 PNG
uploaded under its own name, the sampler runs one step, and SaveImage becomes
PreviewImage (ComfyUI's temp folder), so nothing lands among the worker's outputs.
Any failure is logged, never raised.
"""

from __future__ import annotations

import copy
import json
import struct
import time
import urllib.error
import urllib.request
import uuid
import zlib
from typing import Any

from .events import log

UPLOAD_NAME = "imagebuilder_warmup.png"


def tiny_png(size: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes([128, 96, 64]) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(row * size)),
            chunk(b"IEND", b""),
        ]
    )


def warmup_graph(graph: dict[str, Any], image: str, steps: int) -> dict[str, Any]:
    """The workflow with the tiny input, few steps and no saved output."""
    graph = copy.deepcopy(graph)
    for node in graph.values():
        kind = node.get("class_type")
        inputs = node.setdefault("inputs", {})
        if kind == "LoadImage":
            inputs["image"] = image
        elif kind == "KSampler":
            inputs["steps"] = steps
        elif kind == "SaveImage":
            node["class_type"] = "PreviewImage"
            node["inputs"] = {"images": inputs.get("images")}
    return graph


def _request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url!r}")
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 (checked above)
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (checked above)
        return json.loads(answer.read() or b"null")


def wait_until_answering(url: str, deadline: float, interval: float = 0.02) -> bool:
    while time.monotonic() < deadline:
        try:
            _request(f"{url}/system_stats")
            return True
        except (OSError, ValueError):
            time.sleep(interval)
    return False


def _upload(url: str, png: bytes) -> None:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            f'filename="{UPLOAD_NAME}"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + png
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue'
            f"\r\n--{boundary}--\r\n"
        ).encode()
    )
    _request(
        f"{url}/upload/image", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )


def _jobs_in_queue(url: str) -> int:
    try:
        queue = _request(f"{url}/queue")
    except (OSError, ValueError):
        return 0
    if not isinstance(queue, dict):
        return 0
    return sum(len(queue.get(key) or []) for key in ("queue_running", "queue_pending"))


def run_warmup(
    url: str, workflow_path: str, steps: int, timeout: float, grace: float = 0.5
) -> bool:
    started = time.monotonic()
    deadline = started + timeout
    try:
        with open(workflow_path, encoding="utf-8") as handle:
            graph = json.load(handle)
        if not wait_until_answering(url, deadline):
            log("warmup_failed", reason=f"ComfyUI did not answer within {timeout:.0f} s")
            return False
        answered = time.monotonic() - started
        time.sleep(grace)
        waiting = _jobs_in_queue(url)
        if waiting:
            # A real job is already there: it loads the models itself, and a warm-up
            # queued ahead of it would only delay it.
            log(
                "warmup_skipped",
                reason=f"{waiting} job(s) already queued",
                after=round(answered, 3),
            )
            return True
        _upload(url, tiny_png())
        body = json.dumps(
            {"prompt": warmup_graph(graph, UPLOAD_NAME, steps), "client_id": "imagebuilder-warmup"}
        ).encode()
        queued = _request(f"{url}/prompt", body, {"Content-Type": "application/json"})
        prompt_id = str(queued["prompt_id"])
        log("warmup_queued", prompt_id=prompt_id, comfyui_answered_after=round(answered, 3))
        while time.monotonic() < deadline:
            history = _request(f"{url}/history/{prompt_id}")
            if isinstance(history, dict) and prompt_id in history:
                status = history[prompt_id].get("status", {})
                ok = bool(status.get("status_str") == "success")
                detail = {} if ok else {"messages": json.dumps(status.get("messages"))[:2000]}
                seconds = round(time.monotonic() - started, 3)
                event = "warmup_done" if ok else "warmup_failed"
                log(event, prompt_id=prompt_id, seconds=seconds, **detail)
                return ok
            time.sleep(0.1)
        log("warmup_failed", reason=f"the warm-up job did not finish within {timeout:.0f} s")
    except urllib.error.HTTPError as error:
        answer = error.read()[:2000].decode("utf-8", "replace")
        log("warmup_failed", reason=f"HTTP {error.code}", body=answer)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log("warmup_failed", reason=str(error))
    return False
