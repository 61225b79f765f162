"""models.yaml's `start:` block: the image's own start path (src/imagebuilder/startup).

Pure data. `render` and `publish` turn it into the image's /imagebuilder/start.json
(``image.startplan``); the entrypoint reads that file inside the worker.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from imagebuilder.project.strict import Strict

# One argv word: no spaces or shell syntax (it is JSON in start.json, never a shell word,
# but a flag with a space in it is a typo).
Word = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.,:/=+@%-]{1,200}$")]


class PrefetchSettings(Strict):
    """Read the model files into the page cache while ComfyUI starts."""

    enabled: bool = True
    """Off: ComfyUI's loaders read the files themselves when the first job runs."""
    readers: int = Field(default=8, ge=1, le=64)
    """Parallel readers once ComfyUI answers (a disk reads faster with several)."""
    start_readers: int = Field(default=2, ge=1, le=64)
    """Readers while ComfyUI starts: its own imports read from the same disk, and cloud
    block devices ignore I/O priorities, so fewer readers leave its start room."""
    python_libraries: list[Word] = Field(default_factory=list, max_length=20)
    """Packages of the image's Python whose shared libraries are read first (e.g. torch,
    nvidia). Off by default: on the H200 run it slowed a cold start (docs/cold-start.md)."""


class WarmupSettings(Strict):
    """Run the shipped workflow once on a tiny input as soon as ComfyUI answers."""

    enabled: bool = True
    """Off: the first real job loads the models."""
    workflow: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
    """The workflow (a file of workflows/, without .json) the warm-up runs; unset: the
    image's first workflow by name (qwen_image_edit_1 for the shipped stack)."""
    steps: int = Field(default=1, ge=1, le=100)
    """Sampler steps of the warm-up: one loads every model as a full job does."""


class StartSettings(Strict):
    """The image's own entrypoint: it wraps the base image's command (the base's handler
    still serves jobs). Each part can also be switched off at run time: IMAGEBUILDER_START=0
    (all), IMAGEBUILDER_PREFETCH=0, IMAGEBUILDER_WARMUP=0, IMAGEBUILDER_COMFYUI_FLAGS=0."""

    enabled: bool = True
    """Off: the image starts exactly as its base does."""
    base_command: list[Word] = Field(default_factory=list, max_length=50)
    """The base image's own Entrypoint + Cmd, which the entrypoint runs. The Dockerfile
    needs it (a Dockerfile's ENTRYPOINT resets the base's CMD; `render` reads no
    registry); `publish` reads the base's config and warns when it differs."""
    comfyui_flags: list[Word] = Field(
        default_factory=lambda: ["--disable-api-nodes", "--cuda-malloc"], max_length=50
    )
    """Appended to ComfyUI's own command line (a later flag wins). The defaults were kept
    by measurement on the H200 (docs/cold-start.md)."""
    prefetch: PrefetchSettings = PrefetchSettings()
    """Model files into the page cache during ComfyUI's start."""
    warmup: WarmupSettings = WarmupSettings()
    """A first job of the image's own before real ones."""
    bytecode: bool = True
    """Dockerfile path: compile the base's Python and ComfyUI to bytecode in a layer
    (measured: ComfyUI answers after 6.9 s instead of 20.9 s)."""
