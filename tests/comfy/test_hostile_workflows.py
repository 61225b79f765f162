"""Crafted workflows: revisions smuggled into URLs, nesting deep enough to crash a parser.

Each test is the regression test of one fix from the security review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebuilder.comfy.import_template import parse_hub_url
from imagebuilder.comfy.template_models import read_workflow
from imagebuilder.errors import WorkflowError


def test_workflow_urls_must_carry_a_valid_revision() -> None:
    """Before: any revision text (a newline, "..") went into models.yaml as it was."""
    base = "https://huggingface.co/owner/repo/resolve/{}/split/m.safetensors"
    assert parse_hub_url(base.format("main"))[2] == "main"
    for revision in ("main%0Aevil", "..%2F..", "-x", "a..b"):
        with pytest.raises(ValueError, match="revision"):
            parse_hub_url(base.format(revision))


def test_deeply_nested_workflow_is_a_workflow_error(tmp_path: Path) -> None:
    """Before: RecursionError (or a 5000-digit integer's ValueError) was an internal error."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(WorkflowError, match="nested"):
        read_workflow(deep)
    long_number = tmp_path / "number.json"
    long_number.write_text('{"nodes": [], "x": ' + "9" * 5000 + "}")
    with pytest.raises(WorkflowError):
        read_workflow(long_number)
