"""The generated reference pages are current, complete, and every link in the docs lands.

docs/cli.md and docs/configuration.md are generated from the Typer app, the errors module
and the pydantic schema (`uv run python -m imagebuilder.docgen`); this is the CI check
that someone ran it after changing a command, an option, an exit code or a key.
"""

from __future__ import annotations

import re
import shutil
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from imagebuilder.cli import app
from imagebuilder.docgen.__main__ import main as docgen_main
from imagebuilder.docgen.cli_reference import command_tree, commands_reference
from imagebuilder.docgen.config_reference import config_reference
from imagebuilder.docgen.markdown import MissingMarkers, splice
from imagebuilder.docgen.pages import generated_pages
from imagebuilder.errors import EXIT_CODE_MEANINGS, ExitCode
from imagebuilder.project import config as schema

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "uv run python -m imagebuilder.docgen"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("relative", ["docs/cli.md", "docs/configuration.md", "docs/engine.md"])
def test_generated_page_is_current(relative: str) -> None:
    expected = generated_pages(ROOT)[relative]
    committed = (ROOT / relative).read_text(encoding="utf-8")
    assert committed == expected, f"{relative} is stale: run `{REGENERATE}`"


def test_check_mode_fails_on_a_stale_page_and_writing_fixes_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    page = tmp_path / "docs" / "cli.md"
    page.write_text(page.read_text().replace("| 100 |", "| 99 |"), encoding="utf-8")
    said: list[str] = []
    assert docgen_main(["--root", str(tmp_path), "--check"], out=said.append) == 1
    assert said == [f"stale: docs/cli.md; run `{REGENERATE}`"]
    assert docgen_main(["--root", str(tmp_path)], out=said.append) == 0
    assert docgen_main(["--root", str(tmp_path), "--check"], out=said.append) == 0
    assert page.read_text() == (ROOT / "docs" / "cli.md").read_text()


def test_every_command_and_option_is_in_the_reference() -> None:
    text = commands_reference(app)
    for name, command in command_tree(app).commands.items():
        section = text.split(f"### `imagebuilder {name}`", 1)[1].split("\n### ", 1)[0]
        for param in command.params:
            if param.param_type_name == "option":
                assert f"`{param.opts[0]}`" in section, (name, param.opts)
            else:
                assert param.name.upper() in section, (name, param.name)


def test_every_exit_code_has_a_meaning() -> None:
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)


def _nested_models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _nested_models(arg)]


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    found = [root]
    for model in found:
        for field in model.model_fields.values():
            for nested in _nested_models(field.annotation):
                if nested not in found:
                    found.append(nested)
    return found


def test_every_models_yaml_key_is_documented_with_a_meaning() -> None:
    text = config_reference(schema.Config.model_json_schema())
    sections = [
        re.findall(r"^\| `(\w+)` \|.*\| ([^|]*) \|$", section, flags=re.MULTILINE)
        for section in text.split("\n### ")
    ]
    keys = [{key for key, _ in rows} for rows in sections]
    for model in _models(schema.Config):
        names = {field.alias or name for name, field in model.model_fields.items()}
        assert names in keys, model.__name__
    undescribed = [key for rows in sections for key, meaning in rows if not meaning.strip()]
    assert undescribed == [], "give these fields a docstring in project/config.py"


def test_splice_replaces_only_the_named_block() -> None:
    page = (
        "intro\n<!-- BEGIN GENERATED: a (regenerate: x) -->\nold\n"
        "<!-- END GENERATED: a -->\noutro\n"
    )
    spliced = splice(page, {"a": "new"}, regenerate="x")
    assert spliced == (
        "intro\n<!-- BEGIN GENERATED: a (regenerate: x) -->\n\nnew\n\n"
        "<!-- END GENERATED: a -->\noutro\n"
    )
    assert splice(spliced, {"a": "new"}, regenerate="x") == spliced


def test_splice_refuses_a_page_without_the_markers() -> None:
    with pytest.raises(MissingMarkers, match="no generated block 'b'"):
        splice("intro\n", {"b": "text"})


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_every_relative_link_lands(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_every_table_has_its_delimiter_row(page: Path) -> None:
    """A table without its `|---|` row renders as one paragraph of pipes."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    tables = re.findall(r"(?:^\|.*\n)+", text, flags=re.MULTILINE)
    for table in tables:
        rows = table.splitlines()
        assert len(rows) >= 2 and re.fullmatch(r"\|(?: *:?-+:? *\|)+", rows[1]), rows[0]
        cells = [len(re.findall(r"(?<!\\)\|", row)) for row in rows]
        assert set(cells) == {cells[0]}, f"rows with another number of cells: {rows[0]}"
