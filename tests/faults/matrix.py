"""The fault cases, as data: command, route, fault, how often, and the outcome expected.

Transient cases break every route the command uses once, all in the same run: each must
end exactly as the run without faults did. Fatal cases break one route for good (or take
the server away): each must end with exit 6, one error line naming what failed, within
its time bound, with nothing written, half-written or tagged.
"""

from __future__ import annotations

from dataclasses import dataclass

from faultproxy import Fault, Kind

# Routes, as the proxy matches them (method, path pattern, required header).
Route = tuple[str, str, tuple[str, str] | None]
MODEL_INFO: Route = ("GET", r"^/api/models/[^?]+/revision/", None)
SEARCH: Route = ("GET", r"^/api/models\?", None)
PATHS_INFO: Route = ("POST", r"/paths-info/", None)
HEADER_READ: Route = ("GET", r"/resolve/", ("Range", "bytes="))
DOWNLOAD: Route = ("GET", r"/resolve/", None)
BLOB_UPLOAD: Route = ("PATCH", r"/blobs/uploads/", None)
BLOB_COMMIT: Route = ("PUT", r"/blobs/uploads/", None)
UPLOAD_START: Route = ("POST", r"/blobs/uploads/", None)
BLOB_HEAD: Route = ("HEAD", r"/blobs/sha256:", None)
MANIFEST_PUT: Route = ("PUT", r"/manifests/", None)
MANIFEST_GET: Route = ("GET", r"/manifests/", None)
BLOB_GET: Route = ("GET", r"/blobs/sha256:", None)

ROUTE_NAMES = {
    MODEL_INFO: "model info",
    SEARCH: "model search",
    PATHS_INFO: "paths-info (dates)",
    HEADER_READ: "header range read",
    DOWNLOAD: "file download",
    BLOB_UPLOAD: "blob PATCH",
    BLOB_COMMIT: "blob PUT",
    UPLOAD_START: "upload start",
    BLOB_HEAD: "blob HEAD",
    MANIFEST_PUT: "manifest PUT",
    MANIFEST_GET: "manifest GET",
    BLOB_GET: "blob GET",
}

# Which routes each command uses (seen through the proxy), Hub side and registry side.
HUB_ROUTES: dict[str, tuple[Route, ...]] = {
    "lock": (MODEL_INFO,),
    "check-updates": (MODEL_INFO, SEARCH, PATHS_INFO, HEADER_READ),
    "update": (MODEL_INFO, SEARCH, PATHS_INFO, HEADER_READ),
    "verify": (MODEL_INFO, HEADER_READ),
    "inspect (remote)": (MODEL_INFO, HEADER_READ),
}

TRANSIENT: dict[str, Fault] = {
    "reset": Fault(Kind.RESET),
    "truncate": Fault(Kind.TRUNCATE),
    "503": Fault(Kind.STATUS, status=503),
    "429 Retry-After 100000": Fault(Kind.STATUS, status=429, retry_after="100000"),
    "delay 0.3 s": Fault(Kind.DELAY, seconds=0.3),
}


@dataclass(frozen=True)
class Fatal:
    name: str
    fault: Fault | None  # None: nothing listens on the port (connection refused)
    exit_code: int
    message: str  # a regular expression the one error line must match
    bound_s: float  # the whole command, in the suite's short budgets
    once: bool = True  # the command ends at the first failure, with one error line


HUB_FATAL = (
    Fatal(
        "Hub down (connection refused)", None, 6, r"is unreachable: the connection was refused", 3
    ),
    Fatal("hang (never answers)", Fault(Kind.HANG), 6, r"no answer from .* within 1.5 s", 6),
    # A route that keeps failing is not the Hub being down: entries that need it report it
    # (one line each), the others are still checked; the exit code is still 6.
    Fatal(
        "503 every time", Fault(Kind.STATUS, status=503), 6, r"answered 503 5 times", 6, once=False
    ),
)

# Registry side: (which proxy, route). publish reads the base through the registry proxy.
SideRoute = tuple[str, Route]
REGISTRY_ROUTES: dict[str, tuple[SideRoute, ...]] = {
    "publish": (
        ("hub", DOWNLOAD),
        ("registry", MANIFEST_GET),
        ("registry", BLOB_GET),
        ("registry", BLOB_HEAD),
        ("registry", UPLOAD_START),
        ("registry", BLOB_UPLOAD),
        ("registry", BLOB_COMMIT),
        ("registry", MANIFEST_PUT),
    ),
    "publish --check": (("registry", MANIFEST_GET), ("registry", BLOB_GET)),
    "inspect-image": (("registry", MANIFEST_GET), ("registry", BLOB_GET)),
    "diff": (("registry", MANIFEST_GET), ("registry", BLOB_GET)),
}


@dataclass(frozen=True)
class RegistryFatal(Fatal):
    route: SideRoute | None = None


REGISTRY_FATAL = (
    RegistryFatal(
        "registry down (connection refused)",
        None,
        6,
        r"is unreachable: the connection was refused",
        5,
    ),
    RegistryFatal(
        "registry hangs on uploads",
        Fault(Kind.HANG),
        6,
        r"no answer from .* within 1.5 s",
        8,
        route=("registry", BLOB_UPLOAD),
    ),
    # The error names the failed upload, never the status query or cleanup that followed.
    RegistryFatal(
        "registry resets every upload",
        Fault(Kind.RESET),
        6,
        r"PATCH /v2/[^ ]+/blobs/uploads/",
        8,
        route=("registry", BLOB_UPLOAD),
    ),
    RegistryFatal(
        "registry 503 on every upload",
        Fault(Kind.STATUS, status=503),
        6,
        r"answered 503",
        8,
        route=("registry", BLOB_UPLOAD),
    ),
    RegistryFatal(
        "Hub 503 on every download",
        Fault(Kind.STATUS, status=503),
        6,
        r"answered 503 5 times",
        8,
        route=("hub", DOWNLOAD),
    ),
    RegistryFatal(
        "Hub download corrupted", Fault(Kind.CORRUPT), 8, r"sha256", 8, route=("hub", DOWNLOAD)
    ),
)


@dataclass(frozen=True)
class Row:
    """One case of the second round, as the table shows it; its test names it by key."""

    command: str
    route: str
    fault: str
    outcome: str


# Each key is asserted by the test that reads it (tests/faults/test_*_faults.py);
# test_faults_doc checks that every key is used by a test.
ROUND_TWO: dict[str, Row] = {
    "trickle-view": Row(
        "test (ComfyUI)",
        "GET /view",
        "body at 1 byte/s every time, --timeout 2",
        "the job fails as timeout after < timeout + 1 s; exit 13",
    ),
    "trickle-history-deadline": Row(
        "test (ComfyUI)",
        "GET /history",
        "body at 1 byte/s every time, --deadline 0.25 (15 s)",
        "the job fails as timeout, the prompt is cancelled; exit 13, < deadline + 7 s",
    ),
    "trickle-status": Row(
        "test (RunPod)",
        "GET /status",
        "body at 1 byte/s every time, --timeout 2",
        "the job fails as timeout after < timeout + 1 s, then is cancelled; exit 13",
    ),
    "deep-json-stats": Row(
        "test (ComfyUI)",
        "GET /system_stats",
        "JSON nested 100,000 deep",
        "the run goes on without the GPU name; exit 0",
    ),
    "deep-json-health": Row(
        "test (RunPod)",
        "GET /health",
        "JSON nested 100,000 deep",
        "the run goes on; exit 0",
    ),
    "deep-json-history": Row(
        "test (ComfyUI)",
        "GET /history",
        "JSON nested 100,000 deep",
        "the job fails as http, naming the nesting; exit 13",
    ),
    "retry-after-run": Row(
        "test (RunPod)",
        "POST /run",
        "429 Retry-After: 1, 3 times",
        "the job passes, after waiting >= 3 s as asked",
    ),
    "retry-after-cap": Row(
        "test (RunPod)",
        "POST /run",
        "429 Retry-After: 100000, twice, cap 0.5 s",
        "the job passes within 1-4 s (the cap, not the ask)",
    ),
    "large-outputs": Row(
        "test (ComfyUI)",
        "GET /view",
        "2400 x 2400 outputs (5.8 Mpx), baseline and variant differ",
        "scored on 1449 x 1449 copies, the row says so (scored_size); exit 0",
    ),
    "echoed-key": Row(
        "test (RunPod)",
        "GET /status",
        "the gateway echoes the Authorization header (the API key) in the job's error",
        "the key is in no output: stdout, stderr, JSON, Markdown, HTML report (***)",
    ),
    "secrets-in-target": Row(
        "test",
        "--target, RUNPOD_API_BASE",
        "credentials in the URL (any scheme) or a known secret pasted into it",
        "config error (exit 3); neither the userinfo nor HF_TOKEN, the registry password "
        "or the RunPod key is echoed",
    ),
    "lora-header-403": Row(
        "update",
        "header range read of the new LoRA",
        "403 every time",
        "LoRA and base held back with the reason (options, a note); models.yaml and lock "
        "unchanged for both",
    ),
    "lora-header-garbage": Row(
        "update",
        "header range read of the new LoRA",
        "bytes that are not a safetensors header",
        "LoRA and base held back with the reason; models.yaml and lock unchanged for both",
    ),
    "patch-hang-once": Row(
        "publish",
        "registry: blob PATCH",
        "the first PATCH never answers (read timeout), once",
        "the upload asks the registry's offset and resumes; same digest, image re-read",
    ),
    "registry-dies": Row(
        "publish",
        "registry: blob PATCH",
        "the registry dies mid-upload (a PATCH reset, then every connect refused)",
        "exit 6, one error line naming the PATCH (not the status GET), nothing tagged",
    ),
    "history-less-base": Row(
        "publish --tag",
        "a base image whose config has no history (ko, crane, kaniko, by hand)",
        "(no fault) a second release with a lock without layer digests",
        "history lines up with the layers; the second publish reuses every model layer "
        "(0 bytes from the Hub), same digest",
    ),
    "many-images-per-node": Row(
        "test (ComfyUI)",
        "GET /history",
        "a save node listing 400 images",
        "the job fails as bad_output naming the node, before any /view download",
    ),
    "not-an-image": Row(
        "test (ComfyUI)",
        "GET /view",
        "an HTML error page instead of the PNG",
        "the job fails as bad_output: size and first bytes, no Python repr",
    ),
    "markdown-worker-text": Row(
        "test (RunPod)",
        "GET /status",
        "a job error holding HTML, ESC/OSC hyperlinks and BEL",
        "the Markdown summary shows it escaped: no control character, no live HTML",
    ),
    "lock-size-plus-one": Row(
        "publish",
        "hub: file download",
        "(no fault) the lock's size of one file is one byte too large",
        "exit 8, one error line: size mismatch (not HTTP 416 from the Hub), nothing tagged",
    ),
    "stale-temp-files": Row(
        "lock",
        "(the project folder)",
        "temp files left by a writer killed with kill -9 (models.yaml's, a report's)",
        "the next command removes every dead writer's temp file, not only the file it writes",
    ),
    "huge-json-history": Row(
        "test (ComfyUI)",
        "GET /history",
        "a JSON answer over the JSON cap (cap lowered to 1 MB, 2 MB sent)",
        "the job fails as http naming the size, without parsing it; exit 13",
    ),
}
