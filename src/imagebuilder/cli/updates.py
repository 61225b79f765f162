"""check-updates and update: find newer pins, and apply them to models.yaml and the lock."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption, load, make_hub

if TYPE_CHECKING:
    from imagebuilder.project.config import Config
    from imagebuilder.project.engine import EngineCatalog, EngineSearch
    from imagebuilder.updates.proposal import Proposal

MarkdownOption = Annotated[
    bool, typer.Option("--markdown", help="Print a Markdown summary (a pull-request body).")
]
MarkdownOut = Annotated[
    Path | None,
    typer.Option("--markdown-out", help="Also write the Markdown summary to this file."),
]
EntriesArgument = Annotated[
    list[str] | None, typer.Argument(help="Entries to update (default: every proposed change).")
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Show the diff of models.yaml and the lock; write nothing."),
]
LongOption = Annotated[
    bool,
    typer.Option(
        "--long", "-l", help="Below the table: every file's repo, path, commit, sha256 and date."
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Fail the entry when an extra source (updates.repos, updates.search) cannot be "
        "read; by default it is skipped with a warning and the other sources are checked.",
    ),
]


def _width() -> int:
    """The terminal's columns (COLUMNS when set); 80 when stdout is not a terminal."""
    return shutil.get_terminal_size().columns


def _print_table(proposal: Proposal, title: str, long: bool) -> None:
    from imagebuilder.cli._updates_table import render
    from imagebuilder.updates.report import engine_line

    output.stdout.out(render(proposal, title=title, width=_width(), long=long), end="")
    line = engine_line(proposal)
    if line:
        output.stdout.print(line, markup=False, highlight=False)


def _log_findings(proposal: Proposal, has_lock: bool) -> None:
    """stderr, after the result: notes, then warnings (each once), then the one hint."""
    from imagebuilder.cli._updates_table import lock_hint

    for note in proposal.notes:
        output.note(note)
    for problem in proposal.problems:  # also on stderr: a table or JSON can be piped away
        output.warn(problem.error.render())
    for skipped in proposal.skipped_sources:
        output.warn(
            f"skipped source {skipped.source} ({', '.join(skipped.entries)}): "
            f"{skipped.error.message}; checked the other sources (--strict fails instead)"
        )
    hint = lock_hint(proposal, has_lock)
    if hint:
        output.log(f"hint: {hint}")


def engine_catalog(config: Config) -> EngineCatalog | None:
    """Where newer engines are looked for, when the engine is pinned: the base's registry,
    and ComfyUI's releases (what the newest base tags may lag behind)."""
    from imagebuilder.oci.base_tags import BaseTagCatalog

    settings = config.image.comfyui
    if settings is None:
        return None
    return _WithReleases(BaseTagCatalog(config.image), settings.releases_api)


class _WithReleases:
    def __init__(self, inner: EngineCatalog, api: str) -> None:
        self.inner, self.api = inner, api

    def search(self) -> EngineSearch:
        from dataclasses import replace

        from imagebuilder.comfy.releases import newest_release
        from imagebuilder.errors import ImageBuilderError

        found = self.inner.search()
        try:
            release = newest_release(self.api)
        except ImageBuilderError as error:
            note = f"engine: ComfyUI's releases could not be read ({error.message})"
            return replace(found, notes=(*found.notes, note))
        if release is None:
            return found
        note = f"engine: the newest ComfyUI release is {release.label}"
        return replace(found, newest_release=release.label, notes=(*found.notes, note))


def check_updates(  # noqa: PLR0917 (a CLI command: one parameter per option)
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
    as_markdown: MarkdownOption = False,
    markdown_out: MarkdownOut = None,
    long: LongOption = False,
    strict: StrictOption = False,
) -> None:
    """Find content changes, newer releases, LoRAs for a new base and renamed repos.

    Works without a lock too (it compares what models.yaml names with the Hub). Exit 0
    when up to date, 100 when updates are available, an error's code otherwise.
    """
    from imagebuilder.cli._updates_table import summary
    from imagebuilder.errors import ExitCode
    from imagebuilder.project.atomic import atomic_write_text
    from imagebuilder.updates.check import check_updates as run_check
    from imagebuilder.updates.report import markdown

    if as_json and as_markdown:
        raise typer.BadParameter(
            "--json and --markdown both choose what goes to stdout: pick one "
            "(--json with --markdown-out FILE gives both)",
            param_hint="--markdown",
        )
    loaded, _lock_file, lock = load(config)
    hub = make_hub()
    output.log(f"checking {len(loaded.config.models)} entries on {hub.endpoint} ...")
    proposal = run_check(
        loaded.config, lock, hub, locate=loaded.where, strict=strict,
        engines=engine_catalog(loaded.config),
    )  # fmt: skip
    if as_json:
        output.emit_json(proposal.as_dict())
    elif as_markdown:
        output.stdout.out(markdown(proposal, hub.endpoint), end="", highlight=False)
    else:
        _print_table(proposal, f"check-updates: {summary(proposal)}", long)
    _log_findings(proposal, lock is not None)
    if markdown_out is not None:
        atomic_write_text(markdown_out, markdown(proposal, hub.endpoint))
    code = proposal.exit_code()
    if code is not ExitCode.OK:
        raise typer.Exit(code=int(code))


def update(  # noqa: PLR0917 (a CLI command: one parameter per option)
    entries: EntriesArgument = None,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: DryRun = False,
    as_json: JsonOption = False,
    markdown_out: MarkdownOut = None,
    long: LongOption = False,
    strict: StrictOption = False,
) -> None:
    """Apply the proposal: rewrite changed values in models.yaml and refresh the lock.

    Comments and layout of models.yaml stay byte-for-byte; both files are written
    atomically. Options (fewer steps, newer LoRA versions) are never applied.
    """
    from imagebuilder.project.atomic import atomic_write_text
    from imagebuilder.updates.applying import propose_update, require_unmoved, write_update
    from imagebuilder.updates.proposal import Proposal
    from imagebuilder.updates.report import markdown

    loaded, lock_file, lock = load(config)
    _require_entries(entries or [], loaded.config)  # a typo fails before any Hub request
    hub = make_hub()
    output.log(f"checking {len(loaded.config.models)} entries on {hub.endpoint} ...")
    proposal, planned = propose_update(
        loaded, lock_file, lock, entries or [], hub, strict=strict,
        engines=engine_catalog(loaded.config),
    )  # fmt: skip
    if planned is not None and not dry_run:
        require_unmoved(planned, hub)  # exactly what the proposal shows, or nothing
        write_update(planned)
    if markdown_out is not None:
        atomic_write_text(markdown_out, markdown(proposal, hub.endpoint))
    result = {
        "dry_run": dry_run,
        "applied": [c.as_dict() for c in proposal.changes],
        "config_changed": planned.config_changed if planned else False,
        "lock_changed": planned.lock_changed if planned else False,
        "options": [c.as_dict() for c in proposal.options],  # held back, never applied
        "problems": [p.as_dict() for p in proposal.problems],
        "notes": list(proposal.notes),
        "diff": planned.diff() if planned else "",
    }

    def human() -> None:
        if planned is None:
            output.stdout.print("update: nothing to update")
        elif dry_run:
            output.stdout.out(planned.diff(), end="", highlight=False)
        else:
            written = [
                p.name
                for p, changed in (
                    (planned.config_path, planned.config_changed),
                    (planned.lock_path, planned.lock_changed),
                )
                if changed
            ]
            count = len(proposal.changes)
            title = f"update: {count} change{'s' if count != 1 else ''} applied"
            title += f", wrote {', '.join(written) or 'nothing'}"
            applied = Proposal(changes=proposal.changes, pins=proposal.pins)
            _print_table(applied, title, long)

    output.emit(result, as_json, human)
    _log_findings(proposal, lock is not None or planned is not None)
    if proposal.problems:
        raise typer.Exit(code=int(proposal.exit_code()))


def _require_entries(names: list[str], config: Config) -> None:
    """Entry names on the command line are arguments: a typo is a usage error (exit 2)."""
    unknown = [name for name in dict.fromkeys(names) if name not in config.models]
    if not unknown:
        return
    guesses = difflib.get_close_matches(unknown[0], list(config.models), n=1)
    guess = f" (did you mean {guesses[0]!r}?)" if guesses else ""
    raise typer.BadParameter(
        f"no entry named {', '.join(map(repr, unknown))} in models.yaml{guess}; "
        f"entries: {', '.join(config.models)}",
        param_hint="ENTRIES",
    )


def register(app: typer.Typer) -> None:
    app.command("check-updates")(check_updates)
    app.command()(update)
