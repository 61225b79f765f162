"""Request accounting and fault injection, both safe to read while the server runs.

Counters are bumped *before* bytes hit the socket, so once a client call returns, every
byte it received is already counted: tests can assert right after the call without racing.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RequestRecord:
    method: str
    path: str  # raw (still percent-encoded) path, without the query
    query: str
    range: str | None
    route: str  # model_info, tree, paths_info, refs, commits, list_models, resolve, ...
    authorized: bool  # an Authorization header was sent (its value is never stored)
    status: int = 0
    body_bytes: int = 0  # every body byte sent, JSON included
    file: str | None = None  # "org/name/path/in/repo" for resolve answers


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    requests: list[RequestRecord] = field(default_factory=list)
    bytes_served: int = 0  # file-content bytes only (resolve GET bodies)
    bytes_by_file: Counter[str] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)

    def open(self, record: RequestRecord) -> RequestRecord:
        with self.lock:
            self.requests.append(record)
            self.by_route[record.route] += 1
        return record

    def sent(self, record: RequestRecord, nbytes: int, *, file_content: bool) -> None:
        with self.lock:
            record.body_bytes += nbytes
            if file_content and record.file is not None:
                self.bytes_served += nbytes
                self.bytes_by_file[record.file] += nbytes

    def matching(self, route: str | None = None, method: str | None = None) -> list[RequestRecord]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (route is None or r.route == route) and (method is None or r.method == method)
            ]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_served = 0
            self.bytes_by_file.clear()
            self.by_route.clear()


@dataclass
class FaultRule:
    """Answer matching requests with `status` (or serve them but cut or delay them)."""

    path_regex: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    times: int | None = 1  # None: forever
    headers: dict[str, str] = field(default_factory=dict)
    drop_after_bytes: int | None = None  # serve normally, then close mid-body
    latency_s: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_regex.search(path) is not None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []

    def add(
        self,
        path_regex: str = ".*",
        *,
        method: str | None = None,
        status: int | None = None,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        drop_after_bytes: int | None = None,
        latency_s: float = 0.0,
    ) -> FaultRule:
        """path_regex is searched in the raw request path (percent-encoded, no query)."""
        rule = FaultRule(
            path_regex=re.compile(path_regex),
            method=method,
            status=status,
            times=times,
            headers=dict(headers or {}),
            drop_after_bytes=drop_after_bytes,
            latency_s=latency_s,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule for this request, consuming one of its `times`."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
