"""check-updates and update: find newer pins, and apply them to models.yaml and the lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption, load, make_hub

if TYPE_CHECKING:
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


def _report(proposal: Proposal, as_json: bool, as_markdown: bool, endpoint: str) -> None:
    from imagebuilder.updates.report import markdown, table

    if as_json:
        output.emit_json(proposal.as_dict())
    elif as_markdown:
        output.stdout.out(markdown(proposal, endpoint), end="", highlight=False)
    else:
        output.stdout.print(table(proposal))
    for note in proposal.notes:
        output.log(f"note: {note}")
    for problem in proposal.problems:  # also on stderr: a table or JSON can be piped away
        output.warn(problem.error.render())


def check_updates(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
    as_markdown: MarkdownOption = False,
    markdown_out: MarkdownOut = None,
) -> None:
    """Find content changes, newer releases, LoRAs for a new base and renamed repos.

    Exit 0 when up to date, 100 when updates are available, an error's code otherwise.
    """
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
    proposal = run_check(loaded.config, lock, hub, locate=loaded.where)
    _report(proposal, as_json, as_markdown, hub.endpoint)
    if markdown_out is not None:
        atomic_write_text(markdown_out, markdown(proposal, hub.endpoint))
    code = proposal.exit_code()
    if code is not ExitCode.OK:
        raise typer.Exit(code=int(code))


def update(
    entries: EntriesArgument = None,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: DryRun = False,
    as_json: JsonOption = False,
    markdown_out: MarkdownOut = None,
) -> None:
    """Apply the proposal: rewrite changed values in models.yaml and refresh the lock.

    Comments and layout of models.yaml stay byte-for-byte; both files are written
    atomically. Options (fewer steps, newer LoRA versions) are never applied.
    """
    from imagebuilder.project.atomic import atomic_write_text
    from imagebuilder.updates.applying import propose_update, require_entries, write_update
    from imagebuilder.updates.proposal import Proposal
    from imagebuilder.updates.report import markdown, table

    loaded, lock_file, lock = load(config)
    require_entries(entries or [], loaded.config)  # a typo fails before any Hub request
    hub = make_hub()
    output.log(f"checking {len(loaded.config.models)} entries on {hub.endpoint} ...")
    proposal, planned = propose_update(loaded, lock_file, lock, entries or [], hub)
    for problem in proposal.problems:
        output.warn(problem.error.render())
    if markdown_out is not None:
        atomic_write_text(markdown_out, markdown(proposal, hub.endpoint))
    if planned is not None and not dry_run:
        write_update(planned)
    result = {
        "dry_run": dry_run,
        "applied": [c.as_dict() for c in proposal.changes],
        "config_changed": planned.config_changed if planned else False,
        "lock_changed": planned.lock_changed if planned else False,
        "problems": [p.as_dict() for p in proposal.problems],
        "diff": planned.diff() if planned else "",
    }

    def human() -> None:
        if planned is None:
            output.stdout.print("nothing to update")
        elif dry_run:
            output.stdout.out(planned.diff(), end="", highlight=False)
        else:
            output.stdout.print(table(Proposal(changes=proposal.changes)))
            written = [
                p.name
                for p, changed in (
                    (planned.config_path, planned.config_changed),
                    (planned.lock_path, planned.lock_changed),
                )
                if changed
            ]
            output.stdout.print(f"updated: {', '.join(written) or 'nothing'}")

    output.emit(result, as_json, human)
    if proposal.problems:
        raise typer.Exit(code=int(proposal.exit_code()))


def register(app: typer.Typer) -> None:
    app.command("check-updates")(check_updates)
    app.command()(update)
