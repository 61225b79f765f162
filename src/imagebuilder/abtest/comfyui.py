"""A ComfyUI server as a target: /upload/image, /prompt, /history/<id>, /view.

ComfyUI's own execution time comes from the history's status messages (the
execution_start and execution_success timestamps, written by the server); queue wait is
the time from acceptance to the completion being seen, less that execution time, so it
holds queueing plus at most one poll interval. Inputs are uploaded once per target
(their names are content hashes), so only the first variant of a case pays for them.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

import httpx2

from imagebuilder.abtest._http import TargetHttp, cancel_on_timeout, json_object, poll_until
from imagebuilder.abtest.jobs import FailureKind, Job, JobFailed, TargetOutput, TargetTiming
from imagebuilder.abtest.media import VideoFile, is_video_ref, video_facts
from imagebuilder.errors import TimedOut

DEFAULT_POLL_S = 0.05
# A save node writes one image per batch item; an edit's batch is 1-4. A history that
# lists hundreds is broken or hostile: each one would be a download.
MAX_IMAGES_PER_NODE = 16


class ComfyTarget:
    def __init__(
        self, base_url: str, *, http: TargetHttp | None = None, poll_s: float = DEFAULT_POLL_S
    ):
        self._http = http or TargetHttp(base_url)
        self._label = base_url.rstrip("/")
        self.poll_s = poll_s
        self.client_id = uuid.uuid4().hex
        self._uploaded: set[str] = set()
        self._upload_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return self._label

    def close(self) -> None:
        self._http.close()

    def describe(self) -> dict[str, Any]:
        """GPU and version from /system_stats; a server without the route still runs jobs."""
        facts: dict[str, Any] = {"kind": "comfyui", "target": self._label}
        try:
            response = self._http.probe("/system_stats", target=self._label)
            stats = json_object(response, "/system_stats") if response.is_success else {}
        except (JobFailed, TimedOut, httpx2.HTTPError):
            stats = {}
        system = _dict(stats.get("system"))
        devices = _list(stats.get("devices"))
        facts["comfyui_version"] = str(system.get("comfyui_version", ""))[:40] or None
        names = [_device_name(d.get("name")) for d in devices if isinstance(d, dict)]
        facts["gpu"] = names[0] if names else None
        return facts

    def _upload(self, name: str, data: bytes, deadline: float) -> None:
        # One lock per file: two variants of a case starting together upload it once.
        with self._lock:
            name_lock = self._upload_locks.setdefault(name, threading.Lock())
        with name_lock:
            if name in self._uploaded:
                return
            response = self._http.request(
                "POST",
                "/upload/image",
                deadline=deadline,
                what="POST /upload/image",
                files={"image": (name, data, "application/octet-stream")},
                data={"overwrite": "true", "type": "input"},
            )
            answer = json_object(response, "/upload/image") if response.is_success else {}
            if answer.get("name") != name:
                raise JobFailed(
                    FailureKind.REJECTED,
                    f"upload of {name} refused (HTTP {response.status_code}): "
                    f"{response.text[:300]}",
                )
            self._uploaded.add(name)

    def _queue(self, job: Job, deadline: float) -> str:
        body = {"prompt": job.job_graph.graph, "client_id": self.client_id}
        response = self._http.request(
            "POST", "/prompt", deadline=deadline, what="POST /prompt", json=body
        )
        answer = json_object(response, "/prompt")
        if not response.is_success or "prompt_id" not in answer:
            raise JobFailed(FailureKind.REJECTED, _rejection(response.status_code, answer))
        return str(answer["prompt_id"])

    def _wait(self, prompt_id: str, deadline: float) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            response = self._http.request(
                "GET", f"/history/{prompt_id}", deadline=deadline, what="GET /history"
            )
            entry = json_object(response, "/history").get(prompt_id)
            if isinstance(entry, dict):
                status = _dict(entry.get("status"))
                if status.get("completed") or status.get("status_str") == "error":
                    return entry
            return None

        return poll_until(
            finished, poll_s=self.poll_s, deadline=deadline, what=f"prompt {prompt_id}"
        )

    def _cancel(self, prompt_id: str) -> None:
        """Best effort: leave the shared server as it was, then report the timeout."""
        grace = time.monotonic() + 5
        try:
            self._http.request(
                "POST",
                "/queue",
                deadline=grace,
                what="cancel",
                cleanup=True,
                json={"delete": [prompt_id]},
            )
            queue = json_object(
                self._http.request("GET", "/queue", deadline=grace, what="queue", cleanup=True),
                "q",
            )
            running = queue.get("queue_running") or []
            if any(isinstance(item, list) and prompt_id in item[:2] for item in running):
                self._http.request(
                    "POST",
                    "/interrupt",
                    deadline=grace,
                    what="interrupt",
                    cleanup=True,
                    json={"prompt_id": prompt_id},
                )
        except JobFailed:
            pass

    def _fetch(self, ref: Any, deadline: float) -> bytes:
        if not isinstance(ref, dict) or not isinstance(ref.get("filename"), str):
            raise JobFailed(
                FailureKind.BAD_OUTPUT, f"output entry is not an image reference: {ref!r:.200}"
            )
        params = {
            "filename": ref["filename"],
            "subfolder": str(ref.get("subfolder", "")),
            "type": str(ref.get("type", "output")),
        }
        response = self._http.request(
            "GET", "/view", deadline=deadline, what="GET /view", params=params
        )
        if not response.is_success:
            raise JobFailed(
                FailureKind.MISSING_OUTPUT,
                f"output {params['filename']!r} not served (HTTP {response.status_code})",
            )
        return response.content

    def run(self, job: Job, deadline: float) -> TargetOutput:
        for name, data in job.job_graph.uploads:
            self._upload(name, data, deadline)
        prompt_id = self._queue(job, deadline)
        accepted = time.monotonic()
        entry = cancel_on_timeout(
            lambda: self._wait(prompt_id, deadline), lambda: self._cancel(prompt_id)
        )
        seen = time.monotonic()
        status = _dict(entry.get("status"))
        messages = _messages(status)
        if status.get("status_str") == "error":
            raise _execution_error(prompt_id, messages)
        outputs = _dict(entry.get("outputs"))
        images: list[bytes] = []
        videos: list[VideoFile] = []
        for node_id in job.job_graph.output_nodes:
            node_output = _dict(outputs.get(node_id))
            # "gifs": how the VideoHelperSuite nodes list their videos
            refs = _list(node_output.get("images")) + _list(node_output.get("gifs"))
            if not refs:
                raise JobFailed(
                    FailureKind.MISSING_OUTPUT,
                    f"prompt {prompt_id} finished but output node {node_id} produced no "
                    "image or video",
                    node=node_id,
                )
            if len(refs) > MAX_IMAGES_PER_NODE:
                raise JobFailed(
                    FailureKind.BAD_OUTPUT,
                    f"output node {node_id} lists {len(refs)} outputs; at most "
                    f"{MAX_IMAGES_PER_NODE} per node are fetched",
                    node=node_id,
                )
            for ref in refs:
                data = self._fetch(ref, deadline)
                if is_video_ref(_dict(ref), node_output):
                    videos.append(video_facts(str(_dict(ref).get("filename", "")), data))
                else:
                    images.append(data)
        execution = _execution_seconds(messages)
        queue = None if execution is None else max(0.0, seen - accepted - execution)
        return TargetOutput(
            images=tuple(images),
            timing=TargetTiming(execution_s=execution, queue_s=queue),
            details={"prompt_id": prompt_id},
            videos=tuple(videos),
        )


def _device_name(raw: Any) -> str:
    """'cuda:0 NVIDIA H200 : cudaMallocAsync' (ComfyUI's wording) -> 'NVIDIA H200'."""
    name = re.sub(r"^cuda:\d+\s+", "", str(raw or "")[:200])
    return re.sub(r"\s+:\s+\S+$", "", name).strip()[:100]


def _dict(value: Any) -> dict[str, Any]:
    """Answers are hostile: a field that should be an object may be anything."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _messages(status: Any) -> dict[str, dict[str, Any]]:
    """History status messages by type: [["execution_start", {...}], ...]."""
    found: dict[str, dict[str, Any]] = {}
    for item in status.get("messages", []) if isinstance(status, dict) else []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
            found.setdefault(str(item[0]), item[1])
    return found


def _execution_seconds(messages: dict[str, dict[str, Any]]) -> float | None:
    start = messages.get("execution_start", {}).get("timestamp")
    end = messages.get("execution_success", {}).get("timestamp")
    if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
        return (end - start) / 1000.0  # ComfyUI writes milliseconds
    return None


def _execution_error(prompt_id: str, messages: dict[str, dict[str, Any]]) -> JobFailed:
    error = messages.get("execution_error") or messages.get("execution_interrupted") or {}
    node = error.get("node_id")
    text = str(error.get("exception_message", "execution failed")).strip()[:500]
    where = f"node {node} ({error.get('node_type', '?')})" if node else f"prompt {prompt_id}"
    return JobFailed(FailureKind.NODE_ERROR, f"{where}: {text}", node=str(node) if node else None)


def _rejection(status_code: int, answer: dict[str, Any]) -> str:
    """ComfyUI's 400 answer: an error plus node_errors {node: {errors: [...]}}."""
    error = _dict(answer.get("error"))
    parts = [str(error.get("message", f"HTTP {status_code}"))]
    node_errors = _dict(answer.get("node_errors"))
    for node_id, detail in list(node_errors.items())[:5]:
        for item in (detail.get("errors") or [])[:2] if isinstance(detail, dict) else []:
            if isinstance(item, dict):
                parts.append(
                    f"node {node_id}: {item.get('message', '')}: {item.get('details', '')}"
                )
    return "; ".join(part.strip() for part in parts)[:800]
