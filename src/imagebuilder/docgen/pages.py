"""Which generated blocks go into which page under docs/."""

from __future__ import annotations

from pathlib import Path

from imagebuilder.docgen.cli_reference import (
    commands_reference,
    exit_codes_reference,
    global_options,
)
from imagebuilder.docgen.config_reference import config_reference
from imagebuilder.docgen.markdown import splice
from imagebuilder.project.config import Config

CLI_PAGE = "docs/cli.md"
CONFIG_PAGE = "docs/configuration.md"


def generated_blocks() -> dict[str, dict[str, str]]:
    # Imported here: the app pulls in every command module, the schema does not need it.
    from imagebuilder.cli import app  # noqa: PLC0415

    return {
        CLI_PAGE: {
            "global-options": global_options(app),
            "exit-codes": exit_codes_reference(),
            "commands": commands_reference(app),
        },
        # Declaration order (the committed schema file sorts its keys).
        CONFIG_PAGE: {"reference": config_reference(Config.model_json_schema())},
    }


def generated_pages(root: Path) -> dict[str, str]:
    """Each page as it should read: its prose as committed, its blocks regenerated."""
    return {
        relative: splice((root / relative).read_text(encoding="utf-8"), blocks)
        for relative, blocks in generated_blocks().items()
    }
