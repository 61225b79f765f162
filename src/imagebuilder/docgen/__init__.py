"""Reference pages generated from the code: the CLI from the Typer app, models.yaml from
the pydantic schema, the exit codes from the errors module.

Each page under docs/ keeps its hand-written prose; only the blocks between
``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->`` are rewritten.
Regenerate with ``uv run python -m imagebuilder.docgen``; ``--check`` fails when a page
is stale (a test runs the same check).

A developer tool shipped with the package so that it reads the installed CLI; nothing
imports it. May import every other package (it walks the Typer app of ``cli``).
"""
