"""Offline and Hub-down: how long `imagebuilder check-updates` takes to say so.

Runs the real CLI (a fresh process, as a user would) on the shipped models.yaml, locked
against a loopback Hub, then with HF_ENDPOINT pointing at (a) a loopback port where
nothing listens (connection refused: the Hub is down) and (b) a host name that cannot
resolve (offline, or a typo). Target: exit 6 with one error line in under 5 s each,
startup included. Exits 1 when a case misses the target.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hubserver.server import HubServer  # noqa: E402 (after the path insert)

TARGET_S = 5.0
RUNS = 3


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def cli(env: dict[str, str], *args: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from imagebuilder.cli import run; run()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode, time.perf_counter() - started, done.stderr


def main() -> int:
    failed = False
    with tempfile.TemporaryDirectory() as tmp, HubServer("qwen_2509") as hub:
        config = Path(tmp) / "models.yaml"
        shutil.copy(ROOT / "models.yaml", config)
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_HOME": str(Path(tmp) / "hf"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        env.pop("HF_TOKEN", None)
        code, _, stderr = cli(env, "lock", "-c", str(config))
        assert code == 0, stderr
        cases = {
            "connection refused": closed_port_url(),
            "name does not resolve": "https://hub.imagebuilder.invalid",
        }
        print(f"{'case':<24} {'exit':>4} {'best s':>7} {'worst s':>7} {'error lines':>11}")
        for name, endpoint in cases.items():
            times, codes, lines = [], set(), set()
            for _ in range(RUNS):
                code, seconds, stderr = cli(
                    {**env, "HF_ENDPOINT": endpoint}, "check-updates", "-c", str(config)
                )
                times.append(seconds)
                codes.add(code)
                lines.add(sum(1 for line in stderr.splitlines() if line.startswith("error:")))
            worst = max(times)
            ok = codes == {6} and lines == {1} and worst < TARGET_S
            failed |= not ok
            print(
                f"{name:<24} {','.join(map(str, sorted(codes))):>4} {min(times):7.2f} "
                f"{worst:7.2f} {','.join(map(str, sorted(lines))):>11}"
                f"{'' if ok else '  MISSED (target: exit 6, 1 line, < 5 s)'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
