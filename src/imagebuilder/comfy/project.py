"""A project's workflows on disk: the check summary `validate` and `verify` report, and
the rendered files `render-workflows` writes.

Templates live in ``workflows/`` beside models.yaml: they belong to the project, like the
pins. Warnings are returned, never printed: the command decides where they go.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagebuilder.comfy.checks import Problem, require_consistent
from imagebuilder.comfy.workflows import TEMPLATES_DIR, render_all
from imagebuilder.project.atomic import atomic_write_text
from imagebuilder.project.config import Config
from imagebuilder.project.variants import stacks


def templates_dir_for(config_path: Path) -> Path:
    """workflows/ beside models.yaml."""
    return config_path.parent / TEMPLATES_DIR


@dataclass(frozen=True)
class WorkflowSummary:
    templates: Path | None
    warnings: list[Problem]

    def as_dict(self) -> dict[str, Any]:
        return {
            "templates": str(self.templates) if self.templates else None,
            "consistent": True,
            "warnings": [w.as_dict() for w in self.warnings],
        }


def workflow_summary(config: Config, config_path: Path) -> WorkflowSummary:
    """Raises WorkflowError on errors; a project without workflows/ has none to check."""
    templates = templates_dir_for(config_path)
    if not templates.is_dir():
        return WorkflowSummary(templates=None, warnings=[])
    return WorkflowSummary(templates=templates, warnings=require_consistent(config, templates))


@dataclass(frozen=True)
class WrittenWorkflows:
    written: dict[str, list[str]]  # variant (or "default") -> paths written
    warnings: list[Problem]


def write_workflows(
    config: Config, config_path: Path, out: Path, variant: str | None
) -> WrittenWorkflows:
    """Render every workflow (for one variant, else for each) under ``out``, atomically.

    Without ``variant`` and with variants declared, each variant gets ``out/<variant>/``.
    """
    templates = templates_dir_for(config_path)
    warnings = require_consistent(config, templates)
    names = [variant] if variant else [s.name for s in stacks(config)]
    written: dict[str, list[str]] = {}
    for name in names:
        target = out / name if name and not variant else out
        files = render_all(config, name, templates_dir=templates)
        for file_name, text in files.items():
            atomic_write_text(target / file_name, text)
        written[name or "default"] = [str(target / file_name) for file_name in files]
    return WrittenWorkflows(written=written, warnings=warnings)
