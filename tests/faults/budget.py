"""Short network budgets for the suite, so a hang costs a second or two, not minutes."""

from __future__ import annotations

import pytest

from imagebuilder import network

READ_TIMEOUT_S = 1.5  # long enough that a loaded CI machine never trips it by accident
SUITE_BUDGET = {
    network.READ_TIMEOUT_ENV: str(READ_TIMEOUT_S),
    network.CONNECT_TIMEOUT_ENV: "1",
    network.BACKOFF_ENV: "0.02",
    network.RETRY_AFTER_CAP_ENV: "0.3",
    network.DEADLINE_ENV: "1",  # minutes: a safety net, never reached by a passing case
}


def short_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SUITE_BUDGET.items():
        monkeypatch.setenv(name, value)
