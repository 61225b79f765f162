"""What check-updates needs to know from a safetensors header, behind a small interface.

The parsing and the comparisons live in ``imagebuilder.weights`` (``remote``,
``inspection``, ``compat``); planners only see ``HeaderFacts`` and a ``HeaderInspector``,
so the planning stays testable and header reads stay countable and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from imagebuilder.errors import ImageBuilderError
from imagebuilder.hub.client import RemoteFile
from imagebuilder.project.precision import PrecisionFamily
from imagebuilder.weights.compat import Compatibility, check_lora, compare_models
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import summarize
from imagebuilder.weights.remote import RangeReader, fetch_header


@dataclass(frozen=True)
class HeaderFacts:
    """A header, summarized: the precision the bytes really have, not what the name says."""

    family: PrecisionFamily
    summary: str  # one line for tables and PR bodies
    header: object  # the parsed header, handed back to ``compare`` and ``lora_fits``


class HeaderInspector(Protocol):
    def read(self, file: RemoteFile) -> HeaderFacts:
        """Read and summarize the header of a file at its commit (Range requests only)."""
        ...

    def compare(self, pinned: HeaderFacts, candidate: HeaderFacts) -> Compatibility:
        """Drop-in (same tensor names and shapes), compatible with changes, or different."""
        ...

    def lora_fits(self, lora: HeaderFacts, base: HeaderFacts) -> str | None:
        """None when every LoRA target matches a base weight; else why it does not."""
        ...


class CachedInspector:
    """One read per (repo, path, commit), whoever asks, from whichever thread."""

    def __init__(self, inner: HeaderInspector) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._facts: dict[tuple[str, str, str], HeaderFacts] = {}
        self._key_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self.reads = 0

    def read(self, file: RemoteFile) -> HeaderFacts:
        key = (file.repo, file.path, file.commit)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # two planners asking for the same file wait for one read
            cached = self._facts.get(key)
            if cached is not None:
                return cached
            facts = self._inner.read(file)
            with self._lock:
                self._facts[key] = facts
                self.reads += 1
            return facts

    def compare(self, pinned: HeaderFacts, candidate: HeaderFacts) -> Compatibility:
        return self._inner.compare(pinned, candidate)

    def lora_fits(self, lora: HeaderFacts, base: HeaderFacts) -> str | None:
        return self._inner.lora_fits(lora, base)


def header_facts(header: Header) -> HeaderFacts:
    summary = summarize(header)
    family = summary.precision.family
    if summary.lora is not None:
        ranks = "/".join(str(rank) for rank in summary.lora.ranks)
        shape = f"LoRA rank {ranks}, {summary.lora.targets} targets"
    else:
        shape = f"{summary.parameter_count / 1e9:.2f} B params, {summary.architecture.family}"
    return HeaderFacts(family, f"{summary.precision_label}, {shape}", header)


class SafetensorsInspector:
    """Headers read from the Hub with Range requests, summarized and compared."""

    def __init__(self, hub: RangeReader) -> None:
        self._hub = hub

    def read(self, file: RemoteFile) -> HeaderFacts:
        return header_facts(fetch_header(self._hub, file.repo, file.path, file.commit, file.size))

    def compare(self, pinned: HeaderFacts, candidate: HeaderFacts) -> Compatibility:
        a, b = _header(pinned), _header(candidate)
        return compare_models(a, b).verdict

    def lora_fits(self, lora: HeaderFacts, base: HeaderFacts) -> str | None:
        check = check_lora(_header(lora), _header(base))
        if check.applies:
            return None
        first = check.mismatches[0] if check.mismatches else None
        detail = f": {first.target}: {first.problem}" if first else ""
        return f"{check.total_mismatches} of {check.targets} targets do not match{detail}"


def _header(facts: HeaderFacts) -> Header:
    if not isinstance(facts.header, Header):
        raise TypeError("HeaderFacts from another inspector")
    return facts.header


# Reads a batch of headers (concurrently); a failed read comes back as its error.
ReadMany = Callable[[Sequence[RemoteFile]], list[HeaderFacts | ImageBuilderError]]
# A key path of models.yaml -> "models.yaml:LINE" (LoadedConfig.where).
Locate = Callable[[Sequence[str | int]], str]


def no_lines(key_path: Sequence[str | int]) -> str:
    return "models.yaml (" + ".".join(str(key) for key in key_path) + ")"


@dataclass(frozen=True)
class HeaderReads:
    """How planning reads headers and names a models.yaml line: the same for every entry."""

    inspector: HeaderInspector
    read_many: ReadMany
    locate: Locate = no_lines
