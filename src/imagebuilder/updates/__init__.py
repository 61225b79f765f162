"""check-updates and update: where to look, release tokens, planning, the proposal,
applying it, and its table and Markdown.

May import ``errors``, ``project``, ``hub`` and ``weights``.
"""
