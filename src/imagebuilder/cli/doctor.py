"""`imagebuilder doctor`: what this machine has for each command, and the fix for what not.

Each check asks the real thing once (the Docker Engine answers a ping, the Hub answers a
metadata request, the target its status route), never changes anything and never prints
a secret: a token or a password is "set", with where it came from.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from imagebuilder.cli import output
from imagebuilder.cli._common import DEFAULT_CONFIG, ConfigOption, JsonOption
from imagebuilder.errors import CommandAborted, ExitCode, ImageBuilderError

OK, MISSING, NONE, SKIPPED = "ok", "missing", "none", "skipped"


def _failure(raised: ImageBuilderError | CommandAborted) -> ImageBuilderError:
    """The error itself: an unreachable origin ends other commands (CommandAborted); here
    it is one finding among the others."""
    return raised.error if isinstance(raised, CommandAborted) else raised


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, missing (a command needs it), none (optional), skipped
    detail: str
    needed_by: str
    fix: str | None = None


def _engine() -> Check:
    from imagebuilder.image.engine import Engine

    needed = "build, build-variants, inspect-image (local images), the test suite"
    try:
        engine = Engine.connect()
    except ImageBuilderError as error:
        return Check("Docker Engine", MISSING, error.message, needed, error.hint)
    try:
        detail = f"Docker Engine {engine.server_version()} answers"
    finally:
        engine.close()
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return Check("Docker Engine", OK, f"{detail} at {where}", needed)


def _registry(config: Path) -> Check:
    from imagebuilder.cli._common import load
    from imagebuilder.oci.auth import USERNAME_ENV, RegistryRole, credentials_for
    from imagebuilder.oci.reference import parse_reference

    needed = "publish, build --push"
    try:
        loaded, _, _ = load(config)
        host = parse_reference(loaded.config.image.name).registry
    except (ImageBuilderError, ValueError) as error:
        return Check("registry credentials", SKIPPED, f"{config}: {error}", needed)
    found = credentials_for(host, RegistryRole.TARGET)
    if found is None:
        fix = f"run `docker login {host}`, or set {USERNAME_ENV} and its _PASSWORD (CI)"
        return Check("registry credentials", MISSING, f"none for {host}", needed, fix)
    source = "the environment" if os.environ.get(USERNAME_ENV) else "the Docker config"
    return Check("registry credentials", OK, f"set for {host}, from {source}", needed)


def _hub_token() -> Check:
    from huggingface_hub import get_token

    needed = "gated or private repos (lock, check-updates, verify, publish)"
    if os.environ.get("HF_TOKEN"):
        return Check("Hub token", OK, "set, from HF_TOKEN", needed)
    if get_token():
        return Check("Hub token", OK, "set, from the token file (`hf auth login`)", needed)
    fix = "public repos need none; for gated ones set HF_TOKEN or run `hf auth login`"
    return Check("Hub token", NONE, "none", needed, fix)


def _hub_reachable() -> Check:
    from imagebuilder.hub.client import Hub

    needed = "lock, check-updates, update, verify, inspect (remote), publish"
    hub = Hub()
    started = time.monotonic()
    try:
        hub.search_models(author="Comfy-Org", search="Qwen-Image", limit=1)
    except (ImageBuilderError, CommandAborted) as raised:
        error = _failure(raised)
        return Check("Hub", MISSING, error.message, needed, error.hint)
    seconds = time.monotonic() - started
    return Check("Hub", OK, f"{hub.endpoint} answers ({seconds:.2f} s)", needed)


def _target(target: str | None) -> Check:
    from imagebuilder.abtest.targets import API_KEY_ENV, open_target

    needed = "test, check-workflows --refresh-object-info"
    if target is None:
        key = "set" if os.environ.get(API_KEY_ENV) else "not set"
        detail = f"no --target given ({API_KEY_ENV} {key})"
        fix = "check one with `imagebuilder doctor --target http://HOST:8188` or runpod://ID"
        return Check("ComfyUI/RunPod target", SKIPPED, detail, needed, fix)
    try:
        opened = open_target(target)
        try:
            facts = opened.describe()
        finally:
            opened.close()
    except (ImageBuilderError, CommandAborted) as raised:
        error = _failure(raised)
        return Check("ComfyUI/RunPod target", MISSING, error.message, needed, error.hint)
    known = [f"{k} {facts[k]}" for k in ("comfyui_version", "gpu") if facts.get(k)]
    detail = f"{target} answers" + (f" ({', '.join(known)})" if known else "")
    return Check("ComfyUI/RunPod target", OK, detail, needed)


def _print(checks: list[Check]) -> None:
    import textwrap

    width = max(60, min(output.stdout.width, 100))
    for check in checks:
        lines = [(f"{check.status:<8} {check.name}: {check.detail}", " " * 9)]
        lines.append((f"         for: {check.needed_by}", " " * 14))
        if check.fix and check.status != OK:
            lines.append((f"         fix: {check.fix}", " " * 14))
        for text, indent in lines:
            wrapped = textwrap.fill(text, width, subsequent_indent=indent, break_long_words=False)
            output.stdout.print(wrapped, markup=False)


def doctor(
    config: ConfigOption = DEFAULT_CONFIG,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="URL",
            help="Also check a worker: http(s)://host:8188 (ComfyUI) or runpod://ID.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Say what this machine has for each command (Docker, registry, Hub, a target)."""
    checks = [_engine(), _registry(config), _hub_token(), _hub_reachable(), _target(target)]
    missing = [c.name for c in checks if c.status == MISSING]
    output.emit(
        {"ok": not missing, "missing": missing, "checks": [asdict(c) for c in checks]},
        as_json,
        lambda: _print(checks),
    )
    if missing:
        raise typer.Exit(code=int(ExitCode.CHECK_FAILED))


def register(app: typer.Typer) -> None:
    app.command()(doctor)
