"""Every failure imagebuilder reports, with its exit code.

One module, one translation point: commands raise these, and only ``cli`` turns them
into a message on stderr and an exit code. Each class says what failed (``message``),
where (``location``: ``models.yaml:14``, ``repo@revision``, a tensor name) and what to
do next (``hint``). The exit codes are a documented contract (docs/cli.md, "Exit codes").
"""

from __future__ import annotations

from collections.abc import Sequence

# Re-exported: every caller imports exit codes from here (the `as` form is how a strict
# type checker knows a re-export is meant).
from imagebuilder.exitcodes import EXIT_CODE_MEANINGS as EXIT_CODE_MEANINGS  # noqa: PLC0414
from imagebuilder.exitcodes import ExitCode as ExitCode  # noqa: PLC0414


class ImageBuilderError(Exception):
    """Base class: a failure the user can act on."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, location: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "exit_code": int(self.exit_code),
            "message": self.message,
            "location": self.location,
            "hint": self.hint,
        }


class ConfigError(ImageBuilderError):
    """models.yaml (or the lock file) cannot be read or breaks the schema."""

    exit_code = ExitCode.CONFIG

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        hint: str | None = None,
        line: int | None = None,
        file: str | None = None,
    ):
        super().__init__(message, location=location, hint=hint)
        self.line = line
        self.file = file


class _ReportedTogether(ImageBuilderError):
    """Several problems found in one pass, each rendered and listed like a single error."""

    problems: Sequence[ImageBuilderError]

    def render(self) -> str:
        # The CLI prefixes the first line with "error: "; every further problem gets the
        # same prefix, so each one reads (and greps) like a single error.
        return "\nerror: ".join(problem.render() for problem in self.problems)

    def as_dict(self) -> dict[str, object]:
        data = super().as_dict()
        data["problems"] = [problem.as_dict() for problem in self.problems]
        return data


class ConfigErrors(_ReportedTogether, ConfigError):
    """Several config problems found in one pass; reported together."""

    problems: list[ConfigError]

    def __init__(self, problems: list[ConfigError]):
        self.problems = problems
        first = problems[0]
        super().__init__(
            f"{len(problems)} problem(s) in the configuration",
            location=first.file,
            hint="fix each line above, then run `imagebuilder validate` again",
        )


class WriterBusy(ImageBuilderError):
    """Another imagebuilder run is writing models.yaml or the lock (or just did)."""

    exit_code = ExitCode.BUSY


class HubMovedMeanwhile(ImageBuilderError):
    """`update`: the Hub no longer serves what the proposal showed; nothing was written."""

    exit_code = ExitCode.BUSY


class LockDriftError(ImageBuilderError):
    """models.yaml and its lock file disagree."""

    exit_code = ExitCode.LOCK_DRIFT


class HubError(ImageBuilderError):
    """The Hub answered, and the answer was no."""

    exit_code = ExitCode.HUB


class RepoNotFound(HubError):
    pass


class RevisionNotFound(HubError):
    pass


class FileNotFoundOnHub(HubError):
    pass


class GatedRepo(HubError):
    pass


class NetworkError(ImageBuilderError):
    """The Hub or a registry could not be reached (after retries) or kept rate-limiting."""

    exit_code = ExitCode.NETWORK


class TimedOut(NetworkError):
    """A server accepted the request and never answered, or the command deadline ran out."""


class EndpointUnreachable(NetworkError):
    """A name that does not resolve or a refused connection: reported once, not retried."""


class CommandAborted(Exception):
    """Ends the whole command with ``error``: the Hub or the registry is unreachable or
    does not answer, or the deadline ran out. Deliberately not an ImageBuilderError, so
    code that collects per-entry problems does not turn one dead endpoint into a row per
    entry; the CLI reports ``error`` once."""

    def __init__(self, error: NetworkError):
        super().__init__(error.message)
        self.error = error


class AnswerCutOff(NetworkError):
    """An answer's body stopped short (reset, truncated): the read can be tried again."""


class RateLimited(NetworkError):
    pass


class UnsafeFileError(ImageBuilderError):
    """A model file breaks the safetensors format, or is a pickle-based format."""

    exit_code = ExitCode.UNSAFE_FILE


class PickleFormatRefused(UnsafeFileError):
    pass


class CheckFailed(ImageBuilderError):
    """A verification ran and failed: checksum, size, compatibility, budget."""

    exit_code = ExitCode.CHECK_FAILED


class DockerError(ImageBuilderError):
    exit_code = ExitCode.DOCKER


class RegistryError(ImageBuilderError):
    exit_code = ExitCode.REGISTRY


class WorkflowError(ImageBuilderError):
    exit_code = ExitCode.WORKFLOW


# --- safetensors header rules (issue 4) ------------------------------------------------
# One class per rule, so tests and callers can tell a forged length from a gapped offset;
# all share UNSAFE_FILE. ``rule`` is a stable id shown in messages and JSON.


def _printable(text: str, limit: int = 120) -> str:
    """Names come from hostile headers: quote them, escape control characters, truncate."""
    shown = ascii(text[:limit])
    return shown + ("..." if len(text) > limit else "")


class SafetensorsRuleBroken(UnsafeFileError):
    """A safetensors file breaks one format rule: which file, which rule, which tensor."""

    rule = "safetensors-format"

    def __init__(self, detail: str, *, file: str, tensor: str | None = None):
        where = _printable(file, 300)[1:-1]
        if tensor is not None:
            where += f": tensor {_printable(tensor)}"
        super().__init__(
            f"{detail} [rule {self.rule}]",
            location=where,
            hint="the file is malformed or forged; do not load it, use a known-good release",
        )
        self.file = file
        self.tensor = tensor

    def as_dict(self) -> dict[str, object]:
        data = super().as_dict()
        data.update(rule=self.rule, tensor=self.tensor)
        return data


class FileTooShort(SafetensorsRuleBroken):
    rule = "file-too-short"


class HeaderTooLarge(SafetensorsRuleBroken):
    rule = "header-too-large"


class HeaderPastEof(SafetensorsRuleBroken):
    rule = "header-past-eof"


class HeaderNotUtf8(SafetensorsRuleBroken):
    rule = "header-not-utf8"


class HeaderBadStart(SafetensorsRuleBroken):
    rule = "header-start"


class HeaderBadPadding(SafetensorsRuleBroken):
    rule = "header-padding"


class HeaderNotJson(SafetensorsRuleBroken):
    rule = "header-not-json"


class HeaderNotObject(SafetensorsRuleBroken):
    rule = "header-not-object"


class HeaderEntryFlood(SafetensorsRuleBroken):
    rule = "header-entry-flood"


class DuplicateKey(SafetensorsRuleBroken):
    rule = "duplicate-key"


class BadMetadata(SafetensorsRuleBroken):
    rule = "metadata-not-string-map"


class BadTensorEntry(SafetensorsRuleBroken):
    rule = "tensor-entry"


class UnknownDtype(SafetensorsRuleBroken):
    rule = "unknown-dtype"


class BadShape(SafetensorsRuleBroken):
    rule = "shape"


class BadOffsets(SafetensorsRuleBroken):
    rule = "data-offsets"


class OffsetsGap(SafetensorsRuleBroken):
    rule = "offsets-gap"


class OffsetsOverlap(SafetensorsRuleBroken):
    rule = "offsets-overlap"


class TensorPastEof(SafetensorsRuleBroken):
    rule = "tensor-past-eof"


class TrailingBytes(SafetensorsRuleBroken):
    rule = "trailing-bytes"


class ShapeOverflow(SafetensorsRuleBroken):
    rule = "shape-overflow"


class PartialByte(SafetensorsRuleBroken):
    rule = "partial-byte"


class SizeMismatch(SafetensorsRuleBroken):
    rule = "shape-size-mismatch"


class FileSizeMismatch(CheckFailed):
    """The bytes on the Hub, on disk or in the lock disagree about a file's size."""


class ChecksumMismatch(CheckFailed):
    """A file's sha256 differs from the one pinned in the lock."""


class EngineUnavailable(DockerError):
    """No Docker Engine answered, or it is older than imagebuilder supports."""


class BaseImageMissing(DockerError):
    """The pinned base image is neither in the engine nor pullable."""


class BuildFailed(DockerError):
    """A Dockerfile step failed (a sha256 mismatch inside the build lands here)."""


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (or there were none)."""


class LayerTooLarge(RegistryError):
    """A model file is larger than the target registry accepts in one layer."""


class PushFailed(RegistryError):
    """The push stream reported an error, or the registry's digest differs."""


class EntryErrors(_ReportedTogether):
    """Several models.yaml entries failed to resolve in one pass; reported together.

    The exit code is the most severe of theirs (a network failure outranks a typo).
    """

    def __init__(self, problems: list[ImageBuilderError]):
        self.problems = problems
        self.exit_code = max((p.exit_code for p in problems), key=int)
        super().__init__(f"{len(problems)} entries could not be resolved")
