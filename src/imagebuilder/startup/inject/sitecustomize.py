"""Append the image's ComfyUI flags to ComfyUI's own command line.

Python imports ``sitecustomize`` at every start; the entrypoint puts this folder first on
the wrapped command's PYTHONPATH. Only the process whose script is ComfyUI's main.py
(IMAGEBUILDER_COMFYUI_MAIN) is touched, so the base's start script keeps starting ComfyUI
its own way and its handler runs unchanged; argparse takes the last value of a repeated
option, so a flag here wins over the same flag given by the base. Then any other
sitecustomize on the path (a distribution's own) is imported as it would have been.
"""

from __future__ import annotations

import importlib
import json
import os
import sys


def _append_flags() -> None:
    main = os.environ.get("IMAGEBUILDER_COMFYUI_MAIN", "")
    if not main or not sys.argv or not sys.argv[0]:
        return
    try:
        if os.path.realpath(sys.argv[0]) != os.path.realpath(main):
            return
        flags = json.loads(os.environ.get("IMAGEBUILDER_COMFYUI_FLAGS_JSON", "[]"))
    except (OSError, ValueError):
        return
    if isinstance(flags, list):
        sys.argv.extend(str(flag) for flag in flags)


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    this = sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:
        sys.path[:] = saved
        if this is not None:
            sys.modules["sitecustomize"] = this


_append_flags()
_chain()
