"""ComfyServer: a loopback ComfyUI with the routes `imagebuilder test` uses.

POST /upload/image (multipart), POST /prompt, GET /history/<id>, GET /view, GET and
POST /queue, POST /interrupt, GET /system_stats. One worker thread executes prompts in
order, as ComfyUI does, sleeping for the configured seconds per step plus fixed
seconds, then computing the output with engine.render. History status messages carry
millisecond timestamps the way ComfyUI writes them.
"""

from __future__ import annotations

import json
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import engine
from ._http import JsonHandler, LoopbackService


class _ComfyHandler(JsonHandler):
    server_state: ComfyServer

    def do_GET(self) -> None:
        if self.injected_fault():
            return
        state = self.server_state
        parts = urlsplit(self.path)
        state.count(parts.path)
        if parts.path.startswith("/history/"):
            prompt_id = parts.path.removeprefix("/history/")
            with state.lock:
                entry = state.history.get(prompt_id)
                self.send_json(200, {prompt_id: entry} if entry else {})
        elif parts.path == "/view":
            query = parse_qs(parts.query)
            name = (query.get("filename") or [""])[0]
            data = state.outputs.get(name)
            if data is None:
                self.send_json(404, {"error": "not found"})
            else:
                self.send(200, data, "image/png")
        elif parts.path == "/queue":
            with state.lock:
                running = [[0, state.running, {}, {}, []]] if state.running else []
                pending = [[0, pid, {}, {}, []] for pid in state.pending_ids]
            self.send_json(200, {"queue_running": running, "queue_pending": pending})
        elif parts.path == "/system_stats":
            self.send_json(
                200,
                {
                    "system": {"os": "posix", "comfyui_version": "loopback"},
                    "devices": [{"name": "loopback numpy renderer", "type": "cpu"}],
                },
            )
        else:
            self.send_json(404, {"error": "no route"})

    def do_POST(self) -> None:
        if self.injected_fault():
            return
        state = self.server_state
        path = urlsplit(self.path).path
        state.count(path)
        body = self.body()
        if path == "/upload/image":
            self._upload(body)
        elif path == "/prompt":
            self._prompt(body)
        elif path == "/queue":
            request = json.loads(body or b"{}")
            with state.lock:
                for prompt_id in request.get("delete", []):
                    state.cancelled.add(prompt_id)
            self.send_json(200, {})
        elif path == "/interrupt":
            state.interrupt.set()
            self.send_json(200, {})
        else:
            self.send_json(404, {"error": "no route"})

    def _upload(self, body: bytes) -> None:
        header = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(header + body)
        fields = {
            part.get_param("name", header="content-disposition"): part
            for part in message.iter_parts()
        }
        image = fields.get("image")
        if image is None or not image.get_filename():
            self.send_json(400, {"error": "no image field"})
            return
        name = str(image.get_filename())
        with self.server_state.lock:
            if not self.server_state.forget_uploads:  # a replica that never saw the upload
                payload = image.get_payload(decode=True)
                self.server_state.inputs[name] = payload if isinstance(payload, bytes) else b""
        self.send_json(200, {"name": name, "subfolder": "", "type": "input"})

    def _prompt(self, body: bytes) -> None:
        state = self.server_state
        request = json.loads(body or b"{}")
        graph = request.get("prompt")
        with state.lock:
            node_errors = engine.validate(graph, set(state.inputs))
        if node_errors:
            self.send_json(
                400,
                {
                    "error": {
                        "type": "prompt_outputs_failed_validation",
                        "message": "Prompt outputs failed validation",
                        "details": "",
                        "extra_info": {},
                    },
                    "node_errors": node_errors,
                },
            )
            return
        prompt_id = str(uuid.uuid4())
        with state.lock:
            state.pending_ids.append(prompt_id)
        state.work.put((prompt_id, graph))
        self.send_json(200, {"prompt_id": prompt_id, "number": state.counter(), "node_errors": {}})


class ComfyServer(LoopbackService):
    """Timings, faults and state of one loopback ComfyUI."""

    handler = _ComfyHandler
    thread_prefix = "comfy"

    def __init__(
        self,
        *,
        seconds_per_step: float = 0.0,
        fixed_seconds: float = 0.0,
        hang_s: float = 30.0,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.seconds_per_step = seconds_per_step
        self.fixed_seconds = fixed_seconds
        self.hang_s = hang_s
        self.forget_uploads = False
        self.inputs: dict[str, bytes] = {}
        self.outputs: dict[str, bytes] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.pending_ids: list[str] = []
        self.running: str | None = None
        self._number = 0

    @property
    def url(self) -> str:
        return self.origin

    def count(self, route: str) -> None:
        super().count("/history" if route.startswith("/history/") else route)

    def counter(self) -> int:
        with self.lock:
            self._number += 1
            return self._number

    # --- execution ------------------------------------------------------------------

    def take(self, prompt_id: str, graph: Any) -> None:
        with self.lock:
            self.pending_ids.remove(prompt_id)
            if prompt_id in self.cancelled:
                return
            self.running = prompt_id
        self.interrupt.clear()
        try:
            self.history[prompt_id] = self._execute(prompt_id, graph)
        finally:
            with self.lock:
                self.running = None

    def _execute(self, prompt_id: str, graph: dict[str, Any]) -> dict[str, Any]:
        start = _now_ms()
        messages: list[list[Any]] = [
            ["execution_start", {"prompt_id": prompt_id, "timestamp": start}]
        ]
        plan = engine.recipe(graph)
        duration = self.fixed_seconds + plan.steps * self.seconds_per_step
        if engine.HANG_MARK in plan.prompt:
            duration = self.hang_s
        outputs: dict[str, Any] = {}
        try:
            if self.interrupt.wait(duration):
                messages.append(
                    [
                        "execution_interrupted",
                        {
                            "prompt_id": prompt_id,
                            "node_id": plan.sampler_id,
                            "node_type": "KSampler",
                            "timestamp": _now_ms(),
                        },
                    ]
                )
                return _entry(graph, prompt_id, messages, outputs, ok=False)
            with self.lock:
                uploads = dict(self.inputs)
            png = engine.render(plan, uploads)
        except engine.NodeError as error:
            messages.append(
                [
                    "execution_error",
                    {
                        "prompt_id": prompt_id,
                        "node_id": error.node_id,
                        "node_type": error.node_type,
                        "exception_message": error.message,
                        "exception_type": "torch.OutOfMemoryError",
                        "traceback": [],
                        "timestamp": _now_ms(),
                    },
                ]
            )
            return _entry(graph, prompt_id, messages, outputs, ok=False)
        if engine.NO_OUTPUT_MARK not in plan.prompt:
            for node_id in plan.video_ids:  # ComfyUI lists videos under "images" too
                is_mp4 = graph[node_id]["class_type"] == "SaveVideo"
                name = f"video_{prompt_id[:8]}_{node_id}_.{'mp4' if is_mp4 else 'webp'}"
                data = engine.mp4(plan.frames) if is_mp4 else engine.animated_webp(plan.frames)
                with self.lock:
                    self.outputs[name] = data
                ref = {"filename": name, "subfolder": "video" if is_mp4 else "", "type": "output"}
                outputs[node_id] = {"images": [ref], "animated": [True]}
            for node_id in plan.save_ids:
                name = f"qwen_image_edit_{prompt_id[:8]}_{node_id}_.png"
                with self.lock:
                    self.outputs[name] = png
                many = 400 if engine.MANY_OUTPUTS_MARK in plan.prompt else 1
                ref = {"filename": name, "subfolder": "", "type": "output"}
                outputs[node_id] = {"images": [ref] * many}
        messages.append(["execution_success", {"prompt_id": prompt_id, "timestamp": _now_ms()}])
        return _entry(graph, prompt_id, messages, outputs, ok=True)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _entry(
    graph: Any, prompt_id: str, messages: list[list[Any]], outputs: dict[str, Any], *, ok: bool
) -> dict[str, Any]:
    return {
        "prompt": [0, prompt_id, graph, {}, list(outputs)],
        "outputs": outputs,
        "status": {
            "status_str": "success" if ok else "error",
            "completed": ok,
            "messages": messages,
        },
        "meta": {},
    }
