"""Where a project's files live by default (plain paths: the CLI reads them at start-up)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG = Path("models.yaml")
SCHEMA_PATH = Path("schema/models.schema.json")
