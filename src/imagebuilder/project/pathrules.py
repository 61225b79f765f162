"""Values that become paths: in the repo (URLs), in the image (files), in ComfyUI folders.

Each rule refuses '.' and '..' (as a value or a segment), control and bidi characters,
and pickle-based formats: a name is where a file lands and which loader ComfyUI picks.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from imagebuilder.project.characters import first_unsafe

PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})


def check_repo_path(value: str) -> str:
    """A model file's path in its repo: safe, and a .safetensors file."""
    return _safetensors_suffix(check_safe_repo_path(value))


def check_safe_repo_path(value: str) -> str:
    """Any file's path in its repo (a workflow JSON): relative, no '..', nothing hidden."""
    if (
        not value
        or value.startswith("/")
        or "\\" in value
        or any(part in ("", ".", "..") for part in value.split("/"))
        or first_unsafe(value) is not None
    ):
        raise ValueError(
            f"{value!r} is not a safe relative path in the repo "
            "(no leading '/', no '..', no backslashes, control or bidi characters)"
        )
    return value


def _safetensors_suffix(value: str) -> str:
    suffix = PurePosixPath(value).suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise ValueError(
            f"{value!r} is a pickle-based format ({suffix}), refused: loading it can run "
            "arbitrary code; use the .safetensors release of this model"
        )
    if suffix != ".safetensors":
        raise ValueError(f"{value!r} is not a .safetensors file; only safetensors are supported")
    return value


def check_dest_filename(value: str) -> str:
    """The name a model gets in its ComfyUI folder: one plain path segment, safetensors.

    ComfyUI picks the loader by extension, so a safetensors file named ``x.ckpt`` would be
    unpickled; '.' and '..' would write the model over its folder or its parent.
    """
    if value in (".", ".."):
        raise ValueError(f"{value!r} is not a file name ('.' and '..' name folders)")
    return _safetensors_suffix(value)


def check_container_root(value: str) -> str:
    """An absolute, already-normal path in the image: no '.', '..' or empty segments."""
    parts = value.split("/")[1:]
    if value == "/":
        return value
    for part in parts:
        if part in (".", ".."):
            raise ValueError(f"{value!r} holds the segment {part!r}; write the path out in full")
        if part == "":
            raise ValueError(f"{value!r} holds an empty path segment ('//' or a trailing '/')")
    return value
