"""`python -m imagebuilder`: the same CLI as the `imagebuilder` console script."""

from imagebuilder.cli import run

run()
