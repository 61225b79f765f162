"""The folder the entrypoint puts first on the wrapped command's PYTHONPATH."""
