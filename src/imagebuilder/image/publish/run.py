"""Publish: base layers, model layers, the files layer, config, manifest, then tags.
(``publish --check`` computes the same image without moving anything: ``check``.)

The order is the safety property: every blob exists before the manifest is PUT, and the
manifest (by digest) exists before any tag points at it. A failure anywhere before
that leaves the registry with orphan blobs at most (reused by the next run), never a
tag on an incomplete image.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from imagebuilder.hub.client import Hub
from imagebuilder.image import startplan
from imagebuilder.image.publish.blobs import ensure_base_layer, ensure_small_blob
from imagebuilder.image.publish.modeljobs import UploadLayer, model_layers, with_remembered_digests
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
    BuiltImage,
    Descriptor,
    NewLayer,
    assemble_image,
    base_layer_list,
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
    log: Callable[[str], None] = lambda _message: None,
) -> PublishResult:
    """Every blob into the target repository, then the manifest, then the tags."""
    repository = request.target.repository
    log(f"reading base image {request.base}")
    base_manifest, base_config = read_base(base_registry, request.base, request.platform)
    base_reports = [
        _base_report(layer, target, base_registry, request)
        for layer in base_layer_list(base_manifest)
    ]
    request = with_remembered_digests(target, request)
    log(f"publishing {len(request.plans)} model layer(s)")
    job = UploadLayer(hub, target, repository, on_layer)
    model_reports = model_layers(request.plans, request.parallel, job)
    files_digest = sha256_digest(request.files_layer)
    files = files_report(
        request, ensure_small_blob(target, repository, request.files_layer, files_digest)
    )
    image = assemble(request, base_manifest, base_config, [*model_reports, files], log)
    result = PublishResult(
        repository=request.target.name,
        digest=sha256_digest(image.manifest),
        tags=list(request.tags),
        layers=[*base_reports, *model_reports, files],
    )
    result.tags = result.tags or [digest_tag(result.digest)]
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


def files_report(request: PublishRequest, action: Action) -> LayerReport:
    """The small last layer (the lock, the workflows, the join step), as reported."""
    size = len(request.files_layer)
    return LayerReport(
        "files", "workflows+lock", sha256_digest(request.files_layer), size, action.value,
        sent_bytes=size if action is Action.UPLOADED else 0, history=FILES_HISTORY,
    )  # fmt: skip


def assemble(
    request: PublishRequest,
    base_manifest: dict[str, Any],
    base_config: dict[str, Any],
    layers: list[LayerReport],
    log: Callable[[str], None] = lambda _message: None,
) -> BuiltImage:
    """The image's config and manifest: the base's, plus ``layers`` (model and files)."""
    new_layers = [
        NewLayer(Descriptor(LAYER_MEDIA_TYPE, r.digest, r.size), r.digest, r.history)
        for r in layers
    ]
    entrypoint = start_entrypoint(request, base_config, log)
    return assemble_image(
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


def start_entrypoint(
    request: PublishRequest, base_config: dict[str, Any], log: Callable[[str], None]
) -> list[str] | None:
    """The image's entrypoint: the start path (it joins split files itself) or the join
    step, each before the base's own entrypoint; the base's Cmd stays as it is."""
    runtime = base_config.get("config") or {}
    base_entrypoint = [str(word) for word in runtime.get("Entrypoint") or []]
    if request.start_command is not None:
        base_command = [*base_entrypoint, *[str(word) for word in runtime.get("Cmd") or []]]
        if request.start_command and list(request.start_command) != base_command:
            log(
                f"warning: models.yaml start.base_command {list(request.start_command)} is "
                f"not what the base runs ({base_command}); the image runs the base's, and a "
                "Dockerfile built from this project would run models.yaml's"
            )
        return startplan.entrypoint(base_entrypoint)
    if request.split:
        return ["/bin/sh", JOIN_SCRIPT, *base_entrypoint]
    return None


def digest_tag(digest: str) -> str:
    """publish's default tag, ``models-`` and 16 hex of the manifest digest (so a function
    of the lock, the base and the workflows). Not the Docker path's content tag, which
    hashes the build context: the two paths make different images of the same stack."""
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
