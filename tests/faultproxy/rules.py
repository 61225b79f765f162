"""What to break, where, and how many times: plain data, matched by the proxy."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    DELAY = "delay"  # wait ``seconds``, then relay normally
    HANG = "hang"  # read the request, never answer (until the proxy stops)
    RESET = "reset"  # read the request, then drop the connection with a TCP RST
    TRUNCATE = "truncate"  # relay the head and half the body, then close
    CORRUPT = "corrupt"  # relay everything, with one body byte flipped
    STATUS = "status"  # answer ``status`` (429, 500, 503...) without asking upstream
    TRICKLE = "trickle"  # relay the head, then the body one byte every ``seconds``
    ANSWER = "answer"  # answer ``status`` with ``body`` (JSON) without asking upstream
    DIE = "die"  # reset this request, then stop listening: every later connect is refused


@dataclass(frozen=True)
class Fault:
    kind: Kind
    status: int = 503
    seconds: float = 0.0
    retry_after: str | None = None  # STATUS: the Retry-After header to send, if any
    body: bytes = b""  # ANSWER: the body to send

    def label(self) -> str:
        if self.kind is Kind.STATUS:
            extra = f" Retry-After: {self.retry_after}" if self.retry_after else ""
            return f"{self.status}{extra}"
        if self.kind is Kind.DELAY:
            return f"delay {self.seconds:g}s"
        if self.kind is Kind.TRICKLE:
            return f"trickle 1 byte/{self.seconds:g}s"
        if self.kind is Kind.ANSWER:
            return f"answer {self.status} ({len(self.body)} bytes)"
        return str(self.kind.value)


@dataclass
class Rule:
    """Apply ``fault`` to the first ``times`` requests matching ``method`` and ``path``."""

    fault: Fault
    path: str = ".*"  # regular expression, searched in the request path (query included)
    method: str | None = None  # None: any method
    times: int = 1  # -1: every matching request
    header: tuple[str, str] | None = None  # also require this header (name, regex), e.g. Range
    applied: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claim(self, method: str, target: str, headers: dict[str, str]) -> bool:
        """True (and counted) when this request is one the rule still has to break."""
        if self.method is not None and method != self.method:
            return False
        if not re.search(self.path, target):
            return False
        if self.header is not None:
            name, pattern = self.header
            if not re.search(pattern, headers.get(name.lower(), "")):
                return False
        with self._lock:
            if self.times >= 0 and self.applied >= self.times:
                return False
            self.applied += 1
            return True
