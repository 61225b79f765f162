"""Which generated blocks go into which page under docs/."""

from __future__ import annotations

from pathlib import Path

from imagebuilder.docgen.cli_reference import (
    commands_reference,
    exit_codes_reference,
    global_options,
)
from imagebuilder.docgen.config_reference import config_reference
from imagebuilder.docgen.markdown import code, splice, table
from imagebuilder.project.config import Config
from imagebuilder.weights.architectures import FAMILIES
from imagebuilder.weights.engine_markers import MARKERS

CLI_PAGE = "docs/cli.md"
CONFIG_PAGE = "docs/configuration.md"
ENGINE_PAGE = "docs/engine.md"
INSPECTION_PAGE = "docs/inspection.md"


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
        ENGINE_PAGE: {"markers": marker_table()},
        INSPECTION_PAGE: {"architectures": architecture_table()},
    }


def marker_table() -> str:
    """docs/engine.md's table of header markers, from the data the checks use."""
    rows = [
        (
            code(m.pattern),
            m.match.value,
            ", ".join(sorted(m.weight_dtypes)) or "any",
            ", ".join(sorted(m.own_dtypes)) or "any",
            m.comfyui,
            m.capability,
            m.source,
        )
        for m in MARKERS
    ]
    header = ["marker", "matched as", "layer weight", "marker dtype", "ComfyUI >=", "means"]
    header.append("source")
    return table(header, rows)


def architecture_table() -> str:
    """docs/inspection.md's table of families, from the data detection uses."""
    rows = [
        (
            code(f.name),
            f.label,
            f.kind,
            ", ".join(code(key) for key in f.requires),
            ", ".join(f"{code(v.name)} ({v.label})" for v in f.variants) or "-",
            f.nominal_params,
            # "blocks.N.(self_attn|...)": the pattern without its regex punctuation, which
            # markdown would read as a link.
            code(f.lora_modules.lstrip("^").replace("[._]\\d+[._]", ".N."))
            if f.lora_modules
            else "-",
        )
        for f in FAMILIES
    ]
    header = ["family", "label", "role", "marker tensors", "variants", "parameters"]
    return table([*header, "lora modules"], rows)


def generated_pages(root: Path) -> dict[str, str]:
    """Each page as it should read: its prose as committed, its blocks regenerated."""
    return {
        relative: splice((root / relative).read_text(encoding="utf-8"), blocks)
        for relative, blocks in generated_blocks().items()
    }
