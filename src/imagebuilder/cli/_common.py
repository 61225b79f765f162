"""Options and helpers shared by the commands.

Light on purpose: every command module imports this at start-up (``--help`` builds every
command's options), so domain modules are imported inside the helpers, when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.project.paths import DEFAULT_CONFIG

if TYPE_CHECKING:
    from imagebuilder.hub.client import Hub
    from imagebuilder.project.load import LoadedConfig
    from imagebuilder.project.lock import Lock

__all__ = ["DEFAULT_CONFIG", "ConfigOption", "JsonOption", "load", "load_locked", "make_hub"]

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="Path to models.yaml.", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
# The image options `build` and `build-variants` share (one spelling, one help text).
ImageOption = Annotated[
    str | None, typer.Option("--image", help="Repository to tag (default: image.name).")
]
ImageVersionOption = Annotated[str, typer.Option("--image-version", help="OCI version label.")]
RevisionOption = Annotated[str | None, typer.Option(help="OCI revision label.")]
SourceOption = Annotated[str | None, typer.Option(help="OCI source label.")]


def load(config_path: Path) -> tuple[LoadedConfig, Path, Lock | None]:
    """models.yaml (validated, with line numbers), the lock's path, and the lock if any."""
    from imagebuilder.project.load import load_config
    from imagebuilder.project.lock import load_lock, lock_path_for

    loaded = load_config(config_path)
    lock_file = lock_path_for(config_path)
    return loaded, lock_file, load_lock(lock_file)


def load_locked(config_path: Path) -> tuple[LoadedConfig, Path, Lock]:
    """models.yaml and its lock, which must match it (LockDriftError otherwise)."""
    from imagebuilder.project.lock import require_current

    loaded, lock_file, lock = load(config_path)
    return loaded, lock_file, require_current(loaded.config, lock, lock_file)


def warn_without_workflows(config_path: Path) -> None:
    """An image made from a folder without workflows/ serves no workflow: say so, since
    the worker then answers every job with ComfyUI's defaults or nothing at all."""
    from imagebuilder.cli import output

    templates = config_path.resolve().parent / "workflows"
    if not templates.is_dir() or not any(templates.glob("*.json")):
        output.warn(
            f"{templates} holds no workflow templates: the image will serve no workflows "
            "(`imagebuilder init --stack NAME` or `imagebuilder import-template` writes them)"
        )


def make_hub() -> Hub:
    from imagebuilder.hub.client import Hub

    return Hub()


def parse_steps(text: str | None) -> list[int] | None:
    """`--steps 4,3,2` as numbers; a usage error (exit 2) for anything else."""
    if not text:
        return None
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter("--steps takes whole numbers such as 4,3,2") from None
    if not steps or any(s < 1 or s > 200 for s in steps):
        raise typer.BadParameter("--steps takes numbers from 1 to 200, such as 4,3,2")
    return steps
