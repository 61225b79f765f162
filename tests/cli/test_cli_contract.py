"""The CLI as a contract: option names agree across commands, the reference in docs/cli.md
lists every command and every exit code, every command the README and docs name exists,
and user mistakes get a message with a hint, not a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from imagebuilder.cli import app, main
from imagebuilder.errors import ExitCode
from imagebuilder.updates.proposal import Change
from imagebuilder.weights.compat import Compatibility

ROOT = Path(__file__).resolve().parents[2]
CLI_REFERENCE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Commands the README's quickstart names before they exist (`imagebuilder test` is being built).
# When one lands, the test below fails until it is taken off this list.
PENDING_COMMANDS: set[str] = set()
SHIPPED_CONFIG = ROOT / "models.yaml"

# Commands that read no models.yaml: they take an image, a file or a Hub path instead.
NO_CONFIG = {"schema", "inspect", "inspect-image", "diff", "import-template", "init"}
# `schema` prints the JSON Schema itself: its whole result is JSON already.
NO_JSON = {"schema"}
IMAGE_COMMANDS = ("build", "build-variants", "publish")


def _commands() -> dict[str, Any]:
    # Typer vendors its own click: its command classes are not the click package's.
    return dict(getattr(typer.main.get_command(app), "commands"))  # noqa: B009


def _option_names(command: Any) -> set[str]:
    return {name for param in command.params for name in param.opts}


def test_every_command_with_a_result_takes_json() -> None:
    lacking = [
        name
        for name, command in _commands().items()
        if name not in NO_JSON and "--json" not in _option_names(command)
    ]
    assert lacking == []


def test_every_command_reading_models_yaml_takes_config_and_c() -> None:
    for name, command in _commands().items():
        if name not in NO_CONFIG:
            assert {"--config", "-c"} <= _option_names(command), name


@pytest.mark.parametrize("name", IMAGE_COMMANDS)
def test_image_commands_share_tag_and_label_options(name: str) -> None:
    wanted = {"--tag", "-t", "--image", "--image-version", "--revision", "--source"}
    assert wanted <= _option_names(_commands()[name])


def test_publish_takes_image_version_as_build_does() -> None:
    """One spelling: `--version` is the global option (tests/cli/test_help_screens.py)."""
    for name in ("publish", "build"):
        context = _commands()[name].make_context(name, ["--image-version", "1.2.3"])
        assert context.params["version"] == "1.2.3"


def test_build_variants_parses_tags_and_labels() -> None:
    command = _commands()["build-variants"]
    args = ["-t", "v1", "--tag", "v2", "--image-version", "1.2", "--revision", "abc"]
    params = command.make_context("build-variants", [*args, "--source", "https://x"]).params
    assert params["tag"] == ["v1", "v2"]
    assert (params["version"], params["revision"], params["source"]) == ("1.2", "abc", "https://x")


def test_cli_reference_lists_every_command_in_help_order() -> None:
    listed = re.findall(r"^### `imagebuilder ([a-z-]+)`$", CLI_REFERENCE, flags=re.MULTILINE)
    assert listed == list(_commands())  # same commands, in the order `--help` shows them


def test_cli_reference_exit_code_table_matches_exit_codes() -> None:
    section = CLI_REFERENCE.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}


def _named_commands(markdown: str) -> set[str]:
    """Commands named in code: fenced blocks and `inline spans`, not prose."""
    code = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)
    code += re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S))
    return {name for text in code for name in re.findall(r"\bimagebuilder ([a-z][a-z-]*)", text)}


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda path: path.name)
def test_every_command_the_docs_name_exists(page: Path) -> None:
    named = _named_commands(page.read_text(encoding="utf-8"))
    assert named - set(_commands()) - PENDING_COMMANDS == set()


def test_readme_quickstart_runs_the_whole_cycle() -> None:
    quickstart = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quickstart", 1)[1]
    named = _named_commands(quickstart.split("\n## ", 1)[0])
    for step in ("validate", "lock", "check-updates", "update", "render", "publish", "test"):
        assert step in named, step


def test_pending_commands_are_still_pending() -> None:
    landed = PENDING_COMMANDS & set(_commands())
    assert not landed, f"{landed} exist now: take them off PENDING_COMMANDS"


def test_several_config_problems_each_start_with_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "models.yaml"
    text = SHIPPED_CONFIG.read_text(encoding="utf-8").replace("revision: main", "revison: main")
    config.write_text(text, encoding="utf-8")
    assert main(["validate", "--config", str(config)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    problem_lines = [line for line in err.splitlines() if "unknown key 'revison'" in line]
    assert len(problem_lines) == text.count("revison:") > 1
    assert all(line.startswith("error: ") for line in problem_lines)


def test_update_names_an_unknown_entry_before_asking_the_hub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9: a Hub request would end in exit 6 after retries, not 2.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    config = tmp_path / "models.yaml"
    config.write_text(SHIPPED_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["update", "vea", "--config", str(config)]) == ExitCode.USAGE  # an argument
    err = " ".join(capsys.readouterr().err.replace("│", " ").split())  # Typer boxes usage errors
    assert "no entry named 'vea' in models.yaml (did you mean 'vae'?)" in err
    assert "entries: diffusion_model, text_encoder, vae, lightning_lora" in err
    assert "checking" not in err


@pytest.mark.parametrize("target", ["owner/name/model.ckpt", "owner/name/sub/model.pt@main"])
def test_inspect_refuses_a_pickle_format_with_exit_7_and_json(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", target, "--json"]) == ExitCode.UNSAFE_FILE
    captured = capsys.readouterr()
    assert '"error": "PickleFormatRefused"' in captured.out
    assert "pickle-based format, refused" in captured.err
    assert "hint: inspect the .safetensors release" in captured.err


def test_inspect_missing_remote_file_names_the_path(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_env(qwen_hub)
    target = "Comfy-Org/Qwen-Image-Edit_ComfyUI/split_files/nope.safetensors"
    assert main(["inspect", target]) == ExitCode.HUB
    err = capsys.readouterr().err
    assert "Comfy-Org/Qwen-Image-Edit_ComfyUI@main: split_files/nope.safetensors: file not" in err
    assert "hint: check the path" in err


def test_inspect_and_check_updates_share_one_compatibility_vocabulary() -> None:
    # One enum for `inspect --against`, `verify` and check-updates: its values are JSON.
    assert [c.value for c in Compatibility] == [
        "same-bytes", "drop-in", "compatible-with-changes", "different-architecture", "unknown",
    ]  # fmt: skip
    assert Change.__dataclass_fields__["compat"].default is Compatibility.UNKNOWN


# A mistake and what its message must (and must not) say; "{tmp}" is the test's folder.
MISTAKES = [
    pytest.param(
        ["diff", "models.yaml", "models.yaml"],
        ExitCode.CONFIG,
        ["two different sources", "hint: "],
        [],
        id="diff-a-source-with-itself",
    ),
    pytest.param(
        ["import-template", "{tmp}/none.json"],
        ExitCode.WORKFLOW,
        ["file not found", "hint: pass a ComfyUI workflow"],
        [],
        id="import-template-missing-file",
    ),
    pytest.param(
        ["cost", "--config", str(SHIPPED_CONFIG), "--measurements", "{tmp}/h100.yaml"],
        ExitCode.CONFIG,
        ["{tmp}/h100.yaml: measurements file not found", "--measurements"],
        ["--config"],  # the hint names the option that was wrong
        id="cost-missing-measurements",
    ),
    pytest.param(
        ["diff", "{tmp}/other.yaml", "some/image:tag"],
        ExitCode.CONFIG,
        ["{tmp}/other.yaml: file not found"],
        ["docker pull"],
        id="diff-missing-models-yaml",
    ),
    pytest.param(
        ["inspect", "owner/name/model.safetensors", "--sha256", "0" * 64],
        ExitCode.USAGE,  # refused, not skipped
        ["checks local files only"],
        [],
        id="inspect-sha256-of-a-remote-file",
    ),
    pytest.param(
        ["check-updates", "--json", "--markdown", "-c", str(SHIPPED_CONFIG)],
        ExitCode.USAGE,
        ["pick one"],
        [],
        id="check-updates-json-and-markdown",
    ),
]


@pytest.mark.parametrize(("args", "code", "said", "unsaid"), MISTAKES)
def test_a_mistake_gets_a_message_not_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: ExitCode,
    said: list[str],
    unsaid: list[str],
) -> None:
    def here(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path))

    assert main([here(arg) for arg in args]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for text in said:
        assert here(text) in err
    for text in unsaid:
        assert here(text) not in err
