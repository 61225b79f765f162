"""A RunPod serverless endpoint running worker-comfyui as a target: /run, then /status.

The request is worker-comfyui's: ``input.workflow`` (the API graph) and ``input.images``
(name + base64, uploaded by the worker into ComfyUI's input folder). Outputs come back
as base64 in ``output.images`` (worker-comfyui 5+) or ``output.message`` (older
releases). RunPod reports ``delayTime`` (queue plus cold start) and ``executionTime`` in
milliseconds; both are kept apart. The API key is sent in a header only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from typing import Any

from imagebuilder.abtest._http import TargetHttp, cancel_on_timeout, json_object, poll_until
from imagebuilder.abtest.jobs import FailureKind, Job, JobFailed, TargetOutput, TargetTiming
from imagebuilder.errors import ConfigError
from imagebuilder.project import redact

DEFAULT_API_BASE = "https://api.runpod.ai/v2"
DEFAULT_POLL_S = 0.5
MAX_RUN_BYTES = 10_000_000  # RunPod's limit on a /run body (base64 images included)
_PENDING = {"IN_QUEUE", "IN_PROGRESS"}


class RunpodTarget:
    def __init__(
        self,
        endpoint_id: str,
        api_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        poll_s: float = DEFAULT_POLL_S,
    ):
        self.endpoint_id = endpoint_id
        redact.remember(api_key)
        self.poll_s = poll_s
        self._http = TargetHttp(
            f"{api_base.rstrip('/')}/{endpoint_id}",
            headers={"Authorization": f"Bearer {api_key}"},
        )

    @property
    def label(self) -> str:
        return f"runpod://{self.endpoint_id}"

    def close(self) -> None:
        self._http.close()

    def describe(self) -> dict[str, Any]:
        """/health answers before any job: a refused key stops the run here, once."""
        response = self._http.probe("/health", target=self.label)
        if response.status_code in (401, 403):
            raise ConfigError(
                f"RunPod refused the API key for endpoint {self.endpoint_id} "
                f"(HTTP {response.status_code})",
                location=self.label,
                hint="set RUNPOD_API_KEY to a key with access to this endpoint",
            )
        if response.status_code == 404:
            raise ConfigError(
                f"RunPod has no endpoint {self.endpoint_id}",
                location=self.label,
                hint="copy the endpoint id from the RunPod console",
            )
        try:
            health = json_object(response, "/health") if response.is_success else {}
        except JobFailed:  # a broken health answer: the jobs will tell
            health = {}
        workers = health.get("workers") if isinstance(health.get("workers"), dict) else {}
        return {"kind": "runpod", "target": self.label, "gpu": None, "workers": workers}

    def _submit(self, job: Job, deadline: float) -> str:
        images = [
            {"name": name, "image": base64.b64encode(data).decode("ascii")}
            for name, data in job.job_graph.uploads
        ]
        body = {"input": {"workflow": job.job_graph.graph, "images": images}}
        size = len(json.dumps(body))
        if size > MAX_RUN_BYTES:
            raise JobFailed(
                FailureKind.REJECTED,
                f"the /run request would be {size} bytes; RunPod takes {MAX_RUN_BYTES} "
                "(use smaller input images for this case)",
            )
        response = self._http.request(
            "POST", "/run", deadline=deadline, what="POST /run", json=body
        )
        answer = json_object(response, "/run")
        if not response.is_success or not isinstance(answer.get("id"), str):
            detail = str(answer.get("error") or answer)[:300]
            raise JobFailed(
                FailureKind.REJECTED, f"/run refused (HTTP {response.status_code}): {detail}"
            )
        return str(answer["id"])

    def _wait(self, job_id: str, deadline: float) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            response = self._http.request(
                "GET", f"/status/{job_id}", deadline=deadline, what="GET /status"
            )
            answer = json_object(response, "/status")
            if response.is_success and answer.get("status") not in _PENDING:
                return answer
            if not response.is_success:
                raise JobFailed(FailureKind.HTTP, f"/status/{job_id}: HTTP {response.status_code}")
            return None

        return poll_until(finished, poll_s=self.poll_s, deadline=deadline, what=f"job {job_id}")

    def _cancel(self, job_id: str) -> None:
        with contextlib.suppress(JobFailed):
            self._http.request(
                "POST",
                f"/cancel/{job_id}",
                deadline=time.monotonic() + 5,
                what="cancel",
                cleanup=True,
            )

    def run(self, job: Job, deadline: float) -> TargetOutput:
        job_id = self._submit(job, deadline)
        answer = cancel_on_timeout(
            lambda: self._wait(job_id, deadline), lambda: self._cancel(job_id)
        )
        status = str(answer.get("status"))
        output = answer.get("output")
        if status in ("CANCELLED", "TIMED_OUT"):
            raise JobFailed(FailureKind.TIMEOUT, f"job {job_id}: RunPod says {status}")
        error = answer.get("error") or (output.get("error") if isinstance(output, dict) else None)
        if status != "COMPLETED" or error:
            raise _failure(job_id, status, error)
        images = _decode_images(job_id, output)
        if len(images) < len(job.job_graph.output_nodes):
            raise JobFailed(
                FailureKind.MISSING_OUTPUT,
                f"job {job_id} completed with {len(images)} image(s), the workflow saves "
                f"{len(job.job_graph.output_nodes)}",
            )
        return TargetOutput(
            images=tuple(images),
            timing=TargetTiming(
                execution_s=_seconds(answer.get("executionTime")),
                queue_s=_seconds(answer.get("delayTime")),
            ),
            details={"job_id": job_id},
        )


def _seconds(milliseconds: Any) -> float | None:
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool):
        return max(0.0, milliseconds / 1000.0)
    return None


def _failure(job_id: str, status: str, error: Any) -> JobFailed:
    text = str(error or f"status {status}").strip()[:800]
    # worker-comfyui's own words: validation problems come before any node runs.
    kind = FailureKind.REJECTED if "validation" in text.lower() else FailureKind.NODE_ERROR
    return JobFailed(kind, f"job {job_id} {status.lower()}: {text}")


def _decode_images(job_id: str, output: Any) -> list[bytes]:
    entries: list[Any] = []
    if isinstance(output, dict) and isinstance(output.get("images"), list):
        entries = output["images"]
    elif isinstance(output, dict) and isinstance(output.get("message"), str):
        entries = [{"type": "base64", "data": output["message"]}]  # worker-comfyui < 5
    images = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "base64":
            kind = entry.get("type") if isinstance(entry, dict) else type(entry).__name__
            raise JobFailed(
                FailureKind.BAD_OUTPUT,
                f"job {job_id}: output of type {kind!r}; the test needs base64 outputs "
                "(unset the worker's S3 upload settings for the test endpoint)",
            )
        data = str(entry.get("data", ""))
        data = data.split(",", 1)[1] if data.startswith("data:") else data
        try:
            images.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise JobFailed(FailureKind.BAD_OUTPUT, f"job {job_id}: output is not base64") from None
    return images
