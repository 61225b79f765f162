"""Which models an image carries: from its labels (local engine, else its registry) or
from a models.yaml and its lock. `inspect-image` and `diff` read them here."""

from __future__ import annotations

from pathlib import Path

from imagebuilder.errors import ConfigError, DockerError, EngineUnavailable
from imagebuilder.image.build import connect_engine
from imagebuilder.image.plan import ModelRecords, records_from_labels, records_from_lock
from imagebuilder.image.publish.labels import registry_labels
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import load_lock, lock_path_for, require_current


def labels_of(image: str) -> dict[str, str]:
    """From the local engine when it holds the image; else straight from its registry
    (what `publish` leaves), so no pull and no running engine are needed."""
    try:
        engine = connect_engine()
    except EngineUnavailable:
        return registry_labels(image)
    try:
        if engine.has_image(image):
            return engine.image_labels(image)
    finally:
        engine.close()
    return registry_labels(image)


def records_of(source: str) -> ModelRecords:
    """An image (local engine or registry), or a models.yaml (with its lock)."""
    if source.endswith((".yaml", ".yml")):
        if not Path(source).is_file() and ":" not in source:  # meant as a file, not a tag
            raise ConfigError(
                "file not found",
                location=source,
                hint="pass the path of a models.yaml (its lock beside it) or an image reference",
            )
        if Path(source).is_file():
            loaded = load_config(Path(source))
            lock_file = lock_path_for(Path(source))
            lock = require_current(loaded.config, load_lock(lock_file), lock_file)
            return records_from_lock(loaded.config, lock)
    records = records_from_labels(labels_of(source))
    if not records:
        raise DockerError(
            "the image carries no imagebuilder model labels",
            location=source,
            hint="only images built by `imagebuilder build` record their models",
        )
    return records
