"""What model files say about themselves: the safetensors header parser, remote and local
header reads, summaries, LoRA key conventions, compatibility and the memory budget.

Pure functions over bytes and headers; may import ``imagebuilder.errors`` and
``imagebuilder.project``.
"""
