"""check-updates: compare the pinned stack with the Hub and build one coherent proposal.

A one-way pipeline around the pure planners: listings (``discovery``) -> candidates
(content changes from ``content``, newer releases and LoRAs from ``planning``, better
FP8 forms and fused files from ``alternatives``) -> one
plan per entry (bases first, then the LoRAs that follow them; a base whose LoRA cannot
move with it is held back) -> the proposal, with commit dates for what it proposes.
Each step returns new values; nothing found is edited afterwards.

Every Hub call for different repos runs concurrently, bounded; an entry whose
pinned file cannot be read is a problem while the others complete. An extra source a
rule names (``repos:``, ``search:``) that fails is skipped with a note and the entry is
checked against its other sources; ``strict`` makes such a failure the entry's problem.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from imagebuilder.errors import HubError, ImageBuilderError
from imagebuilder.hub.client import Hub, RemoteFile
from imagebuilder.hub.resolve import MAX_CONCURRENT_HUB_CALLS, resolve_from_snapshots
from imagebuilder.project.config import Config, ModelEntry, Role
from imagebuilder.project.lock import Lock
from imagebuilder.updates.alternatives import Engine, engine_of, plan_alternatives
from imagebuilder.updates.content import (
    Status,
    content_change,
    content_findings,
    current_pins,
    pinned_file,
)
from imagebuilder.updates.dates import commit_dates
from imagebuilder.updates.discovery import Listings, gather_listings
from imagebuilder.updates.engine_plan import EngineCatalog, engine_step
from imagebuilder.updates.entryresult import EntryResult, gather, held_back, with_planned
from imagebuilder.updates.headerfacts import (
    CachedInspector,
    HeaderFacts,
    HeaderInspector,
    HeaderReads,
    Locate,
    SafetensorsInspector,
    no_lines,
)
from imagebuilder.updates.planning import (
    BasePlan,
    plan_base,
    plan_lora,
)
from imagebuilder.updates.proposal import (
    ChangeKind,
    Proposal,
    SkippedSource,
)


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
        strict: bool,
        engines: EngineCatalog | None = None,
    ) -> None:
        self.config, self.lock, self.engines = config, lock, engines
        self.engine = engine_of(lock)  # what proposed files must load on
        self.hub = hub
        self.workers = workers
        self.strict = strict
        self._skipped: dict[str, tuple[set[str], ImageBuilderError]] = {}
        self._skipped_lock = threading.Lock()
        self.listings: Listings = gather_listings(config, hub, max_workers=workers)
        resolved = resolve_from_snapshots(config, self.listings.snapshots)
        self.resolved = {item.name: item for item in resolved}
        self.findings = {f.entry: f for f in content_findings(resolved, lock)}
        self.inspector = inspector
        self._reads = ThreadPoolExecutor(max_workers=workers)
        self.reads = HeaderReads(inspector, self.read_many, locate)

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
        if failures and self.strict:
            where, error = failures[0]
            failed = copy.copy(error)  # same class, so the same exit code
            failed.message = f"candidate source {where} failed: {error.message}"
            failed.location = f"entry {name}"
            failed.hint = "fix or remove the source in models.yaml, or drop --strict"
            raise failed
        with self._skipped_lock:
            for where, error in failures:
                self._skipped.setdefault(where, (set(), error))[0].add(name)
        return files

    def skipped_sources(self) -> tuple[SkippedSource, ...]:
        order = {name: index for index, name in enumerate(self.config.models)}
        return tuple(
            SkippedSource(where, tuple(sorted(names, key=order.__getitem__)), error)
            for where, (names, error) in sorted(self._skipped.items())
        )

    def check_entry(self, name: str, base: BasePlan | None) -> tuple[EntryResult, BasePlan | None]:
        """What the entry's rules find, then (for a base) its alternatives: a better FP8
        form of the same file, fused base+LoRA files (``alternatives``)."""
        found, plan = self._check_rules(name, base)
        entry, pinned = (
            self.config.models[name],
            pinned_file(self.resolved[name], self.findings[name]),
        )
        if found.problem is not None or pinned is None or _follows_a_base(entry):
            return found, plan
        more = plan_alternatives(
            self.config, name, pinned=pinned, files=self.listings.all_files(),
            engine=self.engine, read_many=self.read_many, base_moves=bool(plan and plan.change),
        )  # fmt: skip
        return with_planned(found, more.change, more.options, more.notes), plan

    def _check_rules(self, name: str, base: BasePlan | None) -> tuple[EntryResult, BasePlan | None]:
        entry = self.config.models[name]
        item, finding = self.resolved[name], self.findings[name]
        pinned = pinned_file(item, finding)
        if item.error is not None or pinned is None:
            return EntryResult(problem=item.error or HubError("unknown error", location=name)), None
        moved = finding.status is Status.UP_TO_DATE and finding.branch_moved
        notes = (f"{name}: {finding.why}",) if moved else ()
        found = EntryResult(notes=notes)
        try:
            change = content_change(finding, pinned, item, self.read_many, self.inspector)
            if change is not None and "; held back: " in change.why:  # header unreadable
                note = f"{name}: {change.why.rsplit('; ', 1)[-1]}"
                found = replace(found, options=(change,), notes=(*found.notes, note))
            elif change is not None:
                found = replace(found, changes=(change,))
            rule = entry.updates
            if rule is None:
                return found, None
            files = self.candidates(name, entry)
            if _follows_a_base(entry):
                lora = plan_lora(
                    name, entry, rule, pinned=pinned, files=files, base=base, reads=self.reads
                )
                return with_planned(
                    found, lora.change, lora.options, lora.notes, lora.missing_for_new_base
                ), None
            plan = plan_base(name, entry, rule, pinned=pinned, files=files, reads=self.reads)
            return with_planned(found, plan.change, plan.options, plan.notes), plan
        except ImageBuilderError as error:  # what was found before it still counts
            return replace(found, problem=error), None

    def _check_all(
        self, names: list[str], plans: dict[str, BasePlan]
    ) -> dict[str, tuple[EntryResult, BasePlan | None]]:
        def one(name: str) -> tuple[EntryResult, BasePlan | None]:
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
        self.engine_plan = engine_step(self.config, self.lock, plans, self.inspector, self.engines)
        reasons = self.engine_plan.holds | self._held_back_reasons(results, plans)
        if not reasons:
            return self._proposal(names, results)
        # A base may not move without its LoRA: it keeps its pin, and those LoRAs are
        # planned again against the unmoved base.
        results |= {base: held_back(base, results[base], why) for base, why in reasons.items()}
        unmoved = plans | {b: replace(plans[b], change=None, release=None) for b in reasons}
        # A LoRA whose lookup failed keeps its problem: planning it again against the
        # unmoved base could succeed on a retry and hide why the base was held back.
        redo = [n for n in followers if self._followed(n) in reasons and results[n].problem is None]
        for name, (result, _) in self._check_all(redo, unmoved).items():
            earlier = results[name]
            # The LoRA held back for the new base stays listed, with its reason.
            held = tuple(o for o in earlier.options if o.kind is ChangeKind.LORA_FOR_NEW_BASE)
            results[name] = replace(
                result, notes=earlier.notes + result.notes, options=held + result.options
            )
        return self._proposal(names, results)

    def _followed(self, name: str) -> str | None:
        rule = self.config.models[name].updates
        return rule.follows if rule else None

    def _base(self, name: str, plans: dict[str, BasePlan]) -> BasePlan | None:
        followed = self._followed(name)
        return plans.get(followed) if followed else None

    def _held_back_reasons(
        self, results: dict[str, EntryResult], plans: dict[str, BasePlan]
    ) -> dict[str, str]:
        """Why each base proposed to move must be held back: its LoRA cannot move with
        it (missing, misfit, or not looked up at all: a failed search, listing or header
        read). Never split."""
        reasons: dict[str, str] = {}
        for name, result in results.items():
            followed = self._followed(name)
            if followed is None or followed not in plans or plans[followed].change is None:
                continue
            if result.problem is not None:
                reasons.setdefault(
                    followed,
                    f"held back: its LoRA {name} could not be looked up ({result.problem.message})",
                )
            elif result.lora_missing_for_new_base:
                unchecked = [
                    o.why.rsplit("held back: ", 1)[-1]
                    for o in result.options
                    if o.kind is ChangeKind.LORA_FOR_NEW_BASE and o.header is None
                ]
                reason = (
                    f"held back: its LoRA {name} cannot be checked ({unchecked[0]})"
                    if unchecked
                    else self._no_lora_reason(name)
                )
                reasons.setdefault(followed, reason)
        return reasons

    def _no_lora_reason(self, lora: str) -> str:
        """Say so when a source that might have held the LoRA could not be read."""
        with self._skipped_lock:
            skipped = sorted(w for w, (names, _) in self._skipped.items() if lora in names)
        if not skipped:
            return "held back: no matching LoRA"
        where = skipped[0]
        error = self._skipped[where][1]
        return f"held back: its LoRA {lora} could not be looked up ({where}: {error.message})"

    def _proposal(self, names: list[str], results: Mapping[str, EntryResult]) -> Proposal:
        parts = gather(names, results)
        dated, date_notes = commit_dates(self.hub, self.workers, list(parts.changes))
        return replace(
            parts,
            changes=tuple(dated),
            notes=(*parts.notes, *date_notes, *self.engine_plan.notes),
            engine=self.engine_plan.moving_with(parts.changes),
            skipped_sources=self.skipped_sources(),
            unlocked=tuple(n for n in names if self.findings[n].status is Status.UNLOCKED),
            pins=current_pins(self.resolved.values(), self.findings),
        )


def check_updates(
    config: Config,
    lock: Lock | None,
    hub: Hub,
    inspector: HeaderInspector | None = None,
    *,
    max_workers: int = MAX_CONCURRENT_HUB_CALLS,
    locate: Locate = no_lines,
    strict: bool = False,
    engine: Engine | None = None,
    engines: EngineCatalog | None = None,
) -> Proposal:
    """The proposal for ``config`` against the Hub; ``locate`` turns key paths into lines.

    ``strict``: an extra source that fails fails its entries too (else it is skipped).
    ``engine``: the ComfyUI proposals must load on (default: the lock's, else assumed).
    ``engines``: where newer engines are found (the base's registry; engine_plan)."""
    checker = _Checker(
        config, lock, hub, inspector=CachedInspector(inspector or SafetensorsInspector(hub)),
        workers=max_workers, locate=locate, strict=strict, engines=engines,
    )  # fmt: skip
    checker.engine = engine or checker.engine
    try:
        return checker.run()
    finally:
        checker.close()
