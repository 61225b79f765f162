"""`imagebuilder verify`: every pinned file's header, size, LoRA fit and the memory budget.

One listing per repo@commit and one ranged read per file, all concurrently: the wall time
is a few round trips whatever the number of files. Nothing is downloaded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from imagebuilder.errors import ImageBuilderError
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import MAX_CONCURRENT_HUB_CALLS, fetch_snapshots
from imagebuilder.project.config import Config, Role
from imagebuilder.project.entries import lora_base
from imagebuilder.project.lock import Lock
from imagebuilder.weights.budget import Budget, Component, gib, plan_budget
from imagebuilder.weights.compat import check_lora
from imagebuilder.weights.engine_needs import engine_need
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import summarize
from imagebuilder.weights.remote import fetch_header


def stack_budget(config: Config, lock: Lock) -> Budget:
    """GPU memory stage by stage, from the locked file sizes."""
    components = [
        Component(
            name,
            config.models[name].role,
            lock.models[name].size,
            lora_base(config, name) if config.models[name].role is Role.LORA else None,
        )
        for name in config.models
        if name in lock.models
    ]
    return plan_budget(components, config.image.gpu_memory_gb)


def _read_headers(hub: Hub, lock: Lock, problems: list[str]) -> dict[str, Header]:
    """Headers of every locked file the Hub serves at its locked size (else a problem)."""
    snapshots = fetch_snapshots(hub, ((e.repo, e.commit) for e in lock.models.values()))
    to_read = []
    for name, locked in lock.models.items():
        snapshot = snapshots[(locked.repo, locked.commit)]
        if isinstance(snapshot, ImageBuilderError):
            raise snapshot
        remote = snapshot.files.get(locked.file)
        served = remote.size if remote else None
        if served != locked.size:
            problems.append(f"{name}: the Hub serves {served} bytes, the lock says {locked.size}")
        else:
            to_read.append(name)

    def read(name: str) -> Header:
        locked = lock.models[name]
        return fetch_header(hub, locked.repo, locked.file, locked.commit, locked.size)

    with ThreadPoolExecutor(
        max_workers=min(MAX_CONCURRENT_HUB_CALLS, max(1, len(to_read)))
    ) as pool:
        return dict(zip(to_read, pool.map(read, to_read), strict=True))


def verify_stack(config: Config, lock: Lock, hub: Hub) -> dict[str, Any]:
    """The verification report; ``problems`` lists every failed check, one line each."""
    problems: list[str] = []
    headers = _read_headers(hub, lock, problems)
    files = {name: summarize(header).as_dict() for name, header in headers.items()}
    warnings = engine_checks(lock, headers, files, problems)
    lora_checks: dict[str, Any] = {}
    for name, _entry in config.entries_by_role(Role.LORA):
        base = lora_base(config, name)
        if name not in headers or base not in headers:
            continue
        check = check_lora(headers[name], headers[base])
        lora_checks[name] = {"base": base, **check.as_dict()}
        if not check.applies:
            first = check.mismatches[0]
            problems.append(
                f"{name}: does not apply to {base}: {check.total_mismatches} of "
                f"{check.targets} targets mismatch, first {first.target}: {first.problem}"
            )
    budget = stack_budget(config, lock)
    if not budget.fits:
        problems.append(
            f"peak GPU memory {gib(budget.peak_bytes)} ({budget.peak_stage}) exceeds "
            f"image.gpu_memory_gb = {config.image.gpu_memory_gb} GiB"
        )
    warnings += [w for check in lora_checks.values() for w in check["warnings"]]
    return {
        "ok": not problems,
        "problems": problems,
        "warnings": warnings,
        "files": files,
        "lora_checks": lora_checks,
        "budget": budget.as_dict(),
        "engine": lock.engine.model_dump(mode="json") if lock.engine else None,
    }


def engine_checks(
    lock: Lock, headers: dict[str, Header], files: dict[str, Any], problems: list[str]
) -> list[str]:
    """Each file's ComfyUI floor against the locked engine: a problem when the engine is
    older (it would load the file and compute wrong images); a warning when nothing pins
    the engine, so nothing can check."""
    warnings = []
    for name, header in headers.items():
        need = engine_need(header)
        files[name]["needs_engine"] = need.as_dict()
        if need.comfyui is None:
            continue
        if lock.engine is None:
            warnings.append(
                f"{name} needs ComfyUI >= {need.comfyui} ({need.reason}); the engine is not "
                "pinned (image.comfyui in models.yaml), so nothing checks the image runs one"
            )
            continue
        problem = need.problem_with(lock.engine.version)
        if problem is not None:
            problems.append(f"{problem} (engine: {lock.engine.label} of {lock.engine.base})")
    return warnings
