"""models.lock.json: every entry pinned to an immutable commit, sha256 and size.

The lock is data written only by ``imagebuilder lock`` (and ``update``): sorted keys,
stable layout, no timestamps, so the same Hub state always gives the same bytes.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from imagebuilder.errors import ConfigError, LockDriftError
from imagebuilder.project.atomic import atomic_write_text
from imagebuilder.project.config import Config, EntryName, RepoId, RepoPath, Revision
from imagebuilder.project.engine import EngineLock, EngineSettings, EngineSource
from imagebuilder.project.jsonguard import load_json
from imagebuilder.project.pins import Pin
from imagebuilder.project.values import is_commit_sha, is_sha256
from imagebuilder.project.writelock import changed_underneath, writer_lock

LOCK_NAME = "models.lock.json"
MAX_LOCK_BYTES = 1_000_000  # ~4,000 entries; bounds the cost of locating a refusal


def _commit(value: str) -> str:
    if not is_commit_sha(value):
        raise ValueError(f"{value!r} is not a 40-character lowercase hex commit sha")
    return value


def _sha256(value: str) -> str:
    if not is_sha256(value):
        raise ValueError(f"{value!r} is not a 64-character lowercase hex sha256")
    return value


CommitSha = Annotated[str, AfterValidator(_commit)]
Sha256 = Annotated[str, AfterValidator(_sha256)]


class LockEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    repo: RepoId
    file: RepoPath
    revision: Revision
    commit: CommitSha
    sha256: Sha256
    size: int = Field(ge=0, le=2**50)  # a PiB: past any model file
    # Filled by `publish`: the digest of this file's deterministic layer, so a later
    # publish can skip the Hub entirely when the registry already has it.
    layer_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")

    def same_source(self, repo: str, file: str, revision: str) -> bool:
        return (self.repo, self.file, self.revision) == (repo, file, revision)

    @property
    def pin(self) -> Pin:
        """This entry as the value the plans, publish and the records use."""
        return Pin(
            repo=self.repo, path=self.file, commit=self.commit, sha256=self.sha256,
            size=self.size, revision=self.revision, layer_digest=self.layer_digest,
        )  # fmt: skip


class Lock(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    version: int = Field(ge=1, le=1)
    models: dict[EntryName, LockEntry]  # names are printed: the models.yaml rule applies
    engine: EngineLock | None = None  # the ComfyUI the image runs, when models.yaml pins it

    def to_json(self) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def for_image(self) -> Lock:
        """The lock an image carries: without layer digests, which describe the image
        itself (so `build` and `publish`, before and after a publish, ship the same file)."""
        bare = {n: e.model_copy(update={"layer_digest": None}) for n, e in self.models.items()}
        return self.model_copy(update={"models": bare})


def lock_path_for(config_path: Path) -> Path:
    return config_path.with_name(LOCK_NAME)


def load_lock(path: Path) -> Lock | None:
    """The lock, or None when there is none yet."""
    if not path.exists():
        return None
    if path.stat().st_size > MAX_LOCK_BYTES:
        raise ConfigError(f"lock file is over {MAX_LOCK_BYTES} bytes", location=str(path))
    hint = "regenerate it with `imagebuilder lock`"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"lock file is not valid UTF-8 (byte {exc.start})", location=str(path), hint=hint
        ) from None
    data = load_json(text, path, hint=hint)
    try:
        return Lock.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, text, path, hint) from None


def _invalid(error: ValidationError, text: str, path: Path, hint: str) -> ConfigError:
    """The first schema problem, at the line of its entry (names are hostile: escaped)."""
    first = error.errors()[0]
    loc = first["loc"]
    key_path = ".".join(ascii(part)[1:-1] if isinstance(part, str) else str(part) for part in loc)
    message = str(first["msg"]).removeprefix("Value error, ")
    if len(loc) == 3 and loc[0] == "models" and loc[2] == "[key]":
        message = (
            f"lock entry name {loc[1]!a} is not an entry name "
            "(lowercase letters, digits and '_', as in models.yaml)"
        )
        key_path = "models"
    line = 1
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], str):
        at = text.find(json.dumps(loc[1]) + ":")
        line = text.count("\n", 0, at) + 1 if at >= 0 else 1
    return ConfigError(
        f"lock file is invalid at {key_path}: {message}",
        location=f"{path.name}:{line}",
        hint=hint,
        line=line,
        file=str(path),
    )


def write_lock(path: Path, lock: Lock) -> None:
    atomic_write_text(path, lock.to_json())


def record_lock(config_path: Path, lock: Lock, *, config_text: str) -> bool:
    """Write ``lock`` beside models.yaml under the writer lock; whether it changed.

    Inside the writer lock, models.yaml must still be ``config_text`` (what the lock was
    resolved from) and the lock on disk is re-read: layer digests a publish recorded
    meanwhile are kept for unchanged pins, and an unchanged lock is not rewritten (the
    file keeps its mtime)."""
    path = lock_path_for(config_path)
    with writer_lock(config_path, "lock"):
        if config_path.read_text(encoding="utf-8") != config_text:
            raise changed_underneath(config_path, config_path.name)
        current = load_lock(path)
        lock = with_recorded_digests(lock, current)
        changed = current is None or current.to_json() != lock.to_json()
        if changed:
            write_lock(path, lock)
    return changed


def same_pin(a: LockEntry, b: LockEntry) -> bool:
    """The same file at the same commit, whatever layer digest either one records."""
    bare = {"layer_digest": None}
    return a.model_copy(update=bare) == b.model_copy(update=bare)


def pins_equal(a: Lock | None, b: Lock | None) -> bool:
    """Whether two locks pin the same files; layer digests (publish's cache) aside."""
    if a is None or b is None:
        return a is b
    return a.for_image() == b.for_image()


def with_recorded_digests(planned: Lock, current: Lock | None) -> Lock:
    """``planned`` plus the layer digests ``current`` (the lock on disk now) recorded for
    the very same pins: a publish that ran meanwhile keeps its work, a moved pin does not."""
    if current is None:
        return planned
    models = {}
    for name, entry in planned.models.items():
        now = current.models.get(name)
        keep = entry.layer_digest is None and now is not None and same_pin(now, entry)
        models[name] = now if keep and now is not None else entry
    return planned.model_copy(update={"models": models})


class LockRecorder:
    """Writes each new layer digest into the lock as soon as its blob is committed (a
    publish cut short keeps what it uploaded). Called from upload threads.

    Into the lock as it is on disk at that moment, under the writer lock: a publish runs
    for minutes, and an `update` that finished meanwhile must not be reverted (it once
    was: the recorder wrote back the lock it read at the start). The lock read at the
    start only says which file was published; a digest whose pin moved is dropped."""

    def __init__(self, config_path: Path, published: Lock):
        self.config_path, self.published = config_path, published
        self.path = lock_path_for(config_path)
        self._mutex = threading.Lock()

    def __call__(self, name: str, digest: str) -> None:
        published = self.published.models[name]
        with self._mutex, writer_lock(self.config_path, "publish"):
            current = load_lock(self.path)
            now = current.models.get(name) if current is not None else None
            if current is None or now is None or not same_pin(now, published):
                return  # the lock moved on during the publish
            if now.layer_digest != digest:
                entry = now.model_copy(update={"layer_digest": digest})
                models = {**current.models, name: entry}
                write_lock(self.path, current.model_copy(update={"models": models}))


def drift(config: Config, lock: Lock | None) -> list[str]:
    """Each way models.yaml and the lock disagree, one sentence per entry."""
    if lock is None:
        return ["no lock file: every entry is unpinned"]
    problems = []
    for name, entry in config.models.items():
        locked = lock.models.get(name)
        if locked is None:
            problems.append(f"{name}: in models.yaml but not in the lock")
        elif not locked.same_source(entry.repo, entry.file, entry.revision):
            problems.append(
                f"{name}: models.yaml says {entry.repo}/{entry.file}@{entry.revision}, "
                f"the lock has {locked.repo}/{locked.file}@{locked.revision}"
            )
        elif is_commit_sha(entry.revision) and locked.commit != entry.revision:
            problems.append(f"{name}: pinned to commit {entry.revision}, locked {locked.commit}")
    problems.extend(
        f"{name}: in the lock but not in models.yaml"
        for name in lock.models
        if name not in config.models
    )
    problems.extend(engine_drift(config, lock))
    return problems


def engine_drift(config: Config, lock: Lock) -> list[str]:
    """How the locked engine disagrees with models.yaml's `image.comfyui`, if it does."""
    if config.image.comfyui is None:
        return []
    if lock.engine is None:
        return ["engine: models.yaml pins ComfyUI (image.comfyui), the lock records no engine"]
    settings = config.image.comfyui
    if settings.source is EngineSource.RELEASE or lock.engine.source is EngineSource.RELEASE:
        return _release_drift(settings, lock.engine)
    if lock.engine.base != config.image.base:
        return [
            f"engine: the lock's ComfyUI was read from {lock.engine.base}, models.yaml's base "
            f"is {config.image.base}"
        ]
    return []


def _release_drift(settings: EngineSettings, engine: EngineLock) -> list[str]:
    if settings.source is not engine.source:
        return [f"engine: models.yaml's ComfyUI source is {settings.source}, the lock's "
                f"{engine.source}"]  # fmt: skip
    if engine.comfyui_version != settings.version or engine.commit is None:
        return [f"engine: the lock pins ComfyUI {engine.comfyui_version}, models.yaml "
                f"installs {settings.version}"]  # fmt: skip
    if engine.sources.get("repository") != settings.repository:
        return [f"engine: the lock's ComfyUI commit is from {engine.sources.get('repository')}, "
                f"models.yaml fetches from {settings.repository}"]  # fmt: skip
    return []


def require_current(config: Config, lock: Lock | None, lock_file: Path) -> Lock:
    """The lock, if it matches models.yaml; a LockDriftError naming each entry otherwise."""
    problems = drift(config, lock)
    if problems or lock is None:
        raise LockDriftError(
            "models.yaml and the lock disagree:\n  " + "\n  ".join(problems),
            location=str(lock_file),
            hint="run `imagebuilder lock` to re-pin, then commit both files",
        )
    return lock
