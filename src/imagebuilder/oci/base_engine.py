"""Which ComfyUI a base image carries, read from its registry: no Docker, no full pull.

The manifest and config come first (a few kB); then layers are streamed from the top
down, because the layer that wrote ComfyUI last is the one the container sees, and
ComfyUI's files sort early in a layer (``comfyui/`` before ``opt/`` and ``usr/``). The
search stops inside the first layer that holds ``<root>/comfyui_version.py``, once that
file and the git HEAD under ``<root>/.git`` are read; layers below (CUDA, the OS) are
never touched. Every byte is counted (``bytes_read``) and bounded (``ScanLimits``).

The version file is parsed with ``ast`` and never run. Python and torch versions come
from the ``torch-*.dist-info`` folder name when the layers read pass one.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from imagebuilder.errors import RegistryError
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.image import INDEX_TYPES, config_descriptor, parse_json, pick_platform
from imagebuilder.oci.layer_scan import ScanBudget, Wanted, scan_layer
from imagebuilder.oci.reference import ImageReference
from imagebuilder.project.comfyversion import ComfyVersion

_GZIP_TYPES = ("+gzip", ".tar.gzip")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_TORCH = re.compile(
    r"/lib/python(?P<python>\d+\.\d+)/(?:site|dist)-packages/torch-(?P<torch>[^/]+)\.dist-info(?:/|$)"
)
VERSION_FILE = "comfyui_version.py"


@dataclass(frozen=True)
class ScanLimits:
    max_compressed: int = 2 << 30  # a worker's ComfyUI layer with torch is ~3 GB; its
    # ComfyUI files come first in it, so a real search reads far less
    max_decompressed: int = 8 << 30
    max_layers: int = 32
    version_file: int = 64 << 10
    git_file: int = 1 << 20


@dataclass(frozen=True)
class BaseEngine:
    """What a base image says about its ComfyUI, and where each fact came from."""

    base: str  # registry/repository@digest
    comfyui_version: str
    commit: str | None
    python: str | None
    torch: str | None
    sources: dict[str, str]
    bytes_read: int  # manifest + config + compressed layer bytes, from the registry
    layers_read: int
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "notes": list(self.notes)}


def read_base_engine(
    client: RegistryClient, ref: ImageReference, comfyui_root: str,
    limits: ScanLimits = ScanLimits(),
) -> BaseEngine:  # fmt: skip
    """The ComfyUI version (and commit, Python, torch where visible) of ``ref``."""
    reference = ref.digest or ref.tag or "latest"
    manifest = client.get_manifest(ref.repository, reference)
    read = len(manifest.body)
    data = parse_json(manifest.body, "manifest")
    if manifest.media_type in INDEX_TYPES or "manifests" in data:
        manifest = client.get_manifest(ref.repository, pick_platform(data, "linux", "amd64"))
        read += len(manifest.body)
        data = parse_json(manifest.body, "manifest")
    config_body = client.read_blob(ref.repository, config_descriptor(data).digest)
    read += len(config_body)
    name = f"{ref.name}@{manifest.digest}"
    root = comfyui_root.strip("/")
    wanted = Wanted(
        limits={
            f"{root}/{VERSION_FILE}": limits.version_file,
            f"{root}/.git/HEAD": limits.git_file,
            f"{root}/.git/packed-refs": limits.git_file,
        },
        prefixes={f"{root}/.git/refs/": limits.git_file},
        watch=lambda path: _TORCH.search(path) is not None,
    )
    budget = ScanBudget(limits.max_compressed, limits.max_decompressed)
    layers = [_layer(raw) for raw in data.get("layers") or []]
    version_at = None
    for digest, media_type in reversed(layers[-limits.max_layers :]):
        where = f"{name} layer {digest[:19]}"
        if "zstd" in media_type or not media_type.endswith(("tar", *_GZIP_TYPES)):
            raise RegistryError(
                f"layer of type {media_type!r} cannot be read for the ComfyUI version",
                location=where, hint="use a base image with tar or tar+gzip layers",
            )  # fmt: skip
        with client.stream_blob(ref.repository, digest) as chunks:
            scan_layer(
                chunks, gzip=media_type.endswith(_GZIP_TYPES), wanted=wanted, budget=budget,
                where=where, digest=digest, done=lambda w: _complete(w, root),
            )  # fmt: skip
        if f"{root}/{VERSION_FILE}" in wanted.found:
            version_at = digest
            break
    if version_at is None:
        raise RegistryError(
            f"no /{root}/{VERSION_FILE} in the top {min(len(layers), limits.max_layers)} "
            "layers of the base image: it does not carry ComfyUI where image.comfyui_root says",
            location=name,
            hint="set image.comfyui_root to where the base installs ComfyUI, or pick a "
            "ComfyUI worker base",
        )
    return _facts(
        name, root, wanted, layer=version_at, read=read + budget.compressed, layers=budget.layers
    )


def _layer(raw: Any) -> tuple[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("digest"), str):
        raise RegistryError("the base image's manifest has a malformed layer entry")
    digest = raw["digest"]
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise RegistryError(f"the base image's manifest has a bad layer digest {digest[:80]!a}")
    return digest, str(raw.get("mediaType", ""))


def _complete(wanted: Wanted, root: str) -> bool:
    """The version file and a resolved commit are at hand: stop reading."""
    return f"{root}/{VERSION_FILE}" in wanted.found and _commit(wanted, root)[0] is not None


def _commit(wanted: Wanted, root: str) -> tuple[str | None, str]:
    head = wanted.found.get(f"{root}/.git/HEAD", b"").decode("ascii", "replace").strip()
    if _SHA.match(head):
        return head, f"/{root}/.git/HEAD"
    ref = head.removeprefix("ref: ").strip() if head.startswith("ref: ") else ""
    if not ref.startswith("refs/") or ".." in ref:
        return None, ""
    loose = wanted.found.get(f"{root}/.git/{ref}", b"").decode("ascii", "replace").strip()
    if _SHA.match(loose):
        return loose, f"/{root}/.git/{ref}"
    packed = wanted.found.get(f"{root}/.git/packed-refs", b"").decode("ascii", "replace")
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name.strip() == ref and _SHA.match(sha):
            return sha, f"/{root}/.git/packed-refs ({ref})"
    return None, ""


def parse_version_file(text: bytes, where: str) -> ComfyVersion:
    """``__version__ = "0.3.64"`` from comfyui_version.py, parsed, never executed."""
    try:
        tree = ast.parse(text.decode("utf-8"))
    except (UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        raise RegistryError(
            f"{VERSION_FILE} in the base image is not Python source", location=where
        ) from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            try:
                return ComfyVersion.parse(node.value.value)
            except ValueError as error:
                raise RegistryError(f"{VERSION_FILE}: {error}", location=where) from None
    raise RegistryError(f'{VERSION_FILE} has no `__version__ = "..."` line', location=where)


def _facts(
    name: str, root: str, wanted: Wanted, *, layer: str, read: int, layers: int
) -> BaseEngine:
    path = f"/{root}/{VERSION_FILE}"
    version = parse_version_file(wanted.found[f"{root}/{VERSION_FILE}"], f"{name}:{path}")
    sources = {"comfyui_version": f"{path} in layer {layer}"}
    commit, commit_source = _commit(wanted, root)
    notes = []
    if commit is not None:
        sources["commit"] = f"{commit_source} in the base image"
    else:
        notes.append(f"no readable git HEAD under /{root}/.git: the commit is unknown")
    python = torch = None
    for seen in wanted.seen_names:
        match = _TORCH.search(seen)
        if match:
            python, torch = match.group("python"), match.group("torch")
            sources["python"] = sources["torch"] = f"/{seen} in the base image"
            break
    return BaseEngine(
        base=name, comfyui_version=str(version), commit=commit, python=python, torch=torch,
        sources=sources, bytes_read=read, layers_read=layers, notes=tuple(notes),
    )  # fmt: skip
