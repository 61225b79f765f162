"""RunpodServer: a loopback RunPod serverless endpoint running worker-comfyui's protocol.

/v2/<endpoint>/run, /status/<id>, /cancel/<id> and /health with Bearer auth. Jobs run
one at a time on a worker thread: the images in ``input.images`` are "uploaded", the
workflow validated and rendered with engine.render, and the answer carries base64
outputs plus delayTime (queue, and ``cold_start_s`` for the first job) and
executionTime in milliseconds, as RunPod reports them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from . import engine
from ._http import JsonHandler, LoopbackService


class _RunpodHandler(JsonHandler):
    server_state: RunpodServer

    def _route(self) -> tuple[str, str] | None:
        """(endpoint, rest) for /v2/<endpoint>/<rest>, after the auth check."""
        state = self.server_state
        parts = urlsplit(self.path).path.split("/", 3)
        if len(parts) < 4 or parts[1] != "v2" or parts[2] != state.endpoint_id:
            self.send_json(404, {"error": "endpoint not found"})
            return None
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self.send_json(401, {"error": "Unauthorized"})
            return None
        state.count(parts[3].split("/")[0])
        return parts[2], parts[3]

    def do_GET(self) -> None:
        if self.injected_fault() or (route := self._route()) is None:
            return
        state, rest = self.server_state, route[1]
        if rest == "health":
            self.send_json(200, {"jobs": {"completed": len(state.jobs)}, "workers": {"idle": 1}})
        elif rest.startswith("status/"):
            with state.lock:
                job = state.jobs.get(rest.removeprefix("status/"))
                answer = dict(job) if job else None
            self.send_json(200, answer) if answer else self.send_json(404, {"error": "no job"})
        else:
            self.send_json(404, {"error": "no route"})

    def do_POST(self) -> None:
        if self.injected_fault() or (route := self._route()) is None:
            return
        state, rest = self.server_state, route[1]
        body = self.body()
        if rest == "run":
            request = json.loads(body or b"{}")
            job_id = str(uuid.uuid4())
            with state.lock:
                state.jobs[job_id] = {"id": job_id, "status": "IN_QUEUE"}
                state.submitted[job_id] = time.monotonic()
            state.work.put((job_id, request.get("input") or {}))
            self.send_json(200, {"id": job_id, "status": "IN_QUEUE"})
        elif rest.startswith("cancel/"):
            job_id = rest.removeprefix("cancel/")
            with state.lock:
                state.cancelled.add(job_id)
                if job_id in state.jobs:
                    state.jobs[job_id]["status"] = "CANCELLED"
            state.interrupt.set()
            self.send_json(200, {"id": job_id, "status": "CANCELLED"})
        else:
            self.send_json(404, {"error": "no route"})


class RunpodServer(LoopbackService):
    """Endpoint, key, timings and jobs of one loopback RunPod endpoint."""

    handler = _RunpodHandler
    thread_prefix = "runpod"

    def __init__(
        self,
        *,
        endpoint_id: str = "loopback-endpoint",
        api_key: str = "rp_loopback_key",
        seconds_per_step: float = 0.0,
        fixed_seconds: float = 0.0,
        cold_start_s: float = 0.0,
        hang_s: float = 30.0,
    ) -> None:
        super().__init__()
        self.endpoint_id, self.api_key = endpoint_id, api_key
        self.seconds_per_step, self.fixed_seconds = seconds_per_step, fixed_seconds
        self.cold_start_s, self.hang_s = cold_start_s, hang_s
        self.jobs: dict[str, dict[str, Any]] = {}
        self.submitted: dict[str, float] = {}
        self._cold = True

    @property
    def api_base(self) -> str:
        return f"{self.origin}/v2"

    def _finish(self, job_id: str, **fields: Any) -> None:
        with self.lock:
            if job_id not in self.cancelled:
                self.jobs[job_id].update(fields)

    def take(self, job_id: str, request: Any) -> None:
        with self.lock:
            if job_id in self.cancelled:
                return
            self.jobs[job_id]["status"] = "IN_PROGRESS"
        self.interrupt.clear()
        delay = time.monotonic() - self.submitted[job_id]
        if self._cold and self.cold_start_s:
            time.sleep(self.cold_start_s)
            delay += self.cold_start_s
        self._cold = False
        started = time.monotonic()
        result = self._execute(job_id, request)
        timing = {
            "delayTime": int(delay * 1000),
            "executionTime": int((time.monotonic() - started) * 1000),
        }
        self._finish(job_id, **result, **timing)

    def _execute(self, job_id: str, request: dict[str, Any]) -> dict[str, Any]:
        uploads = {
            str(item.get("name")): base64.b64decode(str(item.get("image", "")).split(",")[-1])
            for item in request.get("images") or []
        }
        graph = request.get("workflow")
        node_errors = engine.validate(graph, set(uploads))
        if node_errors:
            return {
                "status": "FAILED",
                "error": f"Workflow validation failed: {json.dumps(node_errors)}",
            }
        assert isinstance(graph, dict)  # validate() refuses anything else
        plan = engine.recipe(graph)
        duration = self.fixed_seconds + plan.steps * self.seconds_per_step
        if self.interrupt.wait(self.hang_s if engine.HANG_MARK in plan.prompt else duration):
            return {"status": "CANCELLED"}
        try:
            png = engine.render(plan, uploads)
        except engine.NodeError as error:
            message = (
                f"Node Type: {error.node_type}, Node ID: {error.node_id}, Message: {error.message}"
            )
            return {"status": "FAILED", "error": message}
        if engine.NO_OUTPUT_MARK in plan.prompt:
            return {"status": "COMPLETED", "output": {"images": [], "errors": ["no outputs"]}}
        images = [
            {
                "filename": f"{job_id[:8]}_{node}.png",
                "type": "base64",
                "data": base64.b64encode(png).decode(),
            }
            for node in plan.save_ids
        ]
        return {"status": "COMPLETED", "output": {"images": images}}
