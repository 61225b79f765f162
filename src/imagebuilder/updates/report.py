"""A proposal as Markdown for a pull-request body (the terminal table is the CLI's).

Pure functions. Names, paths and summaries come from the Hub, so every value is escaped
before it lands in Markdown: a file name must not be able to add links, HTML or rows.
"""

from __future__ import annotations

import re

from imagebuilder.project.values import check_repo_id, is_commit_sha
from imagebuilder.updates.proposal import FileRef, Proposal

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


def _no_changes(proposal: Proposal) -> str:
    """The verdict when nothing is proposed: "up to date" only when everything was checked."""
    if proposal.problems or proposal.skipped_sources:
        return "No update found in what could be checked; some of it could not be (see below)."
    if proposal.unlocked:
        return "Nothing newer than what models.yaml names."
    return "Everything pinned is up to date."


def engine_line(proposal: Proposal) -> str | None:
    """One sentence: the engine moves, from what to what, and why (None: it does not)."""
    engine = proposal.engine
    if engine is None:
        return None
    return (
        f"engine: {engine.current.label} -> {engine.proposed.engine.label}, base "
        f"{engine.current_base} -> {engine.proposed.base}: {engine.why}"
    )


def engine_section(proposal: Proposal) -> list[str]:
    engine = proposal.engine
    if engine is None:
        return []
    return [
        "### Engine (ComfyUI)",
        "",
        f"- **{md(engine.current.label)} → {md(engine.proposed.engine.label)}**: base "
        f"`{md(engine.current_base)}` → `{md(engine.proposed.base)}`",
        f"- why: {md(engine.why)}",
        "",
    ]


def markdown(proposal: Proposal, endpoint: str) -> str:
    """A pull-request body: what changes and why, Hub commit links, header summaries."""
    lines = ["## Model updates", ""]
    if not proposal.changes:
        lines += [_no_changes(proposal), ""]
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
    lines += engine_section(proposal)
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
    if proposal.skipped_sources:
        lines += ["### Sources that could not be read", ""]
        lines += [
            f"- {md(s.source)} (for {md(', '.join(s.entries))}): {md(s.error.message)}; "
            "the other sources were checked"
            for s in proposal.skipped_sources
        ]
        lines.append("")
    if proposal.unlocked:
        names = md(", ".join(proposal.unlocked))
        lines += [f"Not in the lock yet: {names} (`imagebuilder lock` pins the current files).", ""]
    lines.append("Generated by `imagebuilder check-updates`; applied with `imagebuilder update`.")
    return "\n".join(lines) + "\n"
