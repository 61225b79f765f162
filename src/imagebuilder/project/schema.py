"""The JSON Schema of models.yaml, generated from the pydantic model (for editors)."""

from __future__ import annotations

import json

from imagebuilder.project.config import Config
from imagebuilder.project.paths import SCHEMA_PATH

__all__ = ["SCHEMA_PATH", "models_schema_text"]


def models_schema_text() -> str:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "imagebuilder models.yaml"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
