"""Replay the README quickstart against the loopback Hub; print or paste what each command says.

    uv run python scripts/quickstart-demo.py [--columns N] [--write]

The README's quickstart output comes from this script, so it is real output, not typed
by hand. `--write` puts it into README.md (between its GENERATED quickstart markers);
after a change to a command's output, run it again.

The loopback Hub (tests/hubserver) starts as the 2509 stack the shipped models.yaml
names (full-size virtual files: only headers are ever read). After the first
check-updates it gains the 2511 release and its Lightning LoRA repo, as the real Hub did
in December 2025, so the second check-updates has something to propose. The commands
run in a temporary copy of the project, with the Hub's address shown as
`http://127.0.0.1:8123` whatever port it got.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "updates"))

from test_scenarios import add_2511_lora_repo, add_2511_release  # noqa: E402

from hubserver.server import HubServer  # noqa: E402
from imagebuilder.docgen.markdown import splice  # noqa: E402

SHOWN_ENDPOINT = "http://127.0.0.1:8123"
PROJECT_FILES = ("models.yaml", "workflows", "templates")
REGENERATE = "uv run python scripts/quickstart-demo.py --write"


class Session:
    def __init__(self, project: Path, endpoint: str, columns: int) -> None:
        self.project, self.endpoint, self.columns = project, endpoint, columns

    def __call__(self, *args: str) -> str:
        """Run one command; return it as a terminal shows it, with its exit status."""
        env = {
            **os.environ,
            "HF_ENDPOINT": self.endpoint,
            "HF_TOKEN": "",
            "COLUMNS": str(self.columns),
        }
        env.pop("GITHUB_ACTIONS", None)
        # The console script of this environment, as `uv run imagebuilder` would start it.
        command = [sys.executable, "-c", "from imagebuilder.cli import run; run()", *args]
        done = subprocess.run(
            command, cwd=self.project, env=env, capture_output=True, text=True, check=False
        )
        lines = [f"$ imagebuilder {' '.join(args)}"]
        for stream in (done.stderr, done.stdout):  # progress first, as a terminal shows it
            text = stream.replace(self.endpoint, SHOWN_ENDPOINT).replace(str(self.project), ".")
            lines += text.rstrip("\n").splitlines() if text.strip() else []
        lines.append(f"[exit {done.returncode}]")
        return "\n".join(lines)


def without_table(transcript: str, note: str) -> str:
    """`update` prints check-updates' table again: show it once in the README."""
    lines = transcript.splitlines()
    starts = ("┏", "check-updates")
    first = next((i for i, line in enumerate(lines) if line.startswith(starts)), None)
    last = next((i for i, line in enumerate(lines) if line.startswith("└")), None)
    if first is None or last is None:
        return transcript
    return "\n".join([*lines[:first], note, *lines[last + 1 :]])


def copy_project(into: Path) -> None:
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name)
        else:
            shutil.copy(source, into / name)


def transcripts(columns: int) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp, HubServer("qwen_2509") as hub:
        project = Path(tmp)
        copy_project(project)
        imagebuilder = Session(project, hub.url, columns)
        blocks = {
            "quickstart-validate": imagebuilder("validate"),
            "quickstart-lock": imagebuilder("lock"),
            "quickstart-check": imagebuilder("check-updates"),
        }
        add_2511_release(hub)
        add_2511_lora_repo(hub)
        blocks["quickstart-check-2511"] = imagebuilder("check-updates")
        update = without_table(imagebuilder("update"), "[... the table above ...]")
        blocks["quickstart-update"] = update + "\n" + imagebuilder("validate")
        blocks["quickstart-render"] = imagebuilder("render")
        return blocks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=80, help="terminal width (default 80)")
    parser.add_argument("--write", action="store_true", help="paste into README.md")
    args = parser.parse_args(argv)
    blocks = transcripts(args.columns)
    if not args.write:
        print("\n\n".join(blocks.values()))
        return 0
    readme = ROOT / "README.md"
    fenced = {name: f"```console\n{text}\n```" for name, text in blocks.items()}
    readme.write_text(splice(readme.read_text(), fenced, regenerate=REGENERATE, tight=True))
    print(f"wrote {len(blocks)} blocks into README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
