"""ComfyUI release versions ("0.3.64", "v0.5.0"): parsed, ordered, printed one way.

ComfyUI tags releases ``vMAJOR.MINOR.PATCH`` and writes the same numbers without the
``v`` into ``comfyui_version.py``; both spellings parse to one value. Anything else (a
pre-release suffix, four numbers, a branch name) is refused: a floor or a pin must compare
without guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^v?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")


@dataclass(frozen=True, order=True)
class ComfyVersion:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> ComfyVersion:
        match = _VERSION.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text[:40]!r} is not a ComfyUI version; expected MAJOR.MINOR.PATCH such as "
                "0.5.0 (a leading 'v' is allowed)"
            )
        major, minor, patch = (int(part) for part in match.groups())
        return cls(major, minor, patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def tag(self) -> str:
        """The git tag ComfyUI releases it under."""
        return f"v{self}"


def check_comfy_version(value: str) -> str:
    """A models.yaml value: the version as written, if it parses (pydantic validator)."""
    return str(ComfyVersion.parse(value))
