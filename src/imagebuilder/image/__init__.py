"""The worker image: the layer plan both paths use (``layers``), the Dockerfile render,
the Docker Engine path (build) and the daemon-free registry path (publish).

May import ``errors``, ``network``, ``project``, ``hub``, ``comfy`` and ``oci``.
"""
