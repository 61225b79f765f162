"""The command line: a thin shell over the core modules.

The single translation point for errors: every ImageBuilderError becomes a message on
stderr (and JSON on stdout with --json) plus its documented exit code; a traceback
appears only with --debug.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
import typer.main

from imagebuilder import __version__, network
from imagebuilder.cli import abtest as test_command
from imagebuilder.cli import core, helptext, output
from imagebuilder.cli import doctor as doctor_command
from imagebuilder.cli import image as image_commands
from imagebuilder.cli import init as init_command
from imagebuilder.cli import inspect as inspect_command
from imagebuilder.cli import publish as publish_command
from imagebuilder.cli import updates as update_commands
from imagebuilder.cli import verify as verify_command
from imagebuilder.cli import workflows as workflow_commands
from imagebuilder.errors import CommandAborted, ConfigErrors, ExitCode, ImageBuilderError

app = typer.Typer(
    name="imagebuilder",
    help="Keep a ComfyUI GPU worker image declarative, verified, current and cheap.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)


class _State:
    debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks for errors.", envvar="IMAGEBUILDER_DEBUG"),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            min=0.01,
            metavar="MINUTES",
            envvar=network.DEADLINE_ENV,
            help="Give up on the network after this many minutes for the whole command "
            f"(default {network.DEFAULT_DEADLINE_MIN:g}).",
        ),
    ] = None,
) -> None:
    _State.debug = debug
    network.reset()
    network.DEADLINE.start(deadline)
    _quiet_network_logs(debug)


def _quiet_network_logs(debug: bool) -> None:
    """Retry chatter (ours and the Hub client's) only with --debug: the error says it all."""
    ours = logging.getLogger("imagebuilder")
    if not any(isinstance(handler, _StderrLog) for handler in ours.handlers):
        ours.addHandler(_StderrLog())
    ours.setLevel(logging.DEBUG if debug else logging.WARNING)
    network.quiet_client_logs(debug)


class _StderrLog(logging.Handler):
    """Log lines to whatever sys.stderr is now (the CLI may run many times in a process)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = output.printable(record.getMessage())
        sys.stderr.write(f"{record.levelname.lower()}: {message}\n")


# `--help` lists commands in this order: the order of a cycle, as docs/cli.md does.
core.register(app)
update_commands.register(app)
inspect_command.register(app)
verify_command.register(app)
workflow_commands.register(app)
image_commands.register(app)
publish_command.register(app)
test_command.register(app)
init_command.register(app)
doctor_command.register(app)


def _github_annotations(error: ImageBuilderError) -> None:
    """In GitHub Actions, point config errors at their line in the PR view."""
    if "GITHUB_ACTIONS" not in os.environ:
        return
    problems = error.problems if isinstance(error, ConfigErrors) else [error]
    for problem in problems:
        file = getattr(problem, "file", None)
        line = getattr(problem, "line", None)
        where = f" file={file},line={line}" if file and line else ""
        text = output.printable(problem.message).replace("%", "%25").replace("\n", "%0A")
        sys.stderr.write(f"::error{where}::{text}\n")


def hoist_global_options(args: list[str]) -> list[str]:
    """--debug and --deadline belong to the root, but users type them after the command
    name too (`imagebuilder test --deadline 5 ...`): move them in front. Nothing after a
    bare `--` moves; a --deadline without a value stays where it is for Click to refuse."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg == "--debug" or arg.startswith("--deadline="):
            hoisted.append(arg)
        elif arg == "--deadline" and index + 1 < len(args):
            hoisted.extend(args[index : index + 2])
            index += 1
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    output.start_command()
    json_requested = "--json" in args
    args = hoist_global_options(args)
    try:
        # Standalone mode: Typer prints usage errors itself (exit 2) and always ends
        # with SystemExit carrying the command's exit code.
        helptext.finish(typer.main.get_command(app))(args=args, prog_name="imagebuilder")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except (ImageBuilderError, CommandAborted) as raised:
        error = raised.error if isinstance(raised, CommandAborted) else raised
        if _State.debug:
            import traceback

            traceback.print_exc()
        # Messages can quote registry or Hub answers: no escape sequence reaches the terminal.
        output.error(output.printable(error.render()))
        _github_annotations(error)
        if json_requested:
            output.emit_json(error.as_dict())
        return int(error.exit_code)
    except KeyboardInterrupt:
        output.stderr.print("interrupted", markup=False)
        return int(ExitCode.INTERRUPTED)
    except Exception as error:
        if _State.debug:
            import traceback

            traceback.print_exc()
        output.stderr.print(
            f"internal error: {type(error).__name__}: {error}\n"
            "  hint: re-run with --debug and report the traceback",
            markup=False,
            style="red",
        )
        return int(ExitCode.INTERNAL)
    return 0


def run() -> None:
    sys.exit(main())
