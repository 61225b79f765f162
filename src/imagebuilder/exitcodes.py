"""The exit codes imagebuilder ends with, and what each means to a user.

A documented contract (docs/cli.md, "Exit codes", is generated from EXIT_CODE_MEANINGS).
It sits apart from ``imagebuilder.errors`` only to keep that module readable; import both
names from ``imagebuilder.errors``, which re-exports them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # a bug in imagebuilder: re-run with --debug and report it
    USAGE = 2  # bad command line (Typer's own code for usage errors)
    CONFIG = 3  # models.yaml or the lock is invalid
    LOCK_DRIFT = 4  # models.yaml and the lock disagree
    HUB = 5  # the Hub said no: repo/revision/file not found, gated, refused
    NETWORK = 6  # the Hub or a registry could not be reached, or kept rate-limiting
    UNSAFE_FILE = 7  # a model file breaks the safetensors format or is a pickle format
    CHECK_FAILED = 8  # a verification failed: checksum, compatibility, budget, size
    DOCKER = 9  # the Docker Engine is missing, too old, or a build failed
    REGISTRY = 10  # a registry refused: auth, layer too large, push error
    WORKFLOW = 11  # a ComfyUI workflow is inconsistent with the pinned stack
    BUSY = 12  # another run holds the writer lock or changed the files, or the Hub moved
    TEST_FAILED = 13  # `test`: a job failed or a variant missed a threshold the user set
    UPDATES_AVAILABLE = 100  # check-updates: not an error, but not up to date either
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report it: 128 + 2


# What each code means, as users read it: docs/cli.md's exit-code table is generated
# from this (`uv run python -m imagebuilder.docgen`).
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; for `check-updates`: everything up to date",
    ExitCode.INTERNAL: "internal error (a bug: re-run with `--debug` and report it)",
    ExitCode.USAGE: (
        "usage error (unknown option, missing argument, a value the option does not take)"
    ),
    ExitCode.CONFIG: "models.yaml or the lock file is invalid",
    ExitCode.LOCK_DRIFT: (
        "models.yaml and the lock disagree (`lock --check`, and commands that need a current lock)"
    ),
    ExitCode.HUB: "the Hub said no: repo, revision or file not found, gated repo, refused request",
    ExitCode.NETWORK: (
        "the Hub or a registry could not be reached after retries, or kept rate-limiting"
    ),
    ExitCode.UNSAFE_FILE: (
        "a model file breaks the safetensors format, or `inspect` was given a pickle format "
        "(refused; in models.yaml a pickle format is a config error, 3)"
    ),
    ExitCode.CHECK_FAILED: "a verification failed: checksum, size, compatibility, memory budget",
    ExitCode.DOCKER: "the Docker Engine is missing or too old, or a build failed",
    ExitCode.REGISTRY: "a registry refused: authentication, layer too large, push error",
    ExitCode.WORKFLOW: "a ComfyUI workflow is inconsistent with the pinned stack",
    ExitCode.UPDATES_AVAILABLE: (
        "`check-updates`: updates are available (in the style of `npm outdated`)"
    ),
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.BUSY: (
        "another run holds models.yaml's writer lock (`.models.yaml.lock`), or changed "
        "models.yaml or the lock meanwhile, or (`update`) the Hub stopped serving what the "
        "proposal showed: wait and run again"
    ),
    ExitCode.TEST_FAILED: (
        "`test`: a job failed, or a variant missed a threshold you set (models.yaml's "
        "`test:` or `--min-ssim`/`--min-psnr`/`--max-seconds`/`--max-cost`; the defaults "
        "only pick the recommendation; the reports are written either way)"
    ),
}
