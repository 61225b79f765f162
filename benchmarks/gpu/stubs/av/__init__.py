"""Stand-in for PyAV, put on PYTHONPATH only where PyAV is not installed.

ComfyUI's API package imports PyAV at start-up for its video types; image workflows
never call it. Any attribute is a placeholder class, and opening a container fails
loudly, so a workflow that does need video cannot pass silently.
"""

from typing import Any


def __getattr__(name: str) -> type:
    return type(name, (), {})


def open(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("PyAV is not installed: this benchmark stand-in cannot open media")
