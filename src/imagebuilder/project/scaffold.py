"""`imagebuilder init`: a new project folder from the shipped stack or a worked example.

A project is models.yaml, its workflow templates (workflows/*.json) and the node schema
snapshot they are checked against (workflows/schema/). The sources ship with the tool
(the wheel carries them under imagebuilder/; a checkout has them at the repository
root), so an installed imagebuilder scaffolds the same files a checkout has. Nothing is
overwritten: existing files are reported and the folder is left as it was.
"""

from __future__ import annotations

from pathlib import Path

from imagebuilder.errors import ConfigError
from imagebuilder.project.atomic import atomic_write_bytes

# Stack name -> (models.yaml, workflows folder), relative to the data root.
STACKS: dict[str, tuple[str, str]] = {
    "qwen-image-edit": ("models.yaml", "workflows"),
    "flux-kontext": ("examples/flux-kontext/models.yaml", "examples/flux-kontext/workflows"),
    "wan2.2-i2v": ("examples/wan2.2-i2v/models.yaml", "examples/wan2.2-i2v/workflows"),
}
DEFAULT_STACK = "qwen-image-edit"


def data_root() -> Path:
    """Where the shipped stacks are: the wheel's package data, else the checkout."""
    installed = Path(__file__).parents[1]
    if (installed / "models.yaml").is_file():
        return installed
    return Path(__file__).parents[3]


def stack_files(stack: str, root: Path | None = None) -> dict[str, bytes]:
    """Project-relative path -> bytes of every file the stack's project holds."""
    if stack not in STACKS:
        raise ConfigError(
            f"unknown stack {stack!r}",
            hint=f"one of: {', '.join(STACKS)}; or `imagebuilder import-template` for a "
            "ComfyUI template",
        )
    base = root or data_root()
    config, workflows = (base / part for part in STACKS[stack])
    files = {"models.yaml": config.read_bytes()}
    for path in sorted(workflows.rglob("*.json")):
        files[f"workflows/{path.relative_to(workflows).as_posix()}"] = path.read_bytes()
    return files


def write_project(folder: Path, files: dict[str, bytes]) -> list[str]:
    """Write every file (atomically each) into ``folder``; refuses if any exists."""
    existing = sorted(name for name in files if (folder / name).exists())
    if existing:
        raise ConfigError(
            f"{len(existing)} file(s) already exist: {', '.join(existing[:5])}",
            location=str(folder),
            hint="run init in an empty folder, or pass another folder",
        )
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
    return sorted(files)
