"""The OCI registry: the distribution protocol with auth and retries, image references,
canonical config and manifests, deterministic tar layers, and the registry client.

Used by both image paths. May import ``errors``, ``network`` (the retry policy), ``origins`` and
``project``.
"""
