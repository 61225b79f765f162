"""`imagebuilder publish`: assemble the image in the registry, without a daemon."""
