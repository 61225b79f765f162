"""publish, publish --check, inspect-image and diff through the fault proxy, in front of
both the loopback Hub (downloads) and the real test registry (auth, uploads, manifests).

Transient faults on every route at once must give the very same image digest; the
first upload chunk failing must still give a complete image that reads back intact;
fatal faults end with exit 6 (or 8 for corrupt bytes) and nothing tagged.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from faultproxy import Fault, FaultProxy, Kind
from faults.budget import short_budgets
from faults.case import Case, CaseParts
from faults.closed import closed_port_host
from faults.matrix import (
    BLOB_UPLOAD,
    MANIFEST_GET,
    REGISTRY_FATAL,
    REGISTRY_ROUTES,
    ROUND_TWO,
    TRANSIENT,
    RegistryFatal,
    Route,
)
from faults.registry_case import Run, project_files, tags, timed, verify_image
from hubserver.fixtures import configure_hub_env
from hubserver.server import HubServer
from imagebuilder.cli import main
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.digest import sha256_digest
from imagebuilder.oci.image import canonical_json
from imagebuilder.oci.transport import RegistryTransport
from infra.fixtures import TinyBase
from infra.project import make_project, use_registry
from infra.registry import RegistryServer

pytestmark = pytest.mark.integration


@dataclass
class Stage:
    hub: HubServer
    hub_proxy: FaultProxy
    registry: RegistryServer
    registry_proxy: FaultProxy
    template: Path
    baseline: dict[str, object]


def _port(host_port: str) -> int:
    return int(host_port.rsplit(":", 1)[1])


def _env(patch: pytest.MonkeyPatch, stage_hub: HubServer, home: Path, hub_url: str) -> None:
    configure_hub_env(patch, stage_hub, home)
    patch.setenv("HF_ENDPOINT", hub_url)
    patch.setenv("SOURCE_DATE_EPOCH", "1758535200")


@pytest.fixture(scope="module")
def stage(
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stage]:
    with (
        HubServer("qwen_small") as hub,
        FaultProxy(_port(hub.host_port)) as hub_proxy,
        FaultProxy(registry.port) as registry_proxy,
    ):
        root = tmp_path_factory.mktemp("registryfaults")
        # The base is read through the proxy too: its manifest and config are routes.
        base = TinyBase(
            tiny_base_image.ref.replace(registry.host, registry_proxy.host, 1),
            tiny_base_image.image_id,
            tiny_base_image.digest,
        )
        template = make_project(root, f"{registry_proxy.host}/faults-baseline", base)
        # The tiny base runs `sh`: say so, or every publish warns that models.yaml's
        # start.base_command differs (this suite wants no warning at all).
        config = template / "models.yaml"
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('base_command: ["/start.sh"]', 'base_command: ["sh"]'))
        with pytest.MonkeyPatch.context() as patch:
            _env(patch, hub, root / "hf_home", hub.url)
            use_registry(patch, registry, registry_proxy.host)
            assert main(["lock", "-c", str(template / "models.yaml")]) == 0
        stage = Stage(hub, hub_proxy, registry, registry_proxy, template, {})
        yield stage


class Runner(Case[Stage]):
    """This suite's commands, run for one case."""

    def publish(
        self, repository: str, *extra: str, registry_host: str | None = None
    ) -> tuple[Run, Path]:
        stage = self.stage
        project = self.tmp_path / "project"
        if not project.exists():
            shutil.copytree(stage.template, project)
        _env(self.monkeypatch, stage.hub, self.tmp_path / "hf_home", stage.hub_proxy.url)
        use_registry(self.monkeypatch, stage.registry, stage.registry_proxy.host)
        short_budgets(self.monkeypatch)
        image = f"{registry_host or stage.registry_proxy.host}/{repository}"
        args = ["publish", "-c", str(project / "models.yaml"), "--image", image, *extra, "--json"]
        self.capsys.readouterr()
        code, seconds = timed(lambda: main(args))
        captured = self.capsys.readouterr()
        result = json.loads(captured.out) if captured.out.strip() else {}
        return Run(code, result, captured.err, seconds), project

    def cli_json(self, *args: str) -> Any:
        """A read-only command's --json answer; it must succeed."""
        self.capsys.readouterr()
        assert main([*args, "--json"]) == 0
        return json.loads(self.capsys.readouterr().out)

    def baseline_digest(self) -> str:
        """The digest of the image published with no fault, published once per module."""
        stage = self.stage
        if "digest" not in stage.baseline:
            stage.hub_proxy.clear()
            stage.registry_proxy.clear()
            first = self.elsewhere("baseline")
            run, _ = first.publish("faults-baseline")
            assert run.exit_code == 0, run.stderr
            stage.baseline["digest"] = run.result["digest"]
        return str(stage.baseline["digest"])


@pytest.fixture
def runner(stage: Stage, case_parts: CaseParts) -> Runner:
    return Runner(stage, *case_parts)


def _break(stage: Stage, routes: tuple[tuple[str, Route], ...], fault: Fault, times: int) -> None:
    stage.hub_proxy.clear()
    stage.registry_proxy.clear()
    for side, (method, path, header) in routes:
        proxy = stage.hub_proxy if side == "hub" else stage.registry_proxy
        proxy.add(fault, method=method, path=path, header=header, times=times)


def _applied(stage: Stage) -> int:
    return stage.hub_proxy.faults_applied() + stage.registry_proxy.faults_applied()


@pytest.mark.parametrize("fault_name", list(TRANSIENT))
def test_one_transient_fault_per_route_gives_the_same_image(
    runner: Runner, fault_name: str
) -> None:
    stage = runner.stage
    expected = runner.baseline_digest()
    repository = f"faults-{re.sub(r'[^a-z0-9]+', '-', fault_name.lower())}"
    _break(stage, REGISTRY_ROUTES["publish"], TRANSIENT[fault_name], times=1)
    run, _ = runner.publish(repository)
    assert run.exit_code == 0, run.stderr
    assert _applied(stage) >= 5
    assert run.result["digest"] == expected
    verify_image(stage.registry, repository, expected)
    assert "Retrying" not in run.stderr and "warning" not in run.stderr
    # The check through the same faults: the tag matches, what the lock vouches for.
    _break(stage, REGISTRY_ROUTES["publish --check"], TRANSIENT[fault_name], times=1)
    checked, _ = runner.publish(repository, "--check")
    assert checked.exit_code == 0 and checked.result["matches"], checked.stderr
    _break(stage, REGISTRY_ROUTES["inspect-image"], TRANSIENT[fault_name], times=1)
    ref = f"{stage.registry_proxy.host}/{repository}@{expected}"
    shown = runner.cli_json("inspect-image", ref)
    assert set(shown["models"]) == {"diffusion_model", "text_encoder", "vae", "lightning_lora"}
    _break(stage, REGISTRY_ROUTES["diff"], TRANSIENT[fault_name], times=1)
    assert runner.cli_json("diff", ref, str(stage.template / "models.yaml"))["identical"]


@pytest.mark.parametrize("command", ["publish --check", "inspect-image", "diff"])
def test_a_registry_that_never_answers_a_read_ends_fast(runner: Runner, command: str) -> None:
    stage = runner.stage
    expected = runner.baseline_digest()
    _break(stage, (("registry", MANIFEST_GET),), Fault(Kind.HANG), times=-1)
    ref = f"{stage.registry_proxy.host}/faults-baseline@{expected}"
    if command == "publish --check":
        run, _ = runner.publish("faults-baseline", "--check")
        code, stderr, seconds = run.exit_code, run.stderr, run.seconds
    else:
        args = [command, ref] + ([str(stage.template / "models.yaml")] if command == "diff" else [])
        short_budgets(runner.monkeypatch)
        use_registry(runner.monkeypatch, stage.registry, stage.registry_proxy.host)
        runner.capsys.readouterr()
        code, seconds = timed(lambda: main(args))
        stderr = runner.capsys.readouterr().err
    stage.registry_proxy.clear()
    assert code == 6, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no answer from" in errors[0], stderr
    assert seconds < 6


def test_first_chunk_failure_still_publishes_an_intact_image(runner: Runner) -> None:
    """The registry answers `Range: 0-0` for the empty session: resume at 0, not 1."""
    stage = runner.stage
    expected = runner.baseline_digest()
    _break(stage, (("registry", ("PATCH", r"/blobs/uploads/", None)),), Fault(Kind.RESET), 1)
    run, _ = runner.publish("faults-first-chunk", "--parallel", "1")
    assert run.exit_code == 0, run.stderr
    assert stage.registry_proxy.faults_applied() == 1
    assert run.result["digest"] == expected
    manifest = verify_image(stage.registry, "faults-first-chunk", expected)
    assert len(manifest["layers"]) >= 5


@pytest.mark.parametrize("fatal", REGISTRY_FATAL, ids=lambda fatal: fatal.name)
def test_a_dead_route_ends_fast_and_tags_nothing(runner: Runner, fatal: RegistryFatal) -> None:
    stage = runner.stage
    repository = f"faults-dead-{re.sub(r'[^a-z0-9]+', '-', fatal.name.lower())}"[:60].strip("-")
    host = None
    if fatal.fault is None:
        host = closed_port_host()
    else:
        assert fatal.route is not None
        _break(stage, (fatal.route,), fatal.fault, times=-1)
    before = project_files(stage.template)
    run, project = runner.publish(repository, registry_host=host)
    stage.hub_proxy.clear()
    stage.registry_proxy.clear()
    assert run.exit_code == fatal.exit_code, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(fatal.message, errors[0]), run.stderr
    assert "Retrying" not in run.stderr
    assert run.seconds < fatal.bound_s
    assert tags(stage.registry, repository) == []  # nothing tagged
    after = project_files(project)
    # The lock may learn digests of layers that were fully uploaded; nothing else changes.
    assert after.keys() == before.keys()
    assert after["models.yaml"] == before["models.yaml"]


def test_check_without_lock_digests_streams_and_hashes_or_fails_under_strict(
    runner: Runner,
) -> None:
    stage = runner.stage
    expected = runner.baseline_digest()
    strict, _ = runner.publish("faults-baseline", "--check", "--strict")
    assert strict.exit_code == 8
    assert "no layer digest for" in strict.stderr and "diffusion_model" in strict.stderr
    checked, project = runner.publish("faults-baseline", "--check")
    assert checked.exit_code == 0 and checked.result["matches"], checked.stderr
    assert checked.result["digest"] == expected
    models = [layer for layer in checked.result["layers"] if layer["kind"] == "model"]
    # Not the registry's word: every model layer was streamed from the Hub and hashed.
    assert {layer["action"] for layer in models} == {"computed"}
    assert all(layer["hub_bytes"] > 0 for layer in models)
    assert project_files(project) == project_files(stage.template)  # --check writes nothing


def test_the_report_counts_the_bytes_it_sent(runner: Runner) -> None:
    stage = runner.stage
    stage.hub_proxy.clear()
    stage.registry_proxy.clear()
    run, _ = runner.publish("faults-byte-counts")
    assert run.exit_code == 0, run.stderr
    for layer in run.result["layers"]:
        if layer["action"] == "uploaded":
            assert layer["sent_bytes"] >= layer["size"] > 0, layer
        if layer["kind"] in ("files", "config"):
            assert layer["action"] == "uploaded" and layer["sent_bytes"] == layer["size"]


def test_a_patch_that_never_answers_once_is_resumed(runner: Runner) -> None:
    """Before: the PATCH was sent with retry=False and its timeout ended the publish."""
    assert ROUND_TWO["patch-hang-once"]
    stage = runner.stage
    expected = runner.baseline_digest()
    _break(stage, (("registry", BLOB_UPLOAD),), Fault(Kind.HANG), 1)
    run, _ = runner.publish("faults-patch-hang", "--parallel", "1")
    stage.registry_proxy.clear()
    assert run.exit_code == 0, run.stderr
    assert run.result["digest"] == expected
    verify_image(stage.registry, "faults-patch-hang", expected)


def test_a_registry_that_dies_mid_upload_is_named_by_the_upload(runner: Runner) -> None:
    """The error names the failed upload, never the status query that found the registry
    gone (a status query that is refused no longer replaces the PATCH's error)."""
    assert ROUND_TWO["registry-dies"]
    stage = runner.stage
    with FaultProxy(stage.registry.port) as dying:
        # The PATCH is cut; the registry is gone by the time the status is asked.
        dying.add(Fault(Kind.RESET), method="PATCH", path=r"/blobs/uploads/")
        dying.add(Fault(Kind.DIE), method="GET", path=r"/blobs/uploads/")
        project = runner.tmp_path / "project"
        shutil.copytree(stage.template, project)
        _env(runner.monkeypatch, stage.hub, runner.tmp_path / "hf_home", stage.hub_proxy.url)
        use_registry(runner.monkeypatch, stage.registry, stage.registry_proxy.host, dying.host)
        short_budgets(runner.monkeypatch)
        image = f"{dying.host}/faults-dies"
        runner.capsys.readouterr()
        args = ["publish", "-c", str(project / "models.yaml"), "--image", image]
        code = main([*args, "--parallel", "1"])
        stderr = runner.capsys.readouterr().err
    assert code == 6, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "PATCH /v2/faults-dies/blobs/uploads/" in errors[0], stderr
    assert tags(stage.registry, "faults-dies") == []


def _history_less_copy(registry: RegistryServer, base: TinyBase, repository: str) -> str:
    """The tiny base re-pushed with no history in its config (as ko or crane write it)."""
    name, digest = base.ref.split("/", 1)[1].split("@")
    client = RegistryClient(
        RegistryTransport(registry.host, Credentials(registry.username, registry.password))
    )
    try:
        manifest = json.loads(client.get_manifest(name, digest).body)
        config = json.loads(client.read_blob(name, manifest["config"]["digest"]))
        config.pop("history", None)
        config_bytes = canonical_json(config)
        config_digest = sha256_digest(config_bytes)
        location = client.start_upload(repository)
        client.finish_upload(repository, location, config_digest, config_bytes)
        for layer in manifest["layers"]:
            assert client.mount_blob(repository, layer["digest"], name)
        manifest["config"] = {
            "mediaType": manifest["config"]["mediaType"],
            "digest": config_digest,
            "size": len(config_bytes),
        }
        body = canonical_json(manifest)
        client.put_manifest(repository, "latest", body, manifest["mediaType"])
        return sha256_digest(body)
    finally:
        client.close()


def test_a_base_without_history_lines_up_and_its_layers_are_reused(
    runner: Runner, tiny_base_image: TinyBase
) -> None:
    """Before: the config had fewer history entries than layers, nothing was remembered,
    and every release moved every model layer again."""
    assert ROUND_TWO["history-less-base"]
    stage = runner.stage
    stage.hub_proxy.clear()
    stage.registry_proxy.clear()
    digest = _history_less_copy(stage.registry, tiny_base_image, "faults-nohistory-base")
    base = TinyBase(f"{stage.registry_proxy.host}/faults-nohistory-base@{digest}", "", digest)
    template = make_project(runner.tmp_path / "t", f"{stage.registry_proxy.host}/x", base)
    shutil.copy(stage.template / "models.lock.json", template / "models.lock.json")
    repository = "faults-nohistory"
    first_run = runner.elsewhere("first")
    shutil.copytree(template, first_run.tmp_path / "project")
    first, _ = first_run.publish(repository, "--tag", "latest")
    assert first.exit_code == 0, first.stderr
    manifest = verify_image(stage.registry, repository, first.result["digest"])
    config = json.loads(
        httpx2.get(
            f"{stage.registry.url}/v2/{repository}/blobs/{manifest['config']['digest']}",
            auth=(stage.registry.username, stage.registry.password),
        ).content
    )
    layered = [h for h in config["history"] if not h.get("empty_layer")]
    assert len(layered) == len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    second_run = runner.elsewhere("second")  # a release job: its lock has no layer digests
    shutil.copytree(template, second_run.tmp_path / "project")
    second, _ = second_run.publish(repository, "--tag", "latest")
    assert second.exit_code == 0, second.stderr
    assert second.result["digest"] == first.result["digest"]
    models = [layer for layer in second.result["layers"] if layer["kind"] == "model"]
    assert models and {layer["action"] for layer in models} == {"reused"}, models
    assert sum(layer["hub_bytes"] for layer in models) == 0


def test_a_lock_size_one_byte_too_large_is_a_size_mismatch(runner: Runner) -> None:
    """Before: the stream ended one byte short, the resume asked for a Range past the end,
    and publish blamed the Hub (HTTP 416, exit 5)."""
    assert ROUND_TWO["lock-size-plus-one"]
    stage = runner.stage
    stage.hub_proxy.clear()
    stage.registry_proxy.clear()
    project = runner.tmp_path / "project"
    shutil.copytree(stage.template, project)
    lock = json.loads((project / "models.lock.json").read_text())
    lock["models"]["vae"]["size"] += 1
    (project / "models.lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    run, _ = runner.publish("faults-size-plus-one")
    assert run.exit_code == 8, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "size mismatch" in errors[0], run.stderr
    assert "416" not in run.stderr
    assert tags(stage.registry, "faults-size-plus-one") == []
