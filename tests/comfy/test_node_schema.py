"""check-workflows against ComfyUI's own node schema (the committed /object_info snapshot),
offline, and its refresh from a running ComfyUI over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from imagebuilder.cli import main
from imagebuilder.comfy.checks import Problem, Severity, check_stack_workflows, check_workflow
from imagebuilder.comfy.node_schema import NodeSchema
from imagebuilder.comfy.object_info import load_snapshot, snapshot_path
from imagebuilder.comfy.workflows import rendered_graphs
from imagebuilder.errors import ExitCode
from infra.stacks import SHIPPED_YAML, TEMPLATES, project, shipped_config

SNAPSHOT = snapshot_path(TEMPLATES)


@pytest.fixture(scope="module")
def schema() -> NodeSchema:
    loaded = load_snapshot(SNAPSHOT)
    assert loaded is not None
    return loaded


def errors(graph: dict[str, Any], schema: NodeSchema) -> list[Problem]:
    problems = check_workflow("qwen_image_edit_1", graph, shipped_config(), schema)
    return [p for p in problems if p.severity is Severity.ERROR]


def shipped_graph(name: str = "qwen_image_edit_1") -> dict[str, Any]:
    return rendered_graphs(shipped_config(), templates_dir=TEMPLATES)[name]


def test_snapshot_is_the_pinned_comfyui(schema: NodeSchema) -> None:
    assert schema.comfyui == "0.3.64 (a125cd84b054)"
    for node in ("KSampler", "ConditioningZeroOut", "GetImageSize", "EmptySD3LatentImage"):
        assert node in schema.nodes
    assert schema.nodes["GetImageSize"].outputs == ("INT", "INT", "INT")


def test_shipped_workflows_pass_the_schema(schema: NodeSchema) -> None:
    for name, graph in rendered_graphs(shipped_config(), templates_dir=TEMPLATES).items():
        assert check_workflow(name, graph, shipped_config(), schema) == [], name


def test_a_node_type_comfyui_lacks_is_an_error(schema: NodeSchema) -> None:
    graph = shipped_graph()
    graph["3"]["class_type"] = "KSamplerTurbo"
    [problem] = errors(graph, schema)
    assert problem.node == "3"
    assert problem.message == "ComfyUI 0.3.64 (a125cd84b054) has no node type 'KSamplerTurbo'"
    assert "--refresh-object-info" in problem.hint


def test_an_option_comfyui_lacks_is_an_error(schema: NodeSchema) -> None:
    graph = shipped_graph()
    graph["3"]["inputs"]["sampler_name"] = "euler_turbo"
    [problem] = errors(graph, schema)
    assert "input 'sampler_name' is 'euler_turbo', not one of ComfyUI's values" in problem.message
    assert "'euler'" in problem.message


@pytest.mark.parametrize(
    ("node", "name", "value", "needle"),
    [
        ("3", "steps", 10_001, "above ComfyUI's maximum 10000"),
        ("3", "steps", "4", "expects a whole number (INT)"),
        ("3", "denoise", 1.5, "above ComfyUI's maximum 1.0"),
        ("3", "cfg_scale", 1.0, "KSampler has no input 'cfg_scale'"),
        ("3", "latent_image", ["117", 0], "expects LATENT but links to output 0 of node 117"),
        ("120", "image", ["3", 0], "expects IMAGE but links to output 0 of node 3"),
        ("88", "width", ["120", 5], "links to output 5 of node 120 (GetImageSize), which has 3"),
        ("3", "model", 7, "takes a link to a MODEL output, not the value 7"),
    ],
)
def test_inputs_types_and_limits_come_from_the_schema(
    schema: NodeSchema, node: str, name: str, value: Any, needle: str
) -> None:
    graph = shipped_graph()
    graph[node]["inputs"][name] = value
    messages = [p.message for p in errors(graph, schema)]
    assert any(needle in m for m in messages), messages


def test_a_missing_required_input_is_an_error(schema: NodeSchema) -> None:
    graph = shipped_graph()
    del graph["3"]["inputs"]["scheduler"]
    [problem] = errors(graph, schema)
    assert problem.message == "KSampler needs input 'scheduler' (COMBO), which is missing"


def test_file_lists_are_left_to_the_pin_checks(schema: NodeSchema) -> None:
    """Loader choices list the files of the machine the snapshot came from: the pinned
    files are checked against models.yaml instead, and input images are the caller's."""
    graph = shipped_graph()
    graph["78"]["inputs"]["image"] = "a_photo_the_worker_receives.png"
    assert errors(graph, schema) == []


def _template_with(tmp_path: Path, edit: dict[str, Any]) -> Path:
    config = project(tmp_path, SHIPPED_YAML)
    path = tmp_path / "workflows" / "qwen_image_edit_1.json"
    graph = json.loads(path.read_text())
    for node, inputs in edit.items():
        graph[node] = {**graph[node], **inputs}
    path.write_text(json.dumps(graph))
    return config


def test_check_workflows_fails_offline_on_a_missing_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _template_with(tmp_path, {"110": {"class_type": "ConditioningZeroOutPlus"}})
    assert main(["check-workflows", "--config", str(config)]) == ExitCode.WORKFLOW
    out = capsys.readouterr().out
    assert "error: qwen_image_edit_1.json node 110: ComfyUI 0.3.64" in out
    assert "'ConditioningZeroOutPlus'" in out
    # Without the snapshot the same graph passes the pin checks: the schema caught it.
    assert check_stack_workflows(shipped_config(), tmp_path / "workflows", None) != []
    (tmp_path / "workflows" / "schema" / "object_info.json").unlink()
    assert main(["check-workflows", "--config", str(config)]) == 0


class _FakeComfy(BaseHTTPRequestHandler):
    """A real HTTP server answering GET /object_info and /system_stats like ComfyUI."""

    answers: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        body = json.dumps(self.answers.get(self.path, {})).encode()
        self.send_response(200 if self.path in self.answers else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def comfy_server() -> Iterator[str]:
    object_info = json.loads(SNAPSHOT.read_text())["object_info"]
    _FakeComfy.answers = {
        "/object_info": {
            name: {**spec, "description": "display text", "category": "x"}
            for name, spec in object_info.items()
            if name != "ConditioningZeroOut"  # an older ComfyUI without the node
        },
        "/system_stats": {"system": {"comfyui_version": "0.3.10"}},
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeComfy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_refresh_rewrites_the_snapshot_from_a_running_comfyui(
    tmp_path: Path, comfy_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, SHIPPED_YAML)
    args = ["check-workflows", "--config", str(config), "--refresh-object-info", comfy_server]
    assert main(args) == ExitCode.WORKFLOW  # the shipped graphs need ConditioningZeroOut
    out = capsys.readouterr().out
    assert "ComfyUI 0.3.10 has no node type 'ConditioningZeroOut'" in out
    written = json.loads((tmp_path / "workflows" / "schema" / "object_info.json").read_text())
    assert written["comfyui"]["version"] == "0.3.10"
    assert "description" not in written["object_info"]["KSampler"]  # display text dropped


def test_refresh_from_nowhere_is_a_network_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, SHIPPED_YAML)
    args = [
        "check-workflows",
        "--config",
        str(config),
        "--refresh-object-info",
        "http://127.0.0.1:9",
    ]
    assert main(args) == ExitCode.NETWORK
    assert "could not read the node schema from ComfyUI" in capsys.readouterr().err
    # Nothing half-written: the committed snapshot is untouched.
    assert (
        tmp_path / "workflows" / "schema" / "object_info.json"
    ).read_bytes() == SNAPSHOT.read_bytes()
