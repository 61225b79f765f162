"""The model layers of one publish: reuse what the registry has, stream the rest.

A few files move at once; the first failure cancels the others, and the error that
caused it (not a cancellation) is the one raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from imagebuilder.hub.client import Hub
from imagebuilder.image.layers import DigestSource, ModelLayerPlan
from imagebuilder.image.publish.modelstream import Cancelled, Transfer, move_model_layers
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


def _reusable(client: RegistryClient, repository: str, plan: ModelLayerPlan) -> list[str] | None:
    """The known digests, if the registry has every one at the expected size."""
    known = list(plan.known_digests)
    if not known:
        return None
    for layer, digest in zip(plan.layers, known, strict=True):
        # One HEAD per layer: the size pins the path too (tar headers grow with it).
        if client.blob_size(repository, digest) != layer.layout().total_size:
            return None
    return known


@dataclass(frozen=True)
class UploadLayer:
    """publish's job for one model file: reuse the layer the registry has, else stream it
    from the Hub and upload it, recording each new digest through ``on_layer``."""

    hub: Hub
    client: RegistryClient
    repository: str
    on_layer: LayerDone

    def __call__(self, plan: ModelLayerPlan, cancel: threading.Event) -> list[LayerReport]:
        started = time.monotonic()
        reused = _reusable(self.client, self.repository, plan)
        if reused is not None:
            if plan.known_from is DigestSource.REGISTRY and not plan.parts:
                self.on_layer(plan.source.name, reused[0])
            return _reports(plan, reused, Action.REUSED, started)
        digests, transfer = move_model_layers(
            self.hub, self.client, self.repository, plan.source, list(plan.layers),
            cancel=cancel,
        )  # fmt: skip
        if not plan.parts:
            # Recorded at once: a publish interrupted later resumes without this layer.
            self.on_layer(plan.source.name, digests[0])
        return _with_transfer(_reports(plan, digests, Action.UPLOADED, started), transfer)


def compute_layer(hub: Hub, plan: ModelLayerPlan, cancel: threading.Event) -> list[LayerReport]:
    """publish --check: the lock's digests when it has them (a check moves nothing), else
    the file streamed from the Hub and hashed."""
    started = time.monotonic()
    if plan.known_digests:
        return _reports(plan, list(plan.known_digests), Action.REUSED, started)
    digests, transfer = move_model_layers(
        hub, None, "", plan.source, list(plan.layers), cancel=cancel
    )
    return _with_transfer(_reports(plan, digests, Action.COMPUTED, started), transfer)


def _with_transfer(reports: list[LayerReport], transfer: Transfer) -> list[LayerReport]:
    reports[0].hub_bytes, reports[0].sent_bytes = transfer.hub_bytes, transfer.sent_bytes
    return reports


def _first_failure(futures: list[Future[list[LayerReport]]]) -> BaseException:
    failures = [f.exception() for f in futures if not f.cancelled() and f.exception()]
    real = [error for error in failures if error and not isinstance(error, Cancelled)]
    found = (real or failures)[0]
    assert found is not None
    return found


LayerJob = Callable[[ModelLayerPlan, threading.Event], list[LayerReport]]


def model_layers(
    plans: Sequence[ModelLayerPlan], parallel: int, job: LayerJob
) -> list[LayerReport]:
    """``job`` for every plan, a few files at a time, in the plans' layer order; the first
    failure cancels the rest and is raised."""
    cancel = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(job, plan, cancel) for plan in plans]
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
