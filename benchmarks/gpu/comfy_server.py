"""Start ComfyUI headless from a source tree and queue API-format graphs on it.

Standard library only: the GPU machine has ComfyUI's own dependencies and nothing of
this project. One ComfyServer is one ComfyUI process with its own flags; every file it
uses (models, custom nodes, input, output) lives under one base directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --front-end-root <empty dir>: no frontend package needed; --disable-api-nodes: no
# pydantic-based paid API nodes; --disable-auto-launch: no browser.
HEADLESS_FLAGS = ["--disable-auto-launch", "--disable-api-nodes"]


class JobFailed(RuntimeError):
    pass


@dataclass
class JobResult:
    prompt_id: str
    wall_seconds: float  # POST /prompt to the history entry, as a client sees it
    server_seconds: float | None  # execution_start to execution_success, ComfyUI's clock
    outputs: list[Path]
    messages: list[Any] = field(default_factory=list)


class ComfyServer:
    def __init__(
        self,
        comfyui: Path,
        base: Path,
        log: Path,
        *,
        port: int = 8188,
        extra_flags: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.comfyui = comfyui.resolve()
        self.base = base.resolve()
        self.log = log
        self.port = port
        self.extra_flags = extra_flags or []
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        front_end = self.base / "empty_frontend"
        # ComfyUI lists <base>/custom_nodes at start and fails if the folder is missing.
        for folder in (front_end, self.base / "custom_nodes", self.base / "input"):
            folder.mkdir(parents=True, exist_ok=True)
        return [
            sys.executable,
            str(self.comfyui / "main.py"),
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-directory",
            str(self.base),
            "--front-end-root",
            str(front_end),
            *HEADLESS_FLAGS,
            *self.extra_flags,
        ]

    def start(self, timeout: float = 180.0) -> float:
        """Start ComfyUI; return the seconds until it answers HTTP (imports, nodes, routes)."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        log.write(f"\n$ {' '.join(self.command())}\n".encode())
        log.flush()
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command(), cwd=self.comfyui, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}: see {self.log}")
            try:
                self.get("/system_stats", timeout=1.0)
                self.start_seconds = time.perf_counter() - started
                return self.start_seconds
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise TimeoutError(f"ComfyUI did not answer within {timeout} s: see {self.log}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def get(self, path: str, timeout: float = 30.0) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as answer:
            return json.loads(answer.read())

    def post(self, path: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise JobFailed(f"{path}: HTTP {error.code}: {error.read().decode()[:2000]}") from None

    def run(self, graph: dict[str, Any], timeout: float = 300.0) -> JobResult:
        """Queue one graph and wait for its history entry."""
        started = time.perf_counter()
        queued = self.post("/prompt", {"prompt": graph, "client_id": uuid.uuid4().hex})
        prompt_id = queued["prompt_id"]
        while time.perf_counter() - started < timeout:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history:
                wall = time.perf_counter() - started
                return self._result(prompt_id, history[prompt_id], wall)
            time.sleep(0.01)
        raise JobFailed(f"job {prompt_id} did not finish within {timeout} s")

    def _result(self, prompt_id: str, entry: dict[str, Any], wall: float) -> JobResult:
        status = entry.get("status", {})
        messages = status.get("messages", [])
        if status.get("status_str") != "success":
            raise JobFailed(f"job {prompt_id} failed: {json.dumps(messages)[:3000]}")
        stamps = {name: data.get("timestamp") for name, data in messages if isinstance(data, dict)}
        server = None
        if stamps.get("execution_start") and stamps.get("execution_success"):
            server = (stamps["execution_success"] - stamps["execution_start"]) / 1000.0
        outputs = [
            self.base / "output" / image.get("subfolder", "") / image["filename"]
            for node_output in entry.get("outputs", {}).values()
            for image in node_output.get("images", [])
        ]
        return JobResult(prompt_id, wall, server, outputs, messages)
