"""Publish: base layers, model layers, the files layer, config, manifest, then tags.

The order is the safety property: every blob exists before the manifest is PUT, and the
manifest (by digest) exists before any tag points at it. A failure anywhere before
that leaves the registry with orphan blobs at most (reused by the next run), never a
tag on an incomplete image.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from imagebuilder.errors import CheckFailed
from imagebuilder.hub.client import Hub
from imagebuilder.image.publish.blobs import ensure_base_layer, ensure_small_blob
from imagebuilder.image.publish.modeljobs import model_layers, with_remembered_digests
from imagebuilder.image.publish.plan import JOIN_SCRIPT, Action
from imagebuilder.image.publish.request import (
    LayerDone,
    LayerReport,
    PublishRequest,
    PublishResult,
)
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.digest import sha256_digest
from imagebuilder.oci.image import (
    INDEX_TYPES,
    OCI_MANIFEST,
    Descriptor,
    NewLayer,
    base_layer_list,
    build_image,
    config_descriptor,
    parse_json,
    pick_platform,
)
from imagebuilder.oci.reference import ImageReference
from imagebuilder.oci.tarlayer import LAYER_MEDIA_TYPE

FILES_HISTORY = "imagebuilder publish: models.lock.json and workflows"


def read_image(
    client: RegistryClient, repository: str, reference: str, platform: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An image's manifest and config (for ``platform`` when the reference is an index).

    Everything fetched by digest is verified against it; the config always is.
    """
    manifest = client.get_manifest(repository, reference)
    data = parse_json(manifest.body, "manifest")
    if manifest.media_type in INDEX_TYPES or "manifests" in data:
        chosen = pick_platform(data, *platform)
        data = parse_json(client.get_manifest(repository, chosen).body, "manifest")
    config_digest = config_descriptor(data).digest
    config = parse_json(client.read_blob(repository, config_digest), "config")
    return data, config


def read_base(
    client: RegistryClient, base: ImageReference, platform: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The base image's manifest and config, fetched by its pinned digest and verified."""
    assert base.digest is not None
    return read_image(client, base.repository, base.digest, platform)


def publish(
    *,
    hub: Hub,
    target: RegistryClient,
    base_registry: RegistryClient,
    request: PublishRequest,
    on_layer: LayerDone,
    check_only: bool = False,
    strict: bool = False,
    log: Callable[[str], None] = lambda _message: None,
) -> PublishResult:
    repository = request.target.repository
    result = PublishResult(repository=f"{request.target.name}", digest="", tags=list(request.tags))
    log(f"reading base image {request.base}")
    base_manifest, base_config = read_base(base_registry, request.base, request.platform)
    if not check_only:
        for layer in base_layer_list(base_manifest):
            result.layers.append(_base_report(layer, target, base_registry, request))
    if check_only:
        # A check trusts only the lock: digests remembered by the very tag it checks could
        # not notice a layer whose content differs from the lock. What the lock cannot
        # vouch for is streamed from the Hub and hashed, or (--strict) refused.
        unvouched = [plan.source.name for plan in request.plans if not plan.known_digests]
        if strict and unvouched:
            raise CheckFailed(
                f"the lock has no layer digest for {', '.join(unvouched)}: "
                "--strict will not check what the lock cannot vouch for",
                location=request.target.name,
                hint="publish from this lock first (it records the digests), or drop "
                "--strict to stream and hash those files from the Hub",
            )
    else:
        request = with_remembered_digests(target, request)
    log(f"{'checking' if check_only else 'publishing'} {len(request.plans)} model layer(s)")
    model_reports = model_layers(hub, target, request, on_layer, check_only)
    result.layers.extend(model_reports)
    files_digest = sha256_digest(request.files_layer)
    files_action = Action.COMPUTED
    if not check_only:
        files_action = ensure_small_blob(target, repository, request.files_layer, files_digest)
    size = len(request.files_layer)
    files_report = LayerReport(
        "files", "workflows+lock", files_digest, size, files_action.value,
        sent_bytes=size if files_action is Action.UPLOADED else 0, history=FILES_HISTORY,
    )  # fmt: skip
    result.layers.append(files_report)
    new_layers = [
        NewLayer(Descriptor(LAYER_MEDIA_TYPE, r.digest, r.size), r.digest, r.history)
        for r in [*model_reports, files_report]
    ]
    entrypoint = None
    if request.split:  # the join step runs first, then the base's own entrypoint
        base_entrypoint = (base_config.get("config") or {}).get("Entrypoint") or []
        entrypoint = ["/bin/sh", JOIN_SCRIPT, *base_entrypoint]
    image = build_image(
        base_manifest,
        base_config,
        new_layers,
        labels=request.labels,
        created=request.created,
        entrypoint=entrypoint,
        annotations={
            "org.opencontainers.image.base.name": str(request.base),
            "org.opencontainers.image.base.digest": request.base.digest or "",
        },
    )
    result.digest = sha256_digest(image.manifest)
    if not result.tags:
        result.tags = [content_tag(result.digest)]
    if check_only:
        result.checked = True
        result.current_digest = target.manifest_digest(repository, result.tags[0])
        return result
    config_digest = sha256_digest(image.config)
    action = ensure_small_blob(target, repository, image.config, config_digest)
    sent = len(image.config) if action is Action.UPLOADED else 0
    result.layers.append(
        LayerReport(
            "config", "config", config_digest, len(image.config), action.value, sent_bytes=sent
        )
    )
    log(f"pushing manifest {result.digest}")
    target.put_manifest(repository, result.digest, image.manifest, OCI_MANIFEST)
    for tag in result.tags:
        target.put_manifest(repository, tag, image.manifest, OCI_MANIFEST)
    return result


def content_tag(digest: str) -> str:
    """The default tag: a function of the manifest digest, so of the lock and the base."""
    return f"models-{digest.removeprefix('sha256:')[:16]}"


def _base_report(
    layer: Descriptor, target: RegistryClient, base: RegistryClient, request: PublishRequest
) -> LayerReport:
    started = time.monotonic()
    action, sent = ensure_base_layer(
        target, request.target.repository, base, request.base.repository, layer
    )
    return LayerReport(
        "base", layer.digest[7:19], layer.digest, layer.size, action.value,
        sent_bytes=sent, seconds=time.monotonic() - started,
    )  # fmt: skip
