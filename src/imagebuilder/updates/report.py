"""A proposal as a table (stdout), or as Markdown for a pull-request body.

Pure functions. Names, paths and summaries come from the Hub, so every value is escaped
before it lands in Markdown: a file name must not be able to add links, HTML or rows.
"""

from __future__ import annotations

import re

from rich.table import Table

from imagebuilder.project.config import check_repo_id, is_commit_sha
from imagebuilder.updates.proposal import Change, FileRef, Proposal

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# GitHub turns "@name" after a non-word character into a mention (a notification, a team
# ping); a word joiner after the "@" keeps the text and drops the mention.
_MENTION = re.compile(r"(?<!\w)@(?=\w)")


def md(text: str) -> str:
    """Text safe inside a Markdown table cell: specials escaped, control characters gone."""
    text = _CONTROL.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u2060", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def size_text(size: int | None) -> str:
    if size is None:
        return "-"
    magnitude = abs(size)
    if magnitude >= 1e8:
        return f"{size / 1e9:.2f} GB"
    if magnitude >= 1e5:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e3:.1f} kB" if magnitude >= 1e3 else f"{size} B"


def delta_text(delta: int | None) -> str:
    if not delta:
        return "-" if delta is None else "0"
    sign = "+" if delta > 0 else "-"
    return sign + size_text(abs(delta))


def _pin(ref: FileRef) -> str:
    return f"{(ref.commit or '-')[:8]} sha256 {(ref.sha256 or '-')[:8]}"


def _name(ref: FileRef, other: FileRef) -> str:
    """The file's base name, with its repo when the repo is what changes."""
    base = ref.path.rsplit("/", 1)[-1]
    return f"{ref.repo}: {base}" if ref.repo != other.repo else base


def _row(change: Change) -> tuple[str, str, str, str, str, str]:
    current = _name(change.current, change.proposed)
    proposed = _name(change.proposed, change.current)
    if not change.edits_config:  # same path: what changed is the commit and the bytes
        current, proposed = _pin(change.current), _pin(change.proposed)
    why = change.why + (f" [{change.compat.value}]" if change.compat.value != "unknown" else "")
    return change.entry, current, proposed, change.kind.value, delta_text(change.size_delta), why


def table(proposal: Proposal) -> Table:
    """entry, current, proposed, kind, size delta, why: changes, then options, then problems."""
    result = Table(title="check-updates")
    result.add_column("entry", no_wrap=True)
    result.add_column("current", overflow="fold")
    result.add_column("proposed", overflow="fold")
    result.add_column("kind", no_wrap=True)
    result.add_column("size delta", no_wrap=True, justify="right")
    result.add_column("why", overflow="fold", ratio=1)
    for change in proposal.changes:
        result.add_row(*_row(change))
    for option in proposal.options:
        entry, current, proposed, kind, delta, why = _row(option)
        result.add_row(entry, current, proposed, f"option: {kind}", delta, why, style="dim")
    for problem in proposal.problems:
        result.add_row(problem.entry, "-", "-", "error", "-", problem.error.render(), style="red")
    for name in proposal.up_to_date:
        result.add_row(name, "-", "-", "up-to-date", "-", "")
    return result


def _commit_link(ref: FileRef, endpoint: str) -> str:
    """A link to the commit on the Hub; plain text unless repo and commit are well-formed."""
    if not ref.commit:
        return "-"
    date = f" ({ref.date:%Y-%m-%d})" if ref.date else ""
    try:
        check_repo_id(ref.repo)
    except ValueError:
        return md(ref.commit[:12]) + date
    if not is_commit_sha(ref.commit):
        return md(ref.commit[:12]) + date
    return f"[`{ref.commit[:8]}`]({endpoint}/{ref.repo}/commit/{ref.commit}){date}"


def _file_cell(ref: FileRef) -> str:
    return f"{md(ref.repo)}/{md(ref.path)}"


def markdown(proposal: Proposal, endpoint: str) -> str:
    """A pull-request body: what changes and why, Hub commit links, header summaries."""
    lines = ["## Model updates", ""]
    if not proposal.changes:
        lines += ["Everything pinned is up to date.", ""]
    else:
        lines += [
            "| entry | kind | current | proposed | commits | size delta | compatibility |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in proposal.changes:
            commits = f"{_commit_link(c.current, endpoint)} → {_commit_link(c.proposed, endpoint)}"
            lines.append(
                f"| {md(c.entry)} | {c.kind.value} | {_file_cell(c.current)} | "
                f"{_file_cell(c.proposed)} | {commits} | {delta_text(c.size_delta)} | "
                f"{c.compat.value} |"
            )
        lines += ["", "### Why", ""]
        lines += [f"- **{md(c.entry)}**: {md(c.why)}" for c in proposal.changes]
        headers = [c for c in proposal.changes if c.header]
        if headers:
            lines += ["", "### Headers of the proposed files", ""]
            lines += [f"- **{md(c.entry)}**: {md(c.header or '')}" for c in headers]
        lines.append("")
    if proposal.options:
        lines += ["### Other options (not applied)", ""]
        lines += [
            f"- **{md(o.entry)}** ({o.kind.value}): {_file_cell(o.proposed)}: {md(o.why)}"
            for o in proposal.options
        ]
        lines.append("")
    if proposal.problems:
        lines += ["### Entries that could not be checked", ""]
        lines += [f"- **{md(p.entry)}**: {md(p.error.render())}" for p in proposal.problems]
        lines.append("")
    lines.append("Generated by `imagebuilder check-updates`; applied with `imagebuilder update`.")
    return "\n".join(lines) + "\n"
