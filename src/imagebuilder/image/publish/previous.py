"""Layer digests remembered by the registry itself, for runs whose lock does not have them.

A CI release job cannot commit the lock back, so its lock never learns layer digests.
The previously published image knows them: each model layer's history entry names the
entry, repo@commit, file and path, and (uncompressed layers) its diff_id is its digest.
Reading one manifest and one config per tag turns that into the same cache the lock
keeps, so a release after a LoRA bump still streams only the LoRA.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from imagebuilder.errors import ImageBuilderError
from imagebuilder.image.layers import ModelSource
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.image import config_descriptor, parse_json

HISTORY_PREFIX = "imagebuilder publish: "
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def history_line(source: ModelSource) -> str:
    """What a model layer's history says: the immutable source and the path it fills."""
    return (
        f"{HISTORY_PREFIX}{source.name} {source.pin.repo}@{source.pin.commit} "
        f"{source.pin.path} -> /{source.layer_path}"
    )


def digests_by_history(config: Mapping[str, object]) -> dict[str, str]:
    """history text -> diff_id, pairing non-empty history entries with rootfs layers."""
    history = config.get("history")
    rootfs = config.get("rootfs")
    if not isinstance(history, list) or not isinstance(rootfs, dict):
        return {}
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list):
        return {}
    layered = [h for h in history if isinstance(h, dict) and not h.get("empty_layer")]
    if len(layered) != len(diff_ids):
        return {}  # a config we did not write: trust nothing in it
    # Only well-formed digests: a remembered digest goes into blob URLs and the manifest.
    return {
        str(entry.get("created_by", "")): diff_id
        for entry, diff_id in zip(layered, diff_ids, strict=True)
        if str(entry.get("created_by", "")).startswith(HISTORY_PREFIX)
        and isinstance(diff_id, str)
        and _DIGEST.match(diff_id)
    }


def remembered_digests(
    client: RegistryClient, repository: str, tags: Iterable[str]
) -> dict[str, str]:
    """history text -> layer digest, from whatever the given tags point at now."""
    found: dict[str, str] = {}
    for tag in tags:
        if client.manifest_digest(repository, tag) is None:
            continue
        try:
            manifest = parse_json(client.get_manifest(repository, tag).body, "manifest")
            config_digest = config_descriptor(manifest).digest
            config = parse_json(client.read_blob(repository, config_digest), "config")
        except ImageBuilderError:
            continue  # an index or a foreign image under this tag: nothing to learn
        found |= digests_by_history(config)
    return found
