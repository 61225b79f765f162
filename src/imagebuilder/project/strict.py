"""The base of every settings model read from a file: unknown keys, wrong types and
non-finite numbers are refused, and a loaded model never changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    # Docstrings under fields are their descriptions: in the JSON Schema editors show, and
    # in docs/configuration.md, generated from it. allow_inf_nan=False: YAML's .inf/.nan
    # (and 1e999) are floats; none is a valid setting, and one that reached `cost --json`
    # printed `Infinity`, which is not JSON.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )
