"""Plan newer releases for one entry: a base model, or a LoRA that follows a base.

Headers are read only for shortlisted files: the newest version group first, and the
next group only when nothing in the first one passes (for FP8 rules, the header decides:
a bf16-named file whose bytes are FP8 counts, an fp8-named file holding BF16 does not).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from imagebuilder.errors import ConfigError, ImageBuilderError, NetworkError
from imagebuilder.hub.client import RemoteFile
from imagebuilder.project.config import ModelEntry, UpdateRule
from imagebuilder.project.pathrules import check_repo_path
from imagebuilder.project.precision import wanted_precision
from imagebuilder.updates.headerfacts import (
    HeaderFacts,
    HeaderInspector,
    HeaderReads,
    Locate,
    ReadMany,
)
from imagebuilder.updates.proposal import Change, ChangeKind, FileRef
from imagebuilder.updates.releases import (
    FIRST_RELEASE,
    Release,
    fewer_step_loras,
    lora_for_base,
    newer_base_releases,
    newer_lora_version,
    parse_release,
)
from imagebuilder.weights.compat import Compatibility


@dataclass(frozen=True)
class BasePlan:
    current: Release
    pinned: RemoteFile
    change: Change | None = None
    release: Release | None = None  # the proposed release
    file: RemoteFile | None = None  # the proposed file
    notes: tuple[str, ...] = ()
    options: tuple[Change, ...] = ()  # a newest release that is not applied automatically


@dataclass(frozen=True)
class LoraPlan:
    change: Change | None = None
    options: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    missing_for_new_base: bool = False


@dataclass
class _Candidates:
    releases: list[Release] = field(default_factory=list)
    files: dict[tuple[str, str], RemoteFile] = field(default_factory=dict)

    def file(self, release: Release) -> RemoteFile:
        return self.files[(release.repo, release.path)]


def version_text(version: int) -> str:
    return "first release" if version == FIRST_RELEASE else str(version)


def file_ref(file: RemoteFile) -> FileRef:
    return FileRef(file.repo, file.path, file.commit, file.sha256, file.size)


def _current_release(
    name: str, entry: ModelEntry, rule: UpdateRule, locate: Locate
) -> tuple[re.Pattern[str], Release]:
    pattern = re.compile(rule.pattern)
    current = parse_release(pattern, entry.repo, entry.file)
    if current is None:
        raise ConfigError(
            f"the update pattern does not match the pinned file {entry.file}",
            location=locate(("models", name, "updates", "pattern")),
            hint="fix the pattern so it matches the pinned file name, or remove `updates`",
        )
    return pattern, current


def _candidates(pattern: re.Pattern[str], files: Sequence[RemoteFile]) -> _Candidates:
    """Releases among the files; the same bytes in two repos count once (first repo wins)."""
    found = _Candidates()
    seen_sha: set[str] = set()
    for file in files:
        release = parse_release(pattern, file.repo, file.path)
        if release is None or not _safe_path(file.path) or (file.sha256 in seen_sha):
            continue
        if file.sha256:
            seen_sha.add(file.sha256)
        found.releases.append(release)
        found.files[(release.repo, release.path)] = file
    return found


def _safe_path(path: str) -> bool:
    """Only paths models.yaml could hold: relative, safetensors, never a pickle format."""
    try:
        check_repo_path(path)
    except ValueError:
        return False
    return True


def _read_one(read_many: ReadMany, file: RemoteFile) -> HeaderFacts | ImageBuilderError:
    return read_many([file])[0]


def _facts_or_raise(result: HeaderFacts | ImageBuilderError) -> HeaderFacts | None:
    """A network failure fails the entry (the answer would be incomplete); a bad file is skipped."""
    if isinstance(result, NetworkError):
        raise result
    return result if isinstance(result, HeaderFacts) else None


def unreadable(result: HeaderFacts | ImageBuilderError) -> str | None:
    """Why a candidate's header gives no facts (refused, not safetensors), or None."""
    if isinstance(result, HeaderFacts):
        return None
    return f"its header could not be read or parsed ({result.message})"


def _compat(
    inspector: HeaderInspector, pinned: HeaderFacts | None, new: HeaderFacts
) -> Compatibility:
    return inspector.compare(pinned, new) if pinned is not None else Compatibility.UNKNOWN


def plan_base(
    name: str,
    entry: ModelEntry,
    rule: UpdateRule,
    *,
    pinned: RemoteFile,
    files: Sequence[RemoteFile],
    reads: HeaderReads,
) -> BasePlan:
    """The newest release whose header passes the rule's precision, or none."""
    pattern, current = _current_release(name, entry, rule, reads.locate)
    found = _candidates(pattern, files)
    notes: list[str] = []
    for group in newer_base_releases(current, found.releases):
        results = reads.read_many([found.file(r) for r in group])
        accepted: list[tuple[Release, HeaderFacts]] = []
        for release, result in zip(group, results, strict=True):
            facts = _facts_or_raise(result)
            name_of = release.path.rsplit("/", 1)[-1]
            if facts is None:
                notes.append(f"{name}: skipped {name_of}: {result}")
            elif wanted_precision(rule.precision) not in (None, facts.family):
                notes.append(f"{name}: skipped {name_of}: header is {facts.summary}")
            else:
                accepted.append((release, facts))
        if accepted:
            pinned_facts = _facts_or_raise(_read_one(reads.read_many, pinned))
            ranked = [(r, f, _compat(reads.inspector, pinned_facts, f)) for r, f in accepted]
            release, facts, compat = min(ranked, key=lambda t: _preference(current, entry, *t))
            file = found.file(release)
            why = f"newer release {version_text(release.version)}"
            why += f" (was {version_text(current.version)})"
            if rule.precision != "any":
                why += f"; {rule.precision} confirmed from the header"
            change = Change(
                entry=name,
                kind=ChangeKind.NEWER_RELEASE,
                current=file_ref(pinned),
                proposed=file_ref(file),
                compat=compat,
                why=why,
                header=facts.summary,
            )
            if compat is Compatibility.DIFFERENT_ARCHITECTURE:
                why += "; a different architecture is never applied automatically"
                held = (replace(change, why=why),)
                return BasePlan(current, pinned, notes=tuple(notes), options=held)
            return BasePlan(current, pinned, change, release, file, tuple(notes))
    return BasePlan(current, pinned, notes=tuple(notes))


_COMPAT_RANK = {
    Compatibility.SAME_BYTES: 0,
    Compatibility.DROP_IN: 0,
    Compatibility.COMPATIBLE_WITH_CHANGES: 1,
    Compatibility.UNKNOWN: 2,
    Compatibility.DIFFERENT_ARCHITECTURE: 3,
}


def _preference(
    current: Release, entry: ModelEntry, release: Release, facts: HeaderFacts, compat: Compatibility
) -> tuple[int, int, int, int, str, str]:
    """Same precision token as the pin, the closest fit, an honest name, the pinned repo."""
    return (
        0 if release.precision == current.precision else 1,
        _COMPAT_RANK[compat],
        0 if release.family == facts.family else 1,
        0 if release.repo.lower() == entry.repo.lower() else 1,
        release.repo,
        release.path,
    )


@dataclass(frozen=True)
class _LoraContext:
    name: str
    pinned: RemoteFile
    base: RemoteFile | None  # the base the LoRA must fit: proposed if it moves, else pinned
    reads: HeaderReads

    def change(self, kind: ChangeKind, file: RemoteFile, why: str) -> Change:
        """A LoRA change; headers read here only (the inspector caches repeats). A LoRA
        whose header cannot be read is never taken on trust: ``held`` says why."""
        wanted = [file, self.pinned] + ([self.base] if self.base else [])
        results = self.reads.read_many(wanted)
        facts, pinned_facts, *base_facts = (_facts_or_raise(r) for r in results)
        compat = Compatibility.UNKNOWN
        summary = None
        if facts is None:
            why += f"; held back: {unreadable(results[0])}"
        else:
            compat = _compat(self.reads.inspector, pinned_facts, facts)
            summary = facts.summary
            base = base_facts[0] if base_facts else None
            misfit = self.reads.inspector.lora_fits(facts, base) if base is not None else None
            if misfit:
                compat = Compatibility.DIFFERENT_ARCHITECTURE
                why += f"; does not fit the base: {misfit}"
        return Change(self.name, kind, file_ref(self.pinned), file_ref(file), compat, why, summary)


def plan_lora(
    name: str,
    entry: ModelEntry,
    rule: UpdateRule,
    *,
    pinned: RemoteFile,
    files: Sequence[RemoteFile],
    base: BasePlan | None,
    reads: HeaderReads,
) -> LoraPlan:
    """The LoRA for a newly proposed base, plus cheaper (fewer steps) and newer options."""
    pattern, current = _current_release(name, entry, rule, reads.locate)
    found = _candidates(pattern, files)
    moved_to = base.release if base is not None and base.change is not None else None
    if current.base_version is None and moved_to is not None:
        # A name without a base version cannot say which LoRA fits the new base.
        return LoraPlan(notes=(f"{name}: its file name names no base version",))
    target = moved_to.version if moved_to is not None else current.base_version
    base_file = None
    if base is not None:
        base_file = base.file if moved_to is not None else base.pinned
    context = _LoraContext(name, pinned, base_file, reads)
    change: Change | None = None
    reference = current
    if moved_to is not None:
        target = moved_to.version
        lora = lora_for_base(current, found.releases, target)
        if lora is None:
            note = (
                f"{name}: no {current.steps}-step {current.precision or ''} LoRA for base "
                f"{version_text(target)} found; the base update is held back"
            )
            return LoraPlan(notes=(note,), missing_for_new_base=True)
        reference = lora
        why = f"LoRA for base {version_text(target)} ({lora.steps} steps, {lora.precision})"
        change = context.change(ChangeKind.LORA_FOR_NEW_BASE, found.file(lora), why)
        if change.compat is Compatibility.DIFFERENT_ARCHITECTURE:
            note = f"{name}: the LoRA for base {version_text(target)} does not fit it"
            return LoraPlan(options=(change,), notes=(note,), missing_for_new_base=True)
        if change.header is None:  # its fit cannot be checked: held back, like a base
            note = (
                f"{name}: the LoRA for base {version_text(target)} is held back, and the "
                f"base with it: {change.why.rsplit('held back: ', 1)[-1]}"
            )
            return LoraPlan(options=(change,), notes=(note,), missing_for_new_base=True)
    options = []
    newer = newer_lora_version(reference, found.releases, target)
    if newer is not None:
        why = f"newer LoRA version {newer.lora_version_text} (was {reference.lora_version_text})"
        options.append(context.change(ChangeKind.NEWER_LORA, found.file(newer), why))
    for cheaper in fewer_step_loras(current, found.releases, target):
        saving = 100 - round(100 * (cheaper.steps or 0) / (current.steps or 1))
        why = (
            f"{cheaper.steps} steps instead of {current.steps}: ~{saving}% less denoising "
            f"time per job; set sampler.steps to {cheaper.steps}"
        )
        options.append(context.change(ChangeKind.FEWER_STEPS, found.file(cheaper), why))
    return LoraPlan(change, tuple(options))
