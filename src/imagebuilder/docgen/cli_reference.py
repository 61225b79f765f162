"""The CLI reference: every command of the Typer app, its arguments and options.

Read from the Click command tree Typer builds, so the page says exactly what
``imagebuilder COMMAND --help`` says. Typer vendors its own Click, whose classes are not
public types: parameters are read by attribute (name, opts, help, default, ...) only.
"""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any

import typer
import typer.main

from imagebuilder.docgen.markdown import code, table
from imagebuilder.errors import EXIT_CODE_MEANINGS, ExitCode

_VALUE_NAMES: dict[type, str] = {Path: "PATH", str: "TEXT", int: "INTEGER", float: "NUMBER"}


def command_tree(app: typer.Typer) -> Any:
    return typer.main.get_command(app)


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (list, tuple)


def _bare(annotation: Any) -> Any:
    """``list[str]`` -> str, ``Path | None`` -> Path."""
    if _is_list(annotation):
        return typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        real = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return real[0] if len(real) == 1 else annotation
    return annotation


def _value(param: Any) -> str:
    """What the option takes: a value kind, its range or choices; flags take nothing."""
    if getattr(param, "is_flag", False):
        return "flag"
    annotation = _bare(param.type_descriptor.annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        kind = "|".join(str(member.value) for member in annotation)
    else:
        kind = _VALUE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        kind += f" ({'' if low is None else low}..{'' if high is None else high})"
    if param.multiple:
        kind += ", repeatable"
    return kind


def _default(param: Any) -> str:
    default = param.default
    if getattr(param, "is_flag", False) or default is None or default in ([], ()):
        return ""
    return code(str(default))


def _argument_usage(param: Any) -> str:
    name = param.name.upper()
    many = param.nargs == -1 or _is_list(param.type_descriptor.annotation)
    text = f"{name}..." if many else name
    return text if param.required else f"[{text}]"


def _option_names(param: Any) -> str:
    names = [*param.opts, *param.secondary_opts]
    longs = [name for name in names if name.startswith("--")]
    shorts = [name for name in names if not name.startswith("--")]
    return ", ".join(code(name) for name in [*longs, *shorts])


def _help(param: Any) -> str:
    text = (param.help or "").strip()
    if param.envvar:
        text += f" Also set by {code(param.envvar)}."
    return text


def _visible(params: list[Any], kind: str) -> list[Any]:
    return [p for p in params if p.param_type_name == kind and not getattr(p, "hidden", False)]


def command_section(name: str, command: Any) -> str:
    arguments = _visible(command.params, "argument")
    options = _visible(command.params, "option")
    usage = " ".join(
        ["imagebuilder", name, "[OPTIONS]" if options else "", *map(_argument_usage, arguments)]
    )
    parts = [f"### `imagebuilder {name}`", "", "```", " ".join(usage.split()), "```"]
    parts += ["", (command.help or "").strip()]
    if arguments:
        rows = [[code(_argument_usage(p)), _value(p), _help(p)] for p in arguments]
        parts += ["", table(["argument", "value", "meaning"], rows)]
    if options:
        rows = [[_option_names(p), _value(p), _default(p), _help(p)] for p in options]
        parts += ["", table(["option", "value", "default", "meaning"], rows)]
    return "\n".join(parts)


def global_options(app: typer.Typer) -> str:
    options = _visible(command_tree(app).params, "option")
    rows = [[_option_names(p), _help(p)] for p in options]
    return table(["option", "meaning"], rows)


def commands_reference(app: typer.Typer) -> str:
    """A summary table in ``--help`` order, then one section per command."""
    commands = dict(command_tree(app).commands)
    summary = table(
        ["command", "what it does"],
        [
            [f"[{code(name)}](#imagebuilder-{name})", command.get_short_help_str(limit=300)]
            for name, command in commands.items()
        ],
    )
    sections = [command_section(name, command) for name, command in commands.items()]
    return "\n\n".join([summary, *sections])


def exit_codes_reference() -> str:
    missing = [code.name for code in ExitCode if code not in EXIT_CODE_MEANINGS]
    if missing:
        raise ValueError(f"add {', '.join(missing)} to EXIT_CODE_MEANINGS in errors.py")
    rows = [[str(int(exit_code)), EXIT_CODE_MEANINGS[exit_code]] for exit_code in ExitCode]
    return table(["code", "meaning"], rows)
