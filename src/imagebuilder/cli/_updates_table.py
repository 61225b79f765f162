"""check-updates and update as a terminal table: one line per entry, at any width.

Pure functions over a proposal and a width, laid out like ``npm outdated``: entry,
current, proposed, kind. Cells are file names without folder and ``.safetensors``,
shortened around what differs between the two sides, and 8-hex commits where the
commit is what changed; whatever is cut shows in the details below the table (the why
of each change) or, with ``long``, the full repo, path, commit, sha256, size and date.
Names come from the Hub: control characters never reach the terminal.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from imagebuilder.updates.proposal import Change, FileRef, Proposal
from imagebuilder.updates.report import delta_text, size_text

MIN_WIDTH = 60  # below this, cells become unreadable: lay out as if 60 columns wide
ELLIPSIS = "…"
_GAP = "  "
_SUFFIX = ".safetensors"
_MAX_ENTRY = 24  # a longer entry name is shortened in the table, in full in the details
_MIN_ENTRY = 12
_MIN_FILES = 2 * len("proposed")
_KIND = "kind"
_MIN_TAIL = 6  # keep at least this much of a name's end next to its differing token


@dataclass(frozen=True)
class _Row:
    entry: str
    current: FileRef | None
    proposed: FileRef | None
    kind: str


def _clean(text: str) -> str:
    return "".join("?" if ord(c) < 32 or 0x7F <= ord(c) <= 0x9F else c for c in text)


def short_name(path: str) -> str:
    """``split_files/vae/qwen_image_vae.safetensors`` -> ``qwen_image_vae``."""
    base = _clean(path).rsplit("/", 1)[-1]
    return base[: -len(_SUFFIX)] if base.endswith(_SUFFIX) else base


_SEPARATORS = "-_./ "


def difference(text: str, other: str | None) -> tuple[int, int] | None:
    """The span of ``text`` that differs from ``other``, widened to whole tokens
    (``Qwen-Image-Edit-2509-Lightning`` vs ``...-2511-...`` -> the span of ``2509``)."""
    if other is None or other == text:
        return None
    start = 0
    while start < min(len(text), len(other)) and text[start] == other[start]:
        start += 1
    end, other_end = len(text), len(other)
    while end > start and other_end > start and text[end - 1] == other[other_end - 1]:
        end, other_end = end - 1, other_end - 1
    while start > 0 and text[start - 1] not in _SEPARATORS:
        start -= 1
    while end < len(text) and text[end] not in _SEPARATORS:
        end += 1
    return start, max(end, start + 1)


def fit(text: str, width: int, focus: tuple[int, int] | None = None) -> str:
    """``text`` in ``width`` characters. The end is kept (precision, steps and version sit
    there); when ``focus`` (what differs from the other side) falls outside it, the
    focus is kept too: ``…2509…steps-V1.0-bf16``."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    tail_start = len(text) - (width - 1)  # "…" + the last width-1 characters
    if focus is None or focus[0] >= tail_start:
        return ELLIPSIS + text[tail_start:]
    token = text[focus[0] : focus[1]]
    room = width - len(token) - 2
    if room >= _MIN_TAIL and focus[1] < len(text) - room:
        return ELLIPSIS + token + ELLIPSIS + text[len(text) - room :]
    start = max(0, focus[0] - 1)
    if start == 0:
        return text[: width - 1] + ELLIPSIS
    return ELLIPSIS + text[start : start + width - 2] + ELLIPSIS


def _commit(ref: FileRef) -> str:
    return "@" + (ref.commit or "")[:8] if ref.commit else ""


def _cell(ref: FileRef | None, other: FileRef | None, width: int) -> str:
    if ref is None:
        return "-"
    name = short_name(ref.path)
    other_name = short_name(other.path) if other is not None else None
    commit = _commit(ref)
    same_file = other is not None and (ref.repo, ref.path) == (other.repo, other.path)
    if same_file and commit:  # the commit is what differs: always show it
        if width < len(commit) + 2:
            return commit[:width]
        return fit(name, width - len(commit)) + commit
    return fit(name, width, difference(name, other_name))


def _rows(proposal: Proposal) -> list[_Row]:
    rows = [_Row(c.entry, c.current, c.proposed, c.kind.value) for c in proposal.changes]
    rows += [
        _Row(o.entry, o.current, o.proposed, f"option {o.kind.value}") for o in proposal.options
    ]
    rows += [_Row(p.entry, proposal.pins.get(p.entry), None, "error") for p in proposal.problems]
    unlocked = set(proposal.unlocked)
    for name in proposal.up_to_date:
        kind = "unlocked" if name in unlocked else "up-to-date"
        rows.append(_Row(name, proposal.pins.get(name), None, kind))
    return rows


def _widths(rows: list[_Row], width: int) -> tuple[int, int, int]:
    """Entry, kind and file-name room; a long entry name gives way before the file names."""
    entry = min(_MAX_ENTRY, max([len("entry"), *(len(r.entry) for r in rows)]))
    kind = max([len(_KIND), *(len(r.kind) for r in rows)])
    files = width - entry - kind - 3 * len(_GAP)
    if files < _MIN_FILES:
        entry = max(_MIN_ENTRY, entry - (_MIN_FILES - files))
        files = width - entry - kind - 3 * len(_GAP)
    return entry, kind, max(files, 2)


def _split(rows: list[_Row], room: int) -> tuple[int, int]:
    """Widths of the current and proposed columns: what the names need, at most ``room``.

    A row with nothing proposed spans both columns (its current file, whole if it fits).
    """
    unbounded = 10**6
    paired = [r for r in rows if r.proposed is not None]
    need_current = max(
        [len("current"), *(len(_cell(r.current, r.proposed, unbounded)) for r in paired)]
    )
    need_proposed = max(
        [len("proposed"), *(len(_cell(r.proposed, r.current, unbounded)) for r in paired)]
    )
    alone = [len(_cell(r.current, None, unbounded)) for r in rows if r.proposed is None]
    need_current += max(0, max(alone, default=0) - (need_current + len(_GAP) + need_proposed))
    if need_current + need_proposed <= room:
        return need_current, need_proposed
    half = room // 2
    if need_current <= half:
        return need_current, room - need_current
    if need_proposed <= room - half:
        return room - need_proposed, need_proposed
    return half, room - half


def _line(cells: Iterable[tuple[str, int]]) -> str:
    return _GAP.join(text.ljust(size) for text, size in cells).rstrip()


def table_lines(proposal: Proposal, *, title: str, width: int) -> list[str]:
    """The table: a title line, a header, then exactly one line per row, each <= width."""
    width = max(width, MIN_WIDTH)
    rows = _rows(proposal)
    entry_w, kind_w, files_w = _widths(rows, width)
    current_w, proposed_w = _split(rows, files_w)
    title = _clean(title)
    lines = [title if len(title) <= width else title[: width - 1] + ELLIPSIS]
    header = (("entry", entry_w), ("current", current_w), ("proposed", proposed_w), (_KIND, kind_w))
    lines.append(_line(header))
    span = current_w + len(_GAP) + proposed_w
    for row in rows:
        files = (
            ((_cell(row.current, None, span), span),)
            if row.proposed is None
            else (
                (_cell(row.current, row.proposed, current_w), current_w),
                (_cell(row.proposed, row.current, proposed_w), proposed_w),
            )
        )
        entry = (fit(_clean(row.entry), entry_w), entry_w)
        lines.append(_line((entry, *files, (row.kind, kind_w))))
    return lines


def _wrap(text: str, width: int, first: str = "", rest: str = "  ") -> list[str]:
    return textwrap.wrap(
        _clean(text),
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
    )


def _path_lines(path: str, width: int, indent: str) -> list[str]:
    """A repo path wrapped after its slashes, not inside a folder or file name (unless
    one name alone is wider than the line, which only a very narrow terminal sees)."""
    parts = [part + "/" for part in _clean(path).split("/")]
    parts[-1] = parts[-1][:-1]
    lines = [indent]
    for part in parts:
        if len(lines[-1]) + len(part) > width and lines[-1].strip():
            lines.append(indent + "  ")
        lines[-1] += part
    return [piece for line in lines for piece in _wrap(line.strip(), width, *_indents(line))]


def _indents(line: str) -> tuple[str, str]:
    indent = line[: len(line) - len(line.lstrip(" "))]
    return indent, indent


def _ref_lines(label: str, ref: FileRef, width: int) -> list[str]:
    """A pin: ``label repo@commit (date)``, then its path, size and sha256, indented."""
    date = f" ({ref.date:%Y-%m-%d})" if ref.date is not None else ""
    lines = _wrap(f"{label} {ref.repo}@{(ref.commit or '-')[:8]}{date}", width, "", "    ")
    lines += _path_lines(ref.path, width, "    ")
    facts = [size_text(ref.size)] if ref.size is not None else []
    facts += [f"sha256:{ref.sha256}"] if ref.sha256 else []
    return lines + (_wrap(" ".join(facts), width, "    ", "    ") if facts else [])


def _change_details(change: Change, width: int, long: bool) -> list[str]:
    why = change.why
    if change.compat.value != "unknown":
        why += f"; {change.compat.value}"
    if change.size_delta:
        why += f"; {delta_text(change.size_delta)}"
    lines = _wrap(f"{change.entry}: {why}", width)
    if long:
        lines += _ref_lines("  from", change.current, width)
        lines += _ref_lines("  to", change.proposed, width)
        if change.header:
            lines += _wrap(f"header: {change.header}", width, "  ", "    ")
    return lines


def details_lines(proposal: Proposal, *, width: int, long: bool = False) -> list[str]:
    """Why each change and option is proposed (and, with ``long``, every file's pin)."""
    width = max(width, MIN_WIDTH)
    lines: list[str] = []
    for change in (*proposal.changes, *proposal.options):
        lines += _change_details(change, width, long)
    if long:
        for name in proposal.up_to_date:
            ref = proposal.pins.get(name)
            if ref is not None:
                lines += _ref_lines(f"{name}:", ref, width)
    return lines


def render(proposal: Proposal, *, title: str, width: int, long: bool = False) -> str:
    lines = table_lines(proposal, title=title, width=width)
    details = details_lines(proposal, width=width, long=long)
    if details:
        lines += ["", *details]
    return "\n".join(lines) + "\n"


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


def summary(proposal: Proposal) -> str:
    """One line for the title: ``2 updates, 1 option, 2 up to date``."""
    unlocked = set(proposal.unlocked)
    current = [name for name in proposal.up_to_date if name not in unlocked]
    unpinned = [name for name in proposal.up_to_date if name in unlocked]
    parts = [
        _count(len(proposal.changes), "update") if proposal.changes else "",
        _count(len(proposal.options), "option") if proposal.options else "",
        f"{len(current)} up to date" if current else "",
        f"{len(unpinned)} current, not locked" if unpinned else "",
        _count(len(proposal.problems), "error") if proposal.problems else "",
        f"{_count(len(proposal.skipped_sources), 'source')} skipped"
        if proposal.skipped_sources
        else "",
    ]
    return ", ".join(part for part in parts if part) or "nothing to check"


def lock_hint(proposal: Proposal, has_lock: bool) -> str | None:
    """The one line that says what pins the entries the lock does not hold yet."""
    if not proposal.unlocked:
        return None
    if not has_lock:
        return "no lock yet: `imagebuilder lock` pins the current files (models.lock.json)"
    names = ", ".join(proposal.unlocked)
    return f"not in the lock: {names}; `imagebuilder lock` pins the current files"
