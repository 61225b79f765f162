"""`imagebuilder publish`: assemble the image in the registry, without a daemon.

Part of ``imagebuilder.image``; same import rules.
"""
