"""The weekly check-updates workflow keeps its security properties (actionlint and zizmor
run in CI through scripts/lint-workflows.sh; these are the project's own rules)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

WORKFLOW = Path(__file__).resolve().parents[2] / ".github/workflows/check-updates.yml"
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9a-f]{40}$")


def load() -> dict[str, Any]:
    data = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    return [step for job in load()["jobs"].values() for step in job["steps"]]


def test_triggers_weekly_and_on_demand() -> None:
    triggers = load()["on"]  # ruamel reads YAML 1.2: `on` stays a string
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"].endswith(" 1")  # Mondays


def test_actions_are_pinned_by_commit_sha_with_a_version_comment() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    uses = [step["uses"] for step in steps() if "uses" in step]
    assert uses and all(PINNED.match(ref) for ref in uses), uses
    for ref in uses:
        assert re.search(re.escape(ref) + r" # v\d+\.\d+\.\d+", text), ref


def test_least_privilege_and_no_persisted_credentials() -> None:
    data = load()
    assert data["permissions"] == {}
    for job in data["jobs"].values():
        assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    checkout = next(s for s in steps() if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    for step in steps():
        assert "${{" not in step.get("run", ""), step.get("name")


def test_runs_update_and_opens_a_pull_request_only_on_changes() -> None:
    runs = " ".join(step.get("run", "") for step in steps())
    assert "imagebuilder update --markdown-out" in runs
    pull_request = next(s for s in steps() if "create-pull-request" in s.get("uses", ""))
    assert pull_request["if"] == "steps.update.outputs.changed == 'true'"
    assert pull_request["with"]["body-path"].endswith("pr-body.md")
