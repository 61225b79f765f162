"""validate, schema and lock: the pinned stack and its lock (check-updates: cli.updates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption, load, make_hub
from imagebuilder.project.paths import SCHEMA_PATH

if TYPE_CHECKING:
    from imagebuilder.project.config import ImageSettings
    from imagebuilder.project.engine import EngineLock


def validate(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Check models.yaml (schema, repo ids, paths, duplicates, pickle formats) and the lock."""
    from imagebuilder.comfy.project import workflow_summary
    from imagebuilder.project.lock import drift

    loaded, lock_file, lock = load(config)
    notes = drift(loaded.config, lock) if lock is not None else []
    workflows = workflow_summary(loaded.config, config)  # WorkflowError: exit 11
    output.warn_each(w.render() for w in workflows.warnings)
    result = {
        "config": str(config),
        "models": len(loaded.config.models),
        "lock": str(lock_file) if lock is not None else None,
        "lock_drift": notes,
        "valid": True,
        "workflows": workflows.as_dict(),
    }

    def human() -> None:
        output.stdout.print(f"{config}: valid ({len(loaded.config.models)} models)")
        if lock is None:
            output.stdout.print(f"{lock_file.name}: none yet (run `imagebuilder lock`)")
        elif notes:
            output.stdout.print(f"{lock_file.name}: out of date: " + "; ".join(notes))
        else:
            output.stdout.print(f"{lock_file.name}: valid, matches models.yaml")

    output.emit(result, as_json, human)


def schema(
    write: Annotated[
        bool, typer.Option("--write", help=f"Write {SCHEMA_PATH} instead of printing.")
    ] = False,
) -> None:
    """Print (or write) the JSON Schema of models.yaml for editors."""
    from imagebuilder.project.atomic import atomic_write_text
    from imagebuilder.project.schema import models_schema_text

    text = models_schema_text()
    if write:
        atomic_write_text(SCHEMA_PATH, text)
        output.log(f"wrote {SCHEMA_PATH}")
    else:
        output.stdout.out(text, end="")


def _pin_engine(image: ImageSettings, previous: EngineLock | None) -> EngineLock | None:
    """The lock's engine record: a base image's read from its registry, an installed
    release's commit from the releases endpoint (each only when it changed)."""
    from imagebuilder.comfy.engine_release import pin_release
    from imagebuilder.oci.engine_pin import pin_engine
    from imagebuilder.project.engine import EngineSource

    settings = image.comfyui
    if settings is not None and settings.source is EngineSource.RELEASE:
        output.log(f"pinning ComfyUI {settings.version} ({settings.releases_api}) ...")
        return pin_release(settings, image.base, previous)
    if settings is not None:
        output.log(f"reading the base image's ComfyUI ({image.base}) ...")
    return pin_engine(image, previous)


def lock(
    config: ConfigOption = DEFAULT_CONFIG,
    check: Annotated[
        bool, typer.Option("--check", help="Fail if models.yaml and the lock disagree.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Pin every entry to an immutable commit, sha256 and size (no download)."""
    from rich.table import Table

    from imagebuilder.hub.resolve import relock
    from imagebuilder.project.lock import record_lock, require_current

    loaded, lock_file, previous = load(config)
    if check:
        current = require_current(loaded.config, previous, lock_file)
        output.emit(
            {"lock": str(lock_file), "current": True, "models": len(current.models)},
            as_json,
            lambda: output.stdout.print(f"{lock_file}: matches {config}"),
        )
        return
    output.log(f"resolving {len(loaded.config.models)} entries on the Hub ...")
    new_lock = relock(loaded.config, make_hub(), previous)
    engine = _pin_engine(loaded.config.image, previous.engine if previous else None)
    new_lock = new_lock.model_copy(update={"engine": engine})
    changed = record_lock(config, new_lock, config_text=loaded.source.text)

    def human() -> None:
        table = Table("entry", "commit", "sha256", "size")
        for name, entry in new_lock.models.items():
            table.add_row(name, entry.commit[:12], entry.sha256[:16], f"{entry.size:,}")
        output.stdout.print(table)
        if engine is not None:
            read = f", {engine.bytes_read:,} bytes read" if engine.bytes_read else ""
            origin = engine.sources.get("repository") or engine.base
            output.stdout.print(f"engine: {engine.label} from {origin}{read}", markup=False)
        output.stdout.print(f"{lock_file}: {'written' if changed else 'unchanged'}")

    output.emit(
        {
            "lock": str(lock_file),
            "changed": changed,
            "models": new_lock.model_dump(mode="json", exclude_none=True)["models"],
            "engine": engine.model_dump(mode="json") if engine else None,
        },
        as_json,
        human,
    )


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)
    app.command()(lock)
