"""The inputs of `imagebuilder cost`: models.yaml's cost section, or a measurements file
laid over it, validated with the line of the first bad field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config
from imagebuilder.project.cost_settings import CostSettings
from imagebuilder.project.yamlsource import KeyPath, load_yaml


def load_inputs(config: Config, measurements: Path | None, where: str) -> CostSettings:
    """models.yaml's cost section, with a measurements file (YAML or JSON) laid over it."""
    base: dict[str, Any] = config.cost.model_dump(by_alias=True) if config.cost else {}
    locate: Callable[[KeyPath], str] | None = None  # a measurements file has lines
    if measurements is not None:
        if not measurements.is_file():  # load_yaml's hint is about --config
            raise ConfigError(
                "measurements file not found",
                location=str(measurements),
                hint="pass a YAML or JSON file with gpu, price_per_hour, seconds_per_step "
                "and fixed_seconds to --measurements",
            )
        source = load_yaml(measurements)
        document = source.document
        if not isinstance(document, dict):
            raise ConfigError(
                "a measurements file is a mapping of cost fields", location=str(measurements)
            )
        base |= json.loads(json.dumps(document))  # ruamel containers -> plain data
        where = str(measurements)
        locate = source.where
    if not base:
        raise ConfigError(
            "no cost inputs: models.yaml has no 'cost:' section and no --measurements file",
            location=where,
            hint="add cost: {gpu, price_per_hour, seconds_per_step, fixed_seconds}",
        )
    try:
        return CostSettings.model_validate(base)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        if locate is not None:
            where = locate(first["loc"])
        raise ConfigError(f"cost inputs: {key}: {message}", location=where) from None
