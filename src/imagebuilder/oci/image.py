"""Image config and manifest as canonical JSON: same inputs, same bytes, same digest.

Pure functions over the base image's manifest and config plus the layers publish adds.
Nothing here reads a clock: the created time is an input (SOURCE_DATE_EPOCH or 0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imagebuilder.errors import RegistryError
from imagebuilder.oci.digest import sha256_digest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
# Docker's names for the same layer bytes; an OCI manifest must use the OCI names.
_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_LAYER_TYPES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": f"{_OCI_LAYER}+gzip",
    "application/vnd.docker.image.rootfs.diff.tar": _OCI_LAYER,
    f"{_OCI_LAYER}+gzip": f"{_OCI_LAYER}+gzip",
    f"{_OCI_LAYER}+zstd": f"{_OCI_LAYER}+zstd",
    _OCI_LAYER: _OCI_LAYER,
}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class NewLayer:
    descriptor: Descriptor
    diff_id: str  # uncompressed layers: equal to the digest
    created_by: str  # history text: what this layer holds and where it came from


@dataclass(frozen=True)
class BuiltImage:
    config: bytes
    manifest: bytes
    layers: tuple[Descriptor, ...]


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def created_time(source_date_epoch: str | None) -> str:
    """RFC 3339 from SOURCE_DATE_EPOCH; the Unix epoch when unset (never the clock)."""
    seconds = int(source_date_epoch) if source_date_epoch and source_date_epoch.isdigit() else 0
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _digest(value: Any, what: str) -> str:
    """A sha256 digest, nothing else: a digest is fetched (and trusted) as content-addressed,
    so a tag or a path here would let the registry serve unverified bytes."""
    if not isinstance(value, str) or not _DIGEST.match(value):
        raise RegistryError(f"the base image's {what} has no valid sha256 digest")
    return value


def _size(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RegistryError(f"the base image's {what} has no valid size")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RegistryError(f"the base image's {what} is not a JSON object")
    return value


def parse_json(body: bytes, what: str) -> dict[str, Any]:
    try:
        return _object(json.loads(body), what)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting
        raise RegistryError(f"the base image's {what} is not valid JSON") from None


def pick_platform(index: Mapping[str, Any], os_name: str, architecture: str) -> str:
    """The digest of the index entry for this platform."""
    for entry in index.get("manifests") or []:
        platform = entry.get("platform") or {} if isinstance(entry, dict) else {}
        if platform.get("os") == os_name and platform.get("architecture") == architecture:
            return _digest(entry.get("digest"), f"{os_name}/{architecture} index entry")
    raise RegistryError(
        f"the base image has no {os_name}/{architecture} variant",
        hint="pin image.base to a digest that has this platform",
    )


def config_descriptor(manifest: Mapping[str, Any]) -> Descriptor:
    config = _object(manifest.get("config"), "manifest config")
    return Descriptor(
        OCI_CONFIG,
        _digest(config.get("digest"), "config descriptor"),
        _size(config.get("size"), "config descriptor"),
    )


def base_layer_list(manifest: Mapping[str, Any]) -> list[Descriptor]:
    layers = []
    for raw in manifest.get("layers") or []:
        layer = _object(raw, "manifest layer")
        media_type = _LAYER_TYPES.get(str(layer.get("mediaType")))
        if media_type is None:
            raise RegistryError(
                f"the base image has a layer of type {layer.get('mediaType')!r}, which "
                "publish cannot copy",
                hint="use a base image with ordinary (tar or tar+gzip) layers",
            )
        digest = _digest(layer.get("digest"), "layer")
        layers.append(Descriptor(media_type, digest, _size(layer.get("size"), "layer")))
    return layers


BASE_WITHOUT_HISTORY = "base image layer (the base's config has no history for it)"


def _base_history(config: Mapping[str, Any], base_layers: int) -> list[Any]:
    """The base's history, lined up with its layers: one entry per non-empty layer, as
    readers (ours, to reuse layers; docker history) pair them. Bases built by ko, crane,
    kaniko or by hand may carry no history or less than their layers; those layers get a
    placeholder entry each, ahead of the base's own (it cannot say which layers they
    describe, so those become notes)."""
    history = [h for h in config.get("history") or [] if isinstance(h, dict)]
    layered = [h for h in history if not h.get("empty_layer")]
    if len(layered) == base_layers:
        return history
    created = config.get("created") if isinstance(config.get("created"), str) else None
    placeholder = {"created_by": BASE_WITHOUT_HISTORY} | ({"created": created} if created else {})
    notes = [h | {"empty_layer": True} for h in history]
    return [dict(placeholder) for _ in range(base_layers)] + notes


def assemble_image(
    base_manifest: Mapping[str, Any],
    base_config: Mapping[str, Any],
    new_layers: Sequence[NewLayer],
    *,
    labels: Mapping[str, str],
    created: str,
    annotations: Mapping[str, str] | None = None,
    entrypoint: list[str] | None = None,
) -> BuiltImage:
    config = json.loads(json.dumps(base_config))  # a deep copy of plain JSON
    runtime = config.setdefault("config", {})
    runtime["Labels"] = {**(runtime.get("Labels") or {}), **labels}
    if entrypoint is not None:
        runtime["Entrypoint"] = entrypoint
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    base_layers = len(rootfs.get("diff_ids", []))
    rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), *(n.diff_id for n in new_layers)]
    history = _base_history(config, base_layers)
    history += [{"created": created, "created_by": n.created_by} for n in new_layers]
    history.append(
        {"created": created, "created_by": "imagebuilder publish: labels", "empty_layer": True}
    )
    config["history"] = history
    config["created"] = created
    config_bytes = canonical_json(config)
    layers = (*base_layer_list(base_manifest), *(n.descriptor for n in new_layers))
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Descriptor(OCI_CONFIG, sha256_digest(config_bytes), len(config_bytes)).as_json(),
        "layers": [layer.as_json() for layer in layers],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    return BuiltImage(config_bytes, canonical_json(manifest), layers)
