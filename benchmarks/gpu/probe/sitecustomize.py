"""Start-up markers of a ComfyUI process, for the cold-start plan (plan_cold.py).

On PYTHONPATH, Python imports this at interpreter start. In ComfyUI's process only (its
script is main.py) it appends JSON lines to IB_TIMING_LOG: the interpreter is up, then,
from a thread that looks at sys.modules every 5 ms, when torch's import began and when
comfy.model_management had probed the GPU (torch + CUDA ready: it sets total_ram right
after). Another sitecustomize further down the path is imported as usual.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time

_LOG = os.environ.get("IB_TIMING_LOG", "")


def _emit(part: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"part": part, "start": time.time(), "seconds": 0.0}) + "\n")


def _watch() -> None:
    seen_torch = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        modules = sys.modules
        if not seen_torch and "torch" in modules:
            seen_torch = True
            _emit("probe_torch_import_began")
        management = modules.get("comfy.model_management")
        if management is not None and hasattr(management, "total_ram"):
            _emit("probe_torch_cuda_ready")
            return
        time.sleep(0.005)


if sys.argv and sys.argv[0].endswith("main.py"):
    _emit("probe_interpreter_up")
    threading.Thread(target=_watch, name="ib-probe", daemon=True).start()

_here = os.path.dirname(os.path.abspath(__file__))
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_this = sys.modules.pop("sitecustomize", None)
try:
    importlib.import_module("sitecustomize")
except ImportError:
    pass
finally:
    sys.path[:] = _saved
    if _this is not None:
        sys.modules["sitecustomize"] = _this
