"""The fault-injection suite: every network command through tests/faultproxy, per fault.

`matrix.py` is the list of cases and their expected outcomes (the table in docs/faults.md
is generated from it: `uv run python tests/faults/table.py --write`).
"""
