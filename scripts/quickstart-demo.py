"""Replay the README quickstart against the loopback Hub and print what each command says.

The README's quickstart output comes from this script, so it is real output, not typed
by hand: after a change to a command's output, run it again and paste the transcript.

    uv run python scripts/quickstart-demo.py [COLUMNS]     (default 80)

The loopback Hub (tests/hubserver) starts as the 2509 stack the shipped models.yaml
names (full-size virtual files: only headers are ever read). After the first
check-updates it gains the 2511 release and its Lightning LoRA repo, as the real Hub did
in December 2025, so the second check-updates has something to propose. The commands
run in a temporary copy of the project, at 80 columns, with the Hub's address shown as
`http://127.0.0.1:8123` whatever port it got.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hubserver.server import HubServer  # noqa: E402
from test_updates_scenarios import add_2511_lora_repo, add_2511_release  # noqa: E402

SHOWN_ENDPOINT = "http://127.0.0.1:8123"
PROJECT_FILES = ("models.yaml", "workflows", "templates")


def run(project: Path, endpoint: str, *args: str, columns: int = 80) -> None:
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_TOKEN": "", "COLUMNS": str(columns)}
    env.pop("GITHUB_ACTIONS", None)
    command = [shutil.which("imagebuilder") or "imagebuilder", *args]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    print(f"$ imagebuilder {' '.join(args)}")
    for stream in (done.stderr, done.stdout):  # progress first, as a terminal shows it
        text = stream.replace(endpoint, SHOWN_ENDPOINT).replace(str(project), ".")
        if text:
            print(text, end="" if text.endswith("\n") else "\n")
    print(f"[exit {done.returncode}]\n")


def copy_project(into: Path) -> None:
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name)
        else:
            shutil.copy(source, into / name)


def main(argv: list[str]) -> None:
    columns = int(argv[0]) if argv else 80
    with tempfile.TemporaryDirectory() as tmp, HubServer("qwen_2509") as hub:
        project = Path(tmp)
        copy_project(project)

        def imagebuilder(*args: str) -> None:
            run(project, hub.url, *args, columns=columns)

        imagebuilder("validate")
        imagebuilder("lock")
        imagebuilder("check-updates")
        add_2511_release(hub)
        add_2511_lora_repo(hub)
        print("# (the Hub gains the 2511 release and its Lightning LoRA)\n")
        imagebuilder("check-updates")
        imagebuilder("update")
        imagebuilder("validate")
        imagebuilder("render")


if __name__ == "__main__":
    main(sys.argv[1:])
