"""The package layout as rules a test can hold (docs/development.md explains them).

Each package of src/imagebuilder imports only the packages below it; command modules do
not import each other; modules stay small; tests import support packages, never other
test modules; huggingface_hub is used through its public names; the runtime dependencies
are exactly the distributions src/ imports.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "imagebuilder"
# Package -> the imagebuilder packages it may import (itself always allowed).
# network (the one time budget and retry policy) sits beside errors, below the rest.
ALLOWED = {
    "exitcodes": set(),
    # The image's entrypoint: runs inside the worker image, standard library only.
    "startup": set(),
    "errors": {"exitcodes"},
    "origins": {"errors"},
    "network": {"errors", "origins"},
    "project": {"errors"},
    "hub": {"errors", "network", "project"},
    "weights": {"errors", "project", "hub"},
    "oci": {"errors", "network", "origins", "project"},
    "comfy": {"errors", "project"},
    "updates": {"errors", "project", "hub", "weights"},
    "image": {"errors", "network", "project", "hub", "comfy", "oci"},
    "abtest": {"errors", "network", "project", "comfy"},
    "cli": {
        "errors",
        "network",
        "project",
        "hub",
        "weights",
        "oci",
        "comfy",
        "updates",
        "image",
        "abtest",
    },
}
MAX_LINES = 300
# The one errors module holds one class per failure, by design (house style).
LONGER_BY_DESIGN = {"errors.py"}
CLI_HELPERS = {"__init__", "app", "output", "_common", "_cost_table", "_imaging", "_updates_table"}
PRIVATE_HUB_IMPORTS_WITHOUT_PUBLIC_NAME = {
    ("huggingface_hub.utils._http", "default_client_factory")
}


def imports(path: Path) -> Iterator[ast.ImportFrom | ast.Import]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom | ast.Import):
            yield node


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in imports(path):
        if isinstance(node, ast.ImportFrom) and node.level:
            continue  # relative: within the same package (the image's startup package)
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def package_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def test_packages_import_only_the_packages_below_them() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        package = package_of(path)
        if package not in ALLOWED:
            continue  # __init__.py and __main__.py of imagebuilder itself
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] != "imagebuilder" or len(parts) < 2 or parts[1].startswith("__"):
                continue
            if parts[1] != package and parts[1] not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(sorted(wrong))


def test_command_modules_do_not_import_each_other() -> None:
    commands = {p.stem for p in (SRC / "cli").glob("*.py")} - CLI_HELPERS
    wrong = [
        f"cli/{path.name} imports {module}"
        for path in (SRC / "cli").glob("*.py")
        if path.stem not in {"__init__", "app"}
        for module in imported_modules(path)
        if module.startswith("imagebuilder.cli.") and module.split(".")[2] in commands
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_modules_stay_small() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in SRC.rglob("*.py")
        if path.name not in LONGER_BY_DESIGN
        and (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


def test_tests_import_support_packages_never_test_modules() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in [*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
        for module in imported_modules(path)
        if module.split(".")[0].startswith(("test_", "conftest", "tests"))
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_huggingface_hub_private_modules_only_where_no_public_name_exists() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        for node in imports(path):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module.startswith("huggingface_hub") and "._" in node.module:
                wrong += [
                    f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if (node.module, alias.name) not in PRIVATE_HUB_IMPORTS_WITHOUT_PUBLIC_NAME
                ]
    assert not wrong, "\n".join(wrong)


def test_runtime_dependencies_are_exactly_what_src_imports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in project["dependencies"]
    }
    # import name -> distribution, where they differ
    distribution = {"ruamel": "ruamel.yaml", "PIL": "pillow", "skimage": "scikit-image"}
    imported = {
        distribution.get(top, top).lower().replace("_", "-")
        for path in SRC.rglob("*.py")
        for module in imported_modules(path)
        if (top := module.split(".")[0]) not in sys.stdlib_module_names
        and top not in {"imagebuilder", "__future__"}
    }
    assert declared == imported


def _listed(text: str) -> set[str]:
    """The package names in double (docstring) or single (Markdown) backticks."""
    return set(re.findall(r"``?([a-z_]+)``?", text))


def _docstring_imports(package: str) -> set[str]:
    init = SRC / package / "__init__.py"
    doc = " ".join((ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or "").split())
    if "imports nothing from imagebuilder" in doc:
        return set()
    found = re.search(r"May import (.*?)\.(?:\s|$)", doc)
    assert found, f"{init.relative_to(ROOT)}: its docstring does not say what it may import"
    return _listed(re.sub(r"\([^)]*\)", "", found.group(1)))  # asides in parentheses


def test_package_docstrings_state_the_import_rules() -> None:
    packages = [name for name in ALLOWED if (SRC / name / "__init__.py").is_file()]
    wrong = {
        package: (sorted(_docstring_imports(package)), sorted(ALLOWED[package]))
        for package in packages
        if _docstring_imports(package) != ALLOWED[package]
    }
    assert not wrong, f"docstring says, rules say: {wrong}"


def test_development_guide_states_the_import_rules() -> None:
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    table = text.split("| package ", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        package = cells[0].strip("`")
        allowed = cells[1].split("(")[0]  # an aside in parentheses names no package
        rows[package] = set() if "nothing" in allowed else _listed(allowed)
    assert rows == ALLOWED
