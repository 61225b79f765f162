"""`publish --check`: the image publish would make, computed; nothing is moved.

The base is read, each model layer's digest comes from the lock (or, when the lock has
none, from the file streamed from the Hub and hashed), the files layer and the manifest
are computed as publish computes them, and the result says whether the first tag
already points at that manifest. A check trusts only the lock: digests remembered by
the very tag it checks could not notice a layer whose content differs from the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from imagebuilder.errors import CheckFailed
from imagebuilder.hub.client import Hub
from imagebuilder.image.publish.modeljobs import compute_layer, model_layers
from imagebuilder.image.publish.plan import Action
from imagebuilder.image.publish.request import PublishRequest, PublishResult
from imagebuilder.image.publish.run import assemble, digest_tag, files_report, read_base
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.digest import sha256_digest


def check_published(
    *,
    hub: Hub,
    target: RegistryClient,
    base_registry: RegistryClient,
    request: PublishRequest,
    strict: bool = False,
    log: Callable[[str], None] = lambda _message: None,
) -> PublishResult:
    """The image's digest and what its first tag points at now. ``strict``: refuse
    instead of streaming what the lock cannot vouch for."""
    log(f"reading base image {request.base}")
    base_manifest, base_config = read_base(base_registry, request.base, request.platform)
    unvouched = [plan.source.name for plan in request.plans if not plan.known_digests]
    if strict and unvouched:
        raise CheckFailed(
            f"the lock has no layer digest for {', '.join(unvouched)}: "
            "--strict will not check what the lock cannot vouch for",
            location=request.target.name,
            hint="publish from this lock first (it records the digests), or drop "
            "--strict to stream and hash those files from the Hub",
        )
    log(f"checking {len(request.plans)} model layer(s)")
    model_reports = model_layers(request.plans, request.parallel, partial(compute_layer, hub))
    files = files_report(request, Action.COMPUTED)
    image = assemble(request, base_manifest, base_config, [*model_reports, files])
    digest = sha256_digest(image.manifest)
    tags = list(request.tags) or [digest_tag(digest)]
    return PublishResult(
        repository=request.target.name,
        digest=digest,
        tags=tags,
        layers=[*model_reports, files],
        checked=True,
        current_digest=target.manifest_digest(request.target.repository, tags[0]),
    )
