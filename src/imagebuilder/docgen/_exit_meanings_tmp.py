# Moves into imagebuilder.errors once the package layout has landed.
from __future__ import annotations

from imagebuilder.errors import ExitCode

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
}
