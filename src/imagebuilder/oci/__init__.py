"""A daemon-free OCI registry client and image assembly, used by `imagebuilder publish`."""
