"""Stand-in submodule (see av/__init__.py)."""


def __getattr__(name: str) -> type:
    return type(name, (), {})
