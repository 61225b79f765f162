"""What model files say about themselves: the safetensors header parser, remote and local
header reads, summaries, LoRA key conventions, compatibility, the memory budget, and the
`verify` and `inspect` checks built on them.

The parser and the summaries are pure functions over bytes and headers; the reads go
through ``imagebuilder.hub``. May import ``errors``, ``project`` and ``hub``.
"""
