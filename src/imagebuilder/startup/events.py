"""One JSON line per event on stderr (and in IMAGEBUILDER_START_LOG when set)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

_lock = threading.Lock()


def log(event: str, **fields: Any) -> None:
    """Never raises: logging must not be the reason a worker stops."""
    record = {"ib_start": event, "t": round(time.time(), 3), **fields}
    line = json.dumps(record, default=str)
    with _lock:
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
            path = os.environ.get("IMAGEBUILDER_START_LOG")
            if path:
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        except (OSError, ValueError):
            pass
