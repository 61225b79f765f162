"""The project on disk: the models.yaml schema, loading with line numbers, round-trip
edits, the lock file, A/B variants, atomic file writes.

Pure data and files. May import ``errors``.
"""
