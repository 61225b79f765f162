"""Crafted workflows: revisions smuggled into URLs, deep nesting, non-finite numbers.

Each test is the regression test of one fix from the security review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebuilder.cli.app import main
from imagebuilder.comfy.import_template import parse_hub_url
from imagebuilder.comfy.template_models import read_workflow
from imagebuilder.comfy.workflows import load_templates
from imagebuilder.errors import WorkflowError
from infra.hostile import (
    assert_strict_json,
)


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


@pytest.mark.parametrize("strength", ["NaN", "Infinity", "1e999", "9" * 400])
def test_a_non_finite_lora_strength_in_a_workflow_is_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strength: str
) -> None:
    """Before: a 400-digit strength was an OverflowError (exit 1); NaN became `.nan`."""
    url = "https://huggingface.co/a/b/resolve/main/x.safetensors"
    workflow = tmp_path / "w.json"
    workflow.write_text(
        '{"nodes": [{"id": 1, "type": "LoraLoaderModelOnly", "widgets_values": '
        f'["x.safetensors", {strength}], "properties": {{"models": [{{"name": '
        f'"x.safetensors", "url": "{url}", "directory": "loras"}}]}}}}]}}'
    )
    capsys.readouterr()
    assert main(["import-template", str(workflow), "--json"]) == 0
    out = capsys.readouterr().out
    assert_strict_json(out)
    assert "nan" not in out.lower() and "inf" not in out.lower()


def test_a_template_with_nan_is_a_workflow_error(tmp_path: Path) -> None:
    templates = tmp_path / "workflows"
    templates.mkdir()
    (templates / "t.json").write_text('{"1": {"class_type": "KSampler", "inputs": {"cfg": NaN}}}')
    with pytest.raises(WorkflowError, match="NaN"):
        load_templates(templates)
