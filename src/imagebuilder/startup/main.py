"""The entrypoint: join, prefetch, start the base's command with the image's ComfyUI
flags, warm up, and pass the command's exit status on.

    python3 -m imagebuilder.startup <the base image's entrypoint and command...>

Inside the image /imagebuilder/start.sh runs it (and runs the command directly if this
Python cannot). As PID 1 it forwards SIGTERM/SIGINT to the command and reaps orphans.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from . import settings as settings_module
from .events import log
from .joinparts import join_all
from .prefetch import Prefetch, start_prefetch
from .settings import Settings
from .warmup import run_warmup, wait_until_answering

INJECT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inject")


def command_environment(settings: Settings, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    if settings.comfyui_flags and settings.comfyui_main:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (INJECT_DIR, base.get("PYTHONPATH")) if p)
        env["IMAGEBUILDER_COMFYUI_MAIN"] = settings.comfyui_main
        env["IMAGEBUILDER_COMFYUI_FLAGS_JSON"] = json.dumps(list(settings.comfyui_flags))
    return env


def _forward_signals(child: subprocess.Popen[bytes]) -> None:
    def forward(number: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(number)

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, forward)


def _wait(child: subprocess.Popen[bytes]) -> int:
    """Wait for the command; as PID 1 also reap the orphans it leaves behind."""
    if os.getpid() != 1:
        return child.wait()
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return child.returncode if child.returncode is not None else 1
        except InterruptedError:
            continue
        if pid == child.pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode


def _widen_when_answering(prefetch: Prefetch, settings: Settings) -> None:
    wait_until_answering(settings.comfyui_url, time.monotonic() + 60.0, interval=0.05)
    prefetch.widen()


def main(argv: list[str]) -> int:
    if not argv:
        log("no_command", hint="start.sh passes the base image's entrypoint and command")
        return 2
    if os.environ.get("IMAGEBUILDER_START", "").strip().lower() in {"0", "false", "off", "no"}:
        os.execvp(argv[0], argv)  # noqa: S606 (the base's own command, as the base runs it)
    started = time.monotonic()
    settings = settings_module.load()
    if settings.join:  # before the command: joinparts says why
        join_all(settings.join)
    env = command_environment(settings, dict(os.environ))
    log(
        "command_start",
        argv=argv,
        comfyui_flags=list(settings.comfyui_flags),
        since_start=round(time.monotonic() - started, 3),
    )
    child = subprocess.Popen(argv, env=env)
    _forward_signals(child)
    prefetch = start_prefetch(settings)  # after the start: listing the libraries takes a moment
    if prefetch is not None:
        threading.Thread(
            target=_widen_when_answering, args=(prefetch, settings), daemon=True
        ).start()
    if settings.warmup_workflow:
        threading.Thread(
            target=run_warmup,
            args=(
                settings.comfyui_url,
                settings.warmup_workflow,
                settings.warmup_steps,
                settings.warmup_timeout,
                settings.warmup_grace,
            ),
            name="warmup",
            daemon=True,
        ).start()
    code = _wait(child)
    del prefetch  # daemon readers end with this process
    log("command_exit", code=code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
