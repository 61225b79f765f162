"""The model layers of one publish: reuse what the registry has, stream the rest.

A few files move at once; the first failure cancels the others, and the error that
caused it (not a cancellation) is the one raised.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from imagebuilder.hub.client import Hub
from imagebuilder.image.layers import DigestSource, ModelLayerPlan
from imagebuilder.image.publish.modelstream import Cancelled, move_model_layers
from imagebuilder.image.publish.plan import Action
from imagebuilder.image.publish.previous import history_line, remembered_digests
from imagebuilder.image.publish.request import LayerDone, LayerReport, PublishRequest
from imagebuilder.oci.client import RegistryClient


def _reports(
    plan: ModelLayerPlan, digests: list[str], action: Action, started: float
) -> list[LayerReport]:
    seconds = time.monotonic() - started
    return [
        LayerReport(
            "model",
            layer.name,
            digest,
            layer.layout().total_size,
            action.value,
            seconds=seconds,
            history=history_line(layer),
        )
        for layer, digest in zip(plan.layers, digests, strict=True)
    ]


def _reusable(
    client: RegistryClient, repository: str, plan: ModelLayerPlan, check_only: bool
) -> list[str] | None:
    """The cached digests, if the registry has every one at the expected size."""
    cached = list(plan.known_digests)
    if not cached:
        return None
    if check_only:
        return cached  # --check recomputes the digest from the lock; it moves nothing
    for layer, digest in zip(plan.layers, cached, strict=True):
        # One HEAD per layer: the size pins the path too (tar headers grow with it).
        if client.blob_size(repository, digest) != layer.layout().total_size:
            return None
    return cached


def model_layer(
    hub: Hub,
    client: RegistryClient,
    repository: str,
    plan: ModelLayerPlan,
    *,
    check_only: bool,
    cancel: threading.Event,
    on_layer: LayerDone,
) -> list[LayerReport]:
    started = time.monotonic()
    reused = _reusable(client, repository, plan, check_only)
    if reused is not None:
        if plan.known_from is DigestSource.REGISTRY and not check_only and not plan.parts:
            on_layer(plan.source.name, reused[0])
        return _reports(plan, reused, Action.REUSED, started)
    digests, transfer = move_model_layers(
        hub, None if check_only else client, repository, plan.source, list(plan.layers),
        cancel=cancel,
    )  # fmt: skip
    if not check_only and not plan.parts:
        # Recorded at once: a publish interrupted later resumes without this layer.
        on_layer(plan.source.name, digests[0])
    reports = _reports(plan, digests, Action.COMPUTED if check_only else Action.UPLOADED, started)
    reports[0].hub_bytes, reports[0].sent_bytes = transfer.hub_bytes, transfer.sent_bytes
    return reports


def _first_failure(futures: list[Future[list[LayerReport]]]) -> BaseException:
    failures = [f.exception() for f in futures if not f.cancelled() and f.exception()]
    real = [error for error in failures if error and not isinstance(error, Cancelled)]
    found = (real or failures)[0]
    assert found is not None
    return found


def model_layers(
    hub: Hub,
    client: RegistryClient,
    request: PublishRequest,
    on_layer: LayerDone,
    check_only: bool,
) -> list[LayerReport]:
    """All model layers, a few files at a time, in the request's layer order."""
    cancel = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, request.parallel)) as pool:
        futures = [
            pool.submit(
                model_layer,
                hub,
                client,
                request.target.repository,
                plan,
                check_only=check_only,
                cancel=cancel,
                on_layer=on_layer,
            )
            for plan in request.plans
        ]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(future.exception() for future in done):
            cancel.set()
            for future in futures:
                future.cancel()
            wait(futures)
            raise _first_failure(futures)
        return [report for future in futures for report in future.result()]


def _with_known(plan: ModelLayerPlan, known: dict[str, str]) -> ModelLayerPlan:
    if plan.known_digests:
        return plan
    lines = [history_line(layer) for layer in plan.layers]
    if not all(line in known for line in lines):
        return plan
    digests = tuple(known[line] for line in lines)
    return replace(plan, known_digests=digests, known_from=DigestSource.REGISTRY)


def with_remembered_digests(client: RegistryClient, request: PublishRequest) -> PublishRequest:
    """Fill digests the lock lacks from what the tags' current images say (see previous)."""
    if all(plan.known_digests for plan in request.plans):
        return request
    tags = dict.fromkeys([*request.tags, *request.previous_tags])
    known = remembered_digests(client, request.target.repository, tags)
    return replace(request, plans=tuple(_with_known(plan, known) for plan in request.plans))
