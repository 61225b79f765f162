"""All Hugging Face Hub access (through huggingface_hub only), its failures, checks on
what it answers, and resolving models.yaml into a lock.

May import ``errors``, ``network`` (the retry policy) and ``project``.
"""
