"""cost for another stack reads that stack's per-workflow numbers: the Wan example with
a cost block for its own workflow (numbers made up for the test; no second stack has
been measured on a GPU yet, docs/stacks.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.conftest import copy_example
from imagebuilder.cli import main

COST = """
cost:
  gpu: test GPU
  price_per_hour: 3.6
  seconds_per_step: 99.0          # the fallback: must not be used for wan22_i2v
  fixed_seconds: {other: 99.0}
  workflows:
    wan22_i2v:
      seconds_per_step: 10.0
      fixed_seconds: {text_encoding: 1.0, vae_decode: 4.0}
  source: made up for this test
"""


def test_cost_of_the_wan_stack_uses_its_workflow_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy_example("wan2.2-i2v", tmp_path / "wan")
    config.write_text(config.read_text(encoding="utf-8") + COST, encoding="utf-8")
    capsys.readouterr()
    assert main(["cost", "-c", str(config), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    rows = {(r["variant"], r["workflow"]): r for r in document["rows"]}
    steps4 = rows[("steps4", "wan22_i2v")]
    assert steps4["steps"] == 4
    assert steps4["seconds_per_job"] == pytest.approx(4 * 10.0 + 5.0)
    assert rows[("steps2", "wan22_i2v")]["seconds_per_job"] == pytest.approx(2 * 10.0 + 5.0)
