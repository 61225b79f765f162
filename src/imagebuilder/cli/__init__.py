"""The command line: the Typer app, one thin module per command group, output and tables.

Parses options, calls one domain function, prints the result; the one place where
ImageBuilderError becomes a message and an exit code; command modules do not import each
other (shared options live in ``_common``). May import ``errors``, ``network``,
``project``, ``hub``, ``weights``, ``oci``, ``comfy``, ``updates``, ``image`` and ``abtest``.
"""

from imagebuilder.cli.app import app, main, run

__all__ = ["app", "main", "run"]
