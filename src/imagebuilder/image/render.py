"""Render the Dockerfile and its small build context from models.yaml and the lock.

Pure: ``render_build(config, lock, ...)`` returns text and bytes; only
``write_build_context`` touches the filesystem. One Jinja environment, built once,
with StrictUndefined (a missing variable is a bug, never an empty string) and
autoescape off (this is a Dockerfile, not HTML): every YAML value goes through an
explicit quoting filter instead.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, StrictUndefined, TemplateError

from imagebuilder.errors import ConfigError
from imagebuilder.hub.client import public_file_url
from imagebuilder.image import startplan
from imagebuilder.image.layers import (
    LOCK_DESTINATION,
    MODEL_LABEL_PREFIX,
    FileUrl,
    ModelLayer,
    plan_layers,
)
from imagebuilder.project.atomic import atomic_write_bytes
from imagebuilder.project.config import Config
from imagebuilder.project.engine import EngineSource
from imagebuilder.project.lock import LOCK_NAME, Lock, require_current

TEMPLATE_NAME = "Dockerfile.j2"
WORKFLOWS_DIR = "workflows"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IMAGE_REF_CHARS = re.compile(r"^[A-Za-z0-9._/:@-]+$")
_LABEL_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,200}\.json$")


def _refuse_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ConfigError(
            f"refusing to render {value!r}: it contains a control character",
            hint="values in models.yaml must be single-line printable text",
        )
    return value


def shell_word(value: object) -> str:
    """One inert shell word: whatever the value holds, the shell sees literal text."""
    return shlex.quote(_refuse_control(str(value)))


def label_value(value: object) -> str:
    """A Dockerfile double-quoted string: the builder expands $ and unescapes \\ and "."""
    text = _refuse_control(str(value))
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def label_key(value: object) -> str:
    text = str(value)
    if not _LABEL_KEY.match(text):
        raise ConfigError(f"refusing to render label key {text!r}")
    return text


def json_args(values: object) -> str:
    """Exec-form arguments (COPY ["src", "dest"]); $ is escaped from variable expansion."""
    if not isinstance(values, list | tuple):
        raise TypeError("json filter takes a list")
    for item in values:
        _refuse_control(str(item))
    return json.dumps([str(item) for item in values]).replace("$", "\\$")


def comment_text(value: object) -> str:
    return _refuse_control(str(value))


def image_ref(value: object) -> str:
    text = str(value)
    if not _IMAGE_REF_CHARS.match(text) or "@sha256:" not in text:
        raise ConfigError(f"refusing to render base image {text!r}: not a pinned image ref")
    return text


def _environment() -> Environment:
    env = Environment(
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 (a Dockerfile: quoting is explicit, per filter)
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        sh=shell_word,
        label=label_value,
        label_key=label_key,
        json=json_args,
        comment=comment_text,
        image_ref=image_ref,
    )
    return env


_ENV = _environment()


@dataclass(frozen=True)
class RenderedBuild:
    """The build context: relative path -> bytes (the Dockerfile included)."""

    files: Mapping[str, bytes]
    layers: tuple[ModelLayer, ...]
    base: str
    # The files as hashed for the content tag: the Dockerfile with the public Hub's URLs
    # (None: ``files`` themselves). The endpoint a build downloads from (HF_ENDPOINT: a
    # mirror, a loopback Hub) is not part of what the image holds.
    hashed_files: Mapping[str, bytes] | None = field(default=None, compare=False, repr=False)
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        hashed = self.hashed_files if self.hashed_files is not None else self.files
        for path in sorted(hashed):
            data = hashed[path]
            digest.update(f"{path}\0{len(data)}\0".encode())
            digest.update(data)
        object.__setattr__(self, "content_hash", digest.hexdigest())

    @property
    def dockerfile(self) -> str:
        return self.files["Dockerfile"].decode("utf-8")

    @property
    def content_tag(self) -> str:
        """Same lock, template, base and workflows -> same tag, on every machine."""
        return f"models-{self.content_hash[:16]}"


def render_build(
    config: Config,
    lock: Lock,
    template_text: str,
    file_url: FileUrl,
    *,
    workflows: Mapping[str, bytes] | None = None,
    hub_secret: bool = False,
) -> RenderedBuild:
    """Dockerfile + context for a lock that matches models.yaml (LockDriftError if not)."""
    require_current(config, lock, Path(LOCK_NAME))
    workflows = dict(workflows or {})
    for workflow_name in workflows:
        if not _WORKFLOW_NAME.match(workflow_name):
            raise ConfigError(
                f"refusing workflow file name {workflow_name!r}",
                location=WORKFLOWS_DIR,
                hint="workflow files are <name>.json with letters, digits, '.', '_', '-'",
            )
    layers = plan_layers(config, lock, file_url)
    public_layers = plan_layers(config, lock, public_file_url)
    engine = engine_install(config, lock)
    dockerfile = _dockerfile(
        config, template_text, layers, hub_secret, bool(workflows), engine=engine
    )
    public = _dockerfile(
        config, template_text, public_layers, hub_secret, bool(workflows), engine=engine
    )
    files = {
        "Dockerfile": dockerfile.encode("utf-8"),
        LOCK_NAME: lock.for_image().to_json().encode(),
    }
    files |= {f"{WORKFLOWS_DIR}/{name}": data for name, data in sorted(workflows.items())}
    files |= startplan.start_files(config, startplan.model_files(layers), list(workflows))
    hashed = files | {"Dockerfile": public.encode("utf-8")}
    return RenderedBuild(
        files=files, layers=tuple(layers), base=config.image.base, hashed_files=hashed
    )


def _dockerfile(
    config: Config,
    template_text: str,
    layers: list[ModelLayer],
    hub_secret: bool,
    workflows: bool,
    *,
    engine: EngineInstall | None,
) -> str:
    root = config.image.comfyui_root.rstrip("/")
    start = startplan.dockerfile_start(config)
    try:
        return _ENV.from_string(template_text).render(
            base=config.image.base,
            layers=layers,
            hub_secret=hub_secret,
            lock_name=LOCK_NAME,
            lock_destination=LOCK_DESTINATION,
            workflows=workflows,
            workflows_destination=f"{root}/user/default/workflows/",
            labels=[(f"{MODEL_LABEL_PREFIX}{layer.name}", layer.label()) for layer in layers],
            start=start,
            comfyui_root=root or "/",
            entrypoint=startplan.entrypoint([]),
            base_command=list(start.base_command) if start else [],
            engine=engine,
        )
    except TemplateError as error:
        raise ConfigError(
            f"the Dockerfile template failed to render: {error}", location=TEMPLATE_NAME
        ) from None


@dataclass(frozen=True)
class EngineInstall:
    """An installed engine, as the Dockerfile fetches it: one commit of one repository."""

    version: str
    commit: str
    repository: str


def engine_install(config: Config, lock: Lock) -> EngineInstall | None:
    """What the image installs over the base's ComfyUI (`source: release`), else None."""
    settings, engine = config.image.comfyui, lock.engine
    if settings is None or settings.source is not EngineSource.RELEASE:
        return None
    if engine is None or engine.commit is None:  # require_current refused this already
        raise ConfigError("the lock pins no ComfyUI commit", hint="run `imagebuilder lock`")
    return EngineInstall(engine.comfyui_version, engine.commit, settings.repository)


def find_template(project_dir: Path) -> Path:
    """The project's templates/Dockerfile.j2, else the one shipped with imagebuilder."""
    candidates = (
        project_dir / "templates" / TEMPLATE_NAME,
        Path(__file__).parents[1] / "templates" / TEMPLATE_NAME,  # installed wheel
        Path(__file__).parents[3] / "templates" / TEMPLATE_NAME,  # source checkout
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {TEMPLATE_NAME} found", location=str(candidates[0]), hint="restore templates/"
    )


def write_build_context(build: RenderedBuild, out_dir: Path) -> list[Path]:
    """Write every context file atomically; drop workflow files that no longer exist."""
    written = []
    for relative, data in build.files.items():
        target = out_dir / relative
        atomic_write_bytes(target, data)
        written.append(target)
    stale_dir = out_dir / WORKFLOWS_DIR
    if stale_dir.is_dir():
        for stale in stale_dir.glob("*.json"):
            if f"{WORKFLOWS_DIR}/{stale.name}" not in build.files:
                stale.unlink()
    return written
