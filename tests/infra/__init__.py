"""Test infrastructure shared by the test modules (tests import it, never each other):
the real Docker Engine, registry and tiny base image (fixtures, registry, tinybase), a
project to build (project), the shipped and variant stacks (stacks), golden files (golden),
a server that answers whatever a test sets (liar), models.yaml and lock bytes (snapshot).
"""
