"""ComfyUI: loader nodes, the worker's workflows rendered from templates, their
consistency checks, import-template and the cost model.

May import ``errors`` and ``project``.
"""
