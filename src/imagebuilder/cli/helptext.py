"""Help screens that fit an 80-column terminal and name values by what they are.

Typer's rich help panels cut long option names and defaults at 80 columns and show
Python type names (``<bool>``, ``<list[str]>``); the app uses Click's plain formatter,
which wraps instead of cutting. Every value an option or argument takes gets a metavar
here, in one place: its own when the option names one, else one from its type (PATH,
TEXT, N, NUMBER); flags take none. Every command's help ends with the global options,
which work before or after the command name.
"""

from __future__ import annotations

import typing
from typing import Any

GLOBAL_OPTIONS_EPILOG = (
    "Global options work before or after the command name: --debug, --deadline "
    "MINUTES (see imagebuilder --help)."
)

# Python types of option values -> the metavar a user reads.
_METAVARS = {"str": "TEXT", "int": "N", "float": "NUMBER", "Path": "PATH", "bool": "BOOL"}


def metavar_for(param: Any) -> str:
    """Typer parameters are read by attribute (its vendored Click has no public types)."""
    if param.param_type_name == "argument":
        return str(param.name).upper()
    described = param.type_descriptor
    if described.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in described.choices) + "]"
    if described.is_path:
        return "PATH"
    annotation = described.annotation
    if described.is_list:
        (annotation,) = typing.get_args(annotation)
    return _METAVARS.get(getattr(annotation, "__name__", ""), "VALUE")


def _no_type(ctx: Any) -> None:
    return None


def finish(command: Any, *, root: bool = True) -> Any:
    """Name every value of ``command`` and its subcommands; give each subcommand the epilog."""
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = metavar_for(param)
        if param.param_type_name == "argument":
            # An argument's name is its metavar already (LEFT); Typer would add "<str>".
            param.display_type_rich = _no_type
    if not root:
        if command.epilog is None:
            command.epilog = GLOBAL_OPTIONS_EPILOG
        if command.short_help is None and command.help:
            # The whole first paragraph, wrapped in the command list; Click's default
            # cuts it to fit one line ("Check models.yaml (schema, repo ids, paths,...").
            command.short_help = " ".join(command.help.split("\n\n")[0].split())
    for sub in getattr(command, "commands", {}).values():
        finish(sub, root=False)
    return command
