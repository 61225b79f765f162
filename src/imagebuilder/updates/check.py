"""check-updates: compare the pinned stack with the Hub and build one coherent proposal.

The shell around the pure planners: listings (``discovery``), content changes
(``content``), newer releases and LoRAs (``planning``), then commit dates for what is
proposed. Every Hub call for different repos runs concurrently, bounded; an entry that
fails is reported as a problem while the others complete.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from imagebuilder.errors import HubError, ImageBuilderError
from imagebuilder.hub.client import Hub, RemoteFile
from imagebuilder.hub.resolve import MAX_CONCURRENT_HUB_CALLS, resolve_from_snapshots
from imagebuilder.project.config import Config, ModelEntry, Role
from imagebuilder.project.lock import Lock
from imagebuilder.updates.content import Status, content_change, content_findings, pinned_file
from imagebuilder.updates.discovery import Listings, gather_listings
from imagebuilder.updates.headerfacts import (
    CachedInspector,
    HeaderFacts,
    HeaderInspector,
    SafetensorsInspector,
)
from imagebuilder.updates.planning import BasePlan, Locate, no_lines, plan_base, plan_lora
from imagebuilder.updates.proposal import (
    Change,
    ChangeKind,
    FileRef,
    Problem,
    Proposal,
    merge_entry_changes,
)


@dataclass
class _EntryResult:
    changes: list[Change]
    options: list[Change]
    notes: list[str]
    problem: ImageBuilderError | None = None
    lora_missing_for_new_base: bool = False


def _follows_a_base(entry: ModelEntry) -> bool:
    rule = entry.updates
    return rule is not None and (rule.follows is not None or entry.role is Role.LORA)


class _Checker:
    def __init__(
        self,
        config: Config,
        lock: Lock | None,
        hub: Hub,
        *,
        inspector: HeaderInspector,
        workers: int,
        locate: Locate,
    ) -> None:
        self.config = config
        self.hub = hub
        self.workers = workers
        self.locate = locate
        self.listings: Listings = gather_listings(config, hub, max_workers=workers)
        resolved = resolve_from_snapshots(config, self.listings.snapshots)
        self.resolved = {item.name: item for item in resolved}
        self.findings = {f.entry: f for f in content_findings(resolved, lock)}
        self.inspector = inspector
        self._reads = ThreadPoolExecutor(max_workers=workers)

    def close(self) -> None:
        self._reads.shutdown()

    def read_many(self, files: Sequence[RemoteFile]) -> list[HeaderFacts | ImageBuilderError]:
        def one(file: RemoteFile) -> HeaderFacts | ImageBuilderError:
            try:
                return self.inspector.read(file)
            except ImageBuilderError as error:
                return error

        return list(self._reads.map(one, files))

    def candidates(self, name: str, entry: ModelEntry) -> list[RemoteFile]:
        files, failures = self.listings.candidate_files(entry)
        if failures:
            where, error = failures[0]
            failed = copy.copy(error)  # same class, so the same exit code
            failed.message = f"candidate source {where} failed: {error.message}"
            failed.location = f"entry {name}"
            raise failed
        return files

    def check_entry(self, name: str, base: BasePlan | None) -> tuple[_EntryResult, BasePlan | None]:
        entry = self.config.models[name]
        item, finding = self.resolved[name], self.findings[name]
        result = _EntryResult([], [], [])
        pinned = pinned_file(item, finding)
        if item.error is not None or pinned is None:
            result.problem = item.error or HubError("unknown error", location=name)
            return result, None
        if finding.status is Status.UP_TO_DATE and finding.current_commit != finding.new_commit:
            result.notes.append(f"{name}: {finding.why}")
        plan: BasePlan | None = None
        try:
            change = content_change(finding, pinned, item, self.read_many, self.inspector)
            result.changes += [change] if change else []
            rule = entry.updates
            if rule is not None and _follows_a_base(entry):
                lora = plan_lora(
                    name,
                    entry,
                    rule,
                    pinned=pinned,
                    files=self.candidates(name, entry),
                    base=base,
                    inspector=self.inspector,
                    read_many=self.read_many,
                    locate=self.locate,
                )
                result.lora_missing_for_new_base = lora.missing_for_new_base
                result.changes += [lora.change] if lora.change else []
                result.options += lora.options
                result.notes += lora.notes
            elif rule is not None:
                plan = plan_base(
                    name,
                    entry,
                    rule,
                    pinned=pinned,
                    files=self.candidates(name, entry),
                    inspector=self.inspector,
                    read_many=self.read_many,
                    locate=self.locate,
                )
                result.changes += [plan.change] if plan.change else []
                result.options += plan.options
                result.notes += plan.notes
        except ImageBuilderError as error:
            result.problem = error
        return result, plan

    def _check_all(
        self, names: list[str], plans: dict[str, BasePlan]
    ) -> dict[str, tuple[_EntryResult, BasePlan | None]]:
        def one(name: str) -> tuple[_EntryResult, BasePlan | None]:
            return self.check_entry(name, self._base(name, plans))

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return dict(zip(names, pool.map(one, names), strict=True))

    def run(self) -> Proposal:
        names = list(self.config.models)
        followers = [n for n in names if _follows_a_base(self.config.models[n])]
        leaders = [n for n in names if n not in followers]
        first = self._check_all(leaders, {})
        plans = {n: plan for n, (_, plan) in first.items() if plan is not None}
        second = self._check_all(followers, plans)
        results = {n: result for n, (result, _) in (first | second).items()}
        held = self._hold_back_bases(results, plans)
        if held:  # a base may not move without its LoRA: plan those LoRAs again, unmoved
            for base_name in held:
                plans[base_name] = replace(plans[base_name], change=None, release=None)
            redo = [n for n in followers if self._followed(n) in held]
            for name, (result, _) in self._check_all(redo, plans).items():
                result.notes = results[name].notes + result.notes
                results[name] = result
        return self._proposal(names, results)

    def _followed(self, name: str) -> str | None:
        rule = self.config.models[name].updates
        return rule.follows if rule else None

    def _base(self, name: str, plans: dict[str, BasePlan]) -> BasePlan | None:
        followed = self._followed(name)
        return plans.get(followed) if followed else None

    def _hold_back_bases(
        self, results: dict[str, _EntryResult], plans: dict[str, BasePlan]
    ) -> set[str]:
        held = {
            followed
            for name, result in results.items()
            if result.lora_missing_for_new_base
            and (followed := self._followed(name)) is not None
            and followed in plans
        }
        for base_name in held:
            base = results[base_name]
            moved = [c for c in base.changes if c.kind is ChangeKind.NEWER_RELEASE]
            base.changes = [c for c in base.changes if c.kind is not ChangeKind.NEWER_RELEASE]
            base.options += [replace(c, why=c.why + "; held back: no matching LoRA") for c in moved]
        return held

    def _proposal(self, names: list[str], results: dict[str, _EntryResult]) -> Proposal:
        changes, options, problems, current, notes = [], [], [], [], []
        for name in names:
            result = results[name]
            merged = merge_entry_changes(result.changes)
            changes += [merged] if merged else []
            options += result.options
            notes += result.notes
            if result.problem is not None:
                problems.append(Problem(name, result.problem))
            elif merged is None:
                current.append(name)
        return Proposal(
            changes=tuple(self._dated(changes, notes)),
            options=tuple(options),
            problems=tuple(problems),
            up_to_date=tuple(current),
            notes=tuple(notes),
        )

    def _dated(self, changes: list[Change], notes: list[str]) -> list[Change]:
        """Commit dates of the current and proposed files: one request per (repo, commit).

        A date is a nicety: when the Hub cannot give one, the check goes on without it
        and ``notes`` says so (a missing date is never silent).
        """
        wanted: dict[tuple[str, str], set[str]] = {}
        for change in changes:
            for ref in (change.current, change.proposed):
                if ref.commit:
                    wanted.setdefault((ref.repo, ref.commit), set()).add(ref.path)

        def dates(key: tuple[str, str]) -> dict[str, datetime]:
            try:
                found = self.hub.last_commits(key[0], key[1], sorted(wanted[key]))
            except ImageBuilderError as error:
                failed.append(f"{key[0]}@{key[1][:12]} ({error.message})")
                return {}
            return {path: info.date for path, info in found.items() if info.date is not None}

        failed: list[str] = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            known = dict(zip(wanted, pool.map(dates, wanted), strict=True))
        if failed:
            notes.append(f"commit dates unknown (shown as null) for {'; '.join(sorted(failed))}")

        def dated(ref: FileRef) -> FileRef:
            date = known.get((ref.repo, ref.commit or ""), {}).get(ref.path)
            return replace(ref, date=date) if date is not None else ref

        return [replace(c, current=dated(c.current), proposed=dated(c.proposed)) for c in changes]


def check_updates(
    config: Config,
    lock: Lock | None,
    hub: Hub,
    inspector: HeaderInspector | None = None,
    *,
    max_workers: int = MAX_CONCURRENT_HUB_CALLS,
    locate: Locate = no_lines,
) -> Proposal:
    """The proposal for ``config`` against the Hub; ``locate`` turns key paths into lines."""
    checker = _Checker(
        config,
        lock,
        hub,
        inspector=CachedInspector(inspector or SafetensorsInspector(hub)),
        workers=max_workers,
        locate=locate,
    )
    try:
        return checker.run()
    finally:
        checker.close()
