"""publish against a real registry with auth, the loopback Hub and a real Docker Engine."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.transport import RegistryTransport
from infra.fixtures import TinyBase
from infra.project import (
    LORA_FILE,
    LORA_REPO,
    ProjectFactory,
    bump_lora,
    make_project,
)
from infra.project import cli_json as cli
from infra.registry import RegistryServer, start_registry
from infra.stacks import variant_yaml

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TREE = "find /comfyui /imagebuilder -type f -exec sha256sum {} + | sort -k 2"


@pytest.fixture
def project(registry_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1758535200")
    return registry_project("pub-")


def publish(capsys: pytest.CaptureFixture[str], project: Path, *extra: str) -> tuple[int, Any]:
    return cli(capsys, "publish", "-c", str(project / "models.yaml"), *extra)


def pull_and_list(client: docker.DockerClient, registry: RegistryServer, ref: str) -> str:
    client.api.pull(ref, auth_config=registry.auth_config)
    return str(client.containers.run(ref, ["sh", "-c", TREE], remove=True).decode())


def lock_models(project: Path) -> dict[str, Any]:
    return dict(json.loads((project / "models.lock.json").read_text())["models"])


def test_published_image_is_inspected_in_its_registry_without_a_pull(
    project: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = publish(capsys, project, "--tag", "inspect-me")
    assert code == 0, result
    ref = f"{result['repository']}:inspect-me"
    code, shown = cli(capsys, "inspect-image", ref)  # not in the local engine: the registry
    assert code == 0, shown
    locked = lock_models(project)
    assert {name: m["sha256"] for name, m in shown["models"].items()} == {
        name: entry["sha256"] for name, entry in locked.items()
    }
    code, compared = cli(capsys, "diff", ref, str(project / "models.yaml"))
    assert code == 0 and compared["identical"], compared


def test_published_image_matches_the_built_one(
    project: Path,
    docker_client: docker.DockerClient,
    registry: RegistryServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = publish(capsys, project, "--tag", "v1")
    assert code == 0, result
    published_ref = f"{registry.host}/{result['repository'].split('/', 1)[1]}@{result['digest']}"
    published_tree = pull_and_list(docker_client, registry, published_ref)
    for entry in lock_models(project).values():
        assert entry["sha256"] in published_tree
        assert entry["layer_digest"].startswith("sha256:")  # recorded for the next publish
    # Built after the publish, from the lock that now carries layer digests: the image's
    # copy of the lock leaves them out on both paths, so the trees are identical.
    code, built = cli(
        capsys, "build", "-c", str(project / "models.yaml"), "--build-dir", str(project / "b")
    )
    assert code == 0, built
    built_ref = f"{built['image']}:{built['content_tag']}"
    built_tree = docker_client.containers.run(built_ref, ["sh", "-c", TREE], remove=True).decode()
    # Same paths, same bytes: every model, the lock and the rendered workflows.
    assert published_tree == built_tree
    labels = docker_client.images.get(published_ref).labels
    built_labels = docker_client.images.get(built_ref).labels
    models = {k: v for k, v in built_labels.items() if k.startswith("io.imagebuilder.model.")}
    assert models and all(labels[key] == value for key, value in models.items())
    assert labels["org.opencontainers.image.created"] == "2025-09-22T10:00:00Z"
    actions = {layer["kind"]: layer["action"] for layer in result["layers"]}
    assert actions["base"] == "mounted" and actions["model"] == "uploaded"


def test_same_lock_gives_the_same_digest_in_two_registries(
    project: Path,
    registry: RegistryServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_lock = (project / "models.lock.json").read_bytes()
    code, first = publish(capsys, project)
    assert code == 0, first
    other = start_registry(tmp_path / "second-registry", registry.username, registry.password)
    try:
        (project / "models.lock.json").write_bytes(clean_lock)  # from a clean state
        image = f"{other.host}/{first['repository'].split('/', 1)[1]}"
        code, second = publish(capsys, project, "--image", image)
        assert code == 0, second
        assert second["digest"] == first["digest"]
        assert {layer["action"] for layer in second["layers"] if layer["kind"] == "base"} == {
            "copied"
        }
        code, checked = publish(capsys, project, "--image", image, "--check")
        assert code == 0 and checked["matches"], checked
        (project / "models.lock.json").write_bytes(clean_lock)  # no digests: hash, upload nothing
        mark = other.log_offset()
        code, computed = publish(capsys, project, "--image", image, "--check")
        assert code == 0 and computed["digest"] == first["digest"], computed
        assert {x["action"] for x in computed["layers"] if x["kind"] == "model"} == {"computed"}
        assert other.uploaded_blobs(since=mark) == []
        assert (project / "models.lock.json").read_bytes() == clean_lock  # --check writes nothing
    finally:
        other.stop()


def test_lora_bump_moves_only_the_lora(
    project: Path,
    registry: RegistryServer,
    qwen_small_hub: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert publish(capsys, project)[0] == 0
    bump_lora(qwen_small_hub, capsys, project)
    mark = registry.log_offset()
    qwen_small_hub.stats.reset()
    code, second = publish(capsys, project)
    assert code == 0, second
    by_name = {layer["name"]: layer for layer in second["layers"]}
    uploaded = {layer["digest"] for layer in second["layers"] if layer["action"] == "uploaded"}
    assert uploaded == {
        by_name["lightning_lora"]["digest"],
        by_name["workflows+lock"]["digest"],
        by_name["config"]["digest"],
    }
    assert set(registry.uploaded_blobs(since=mark)) == uploaded
    served = dict(qwen_small_hub.stats.bytes_by_file)
    assert set(served) == {f"{LORA_REPO}/{LORA_FILE}"}
    assert served[f"{LORA_REPO}/{LORA_FILE}"] == lock_models(project)["lightning_lora"]["size"]


def test_checksum_mismatch_tags_nothing(
    project: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_file = project / "models.lock.json"
    data = json.loads(lock_file.read_text())
    data["models"]["vae"]["sha256"] = "0" * 64
    lock_file.write_text(json.dumps(data))
    mark = registry.log_offset()
    code, result = publish(capsys, project, "--tag", "broken")
    assert code == ExitCode.CHECK_FAILED, result
    assert "sha256 mismatch" in result["message"]
    client = RegistryClient(
        RegistryTransport(registry.host, Credentials(registry.username, registry.password))
    )
    try:
        repository = "pub-test-checksum-mismatch-tags-nothing"
        assert client.manifest_digest(repository, "broken") is None
    finally:
        client.close()
    assert "/manifests/" not in "".join(
        line for line in registry.log_text(mark).splitlines() if '"PUT ' in line
    )


def test_hub_503_then_recovery(
    project: Path, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    qwen_small_hub.faults.add(r"/resolve/", method="GET", status=503, times=2)
    code, result = publish(capsys, project)
    assert code == 0, result
    statuses = [r.status for r in qwen_small_hub.stats.matching(route="resolve")]
    assert statuses.count(503) == 2
    # Without --json: the layer table and the digest on stdout, progress on stderr.
    capsys.readouterr()
    assert main(["publish", "-c", str(project / "models.yaml")]) == 0
    out, err = capsys.readouterr()
    assert "reused" in out and result["digest"] in out and "tagged:" in out
    assert "publishing 4 model layer(s)" in err and "reused" not in err


def test_hub_stream_cut_mid_file_resumes_with_a_range_request(
    project: Path, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    size = lock_models(project)["vae"]["size"]
    cut = size * 3 // 4  # past the first 1 MiB read, so there is something to keep
    qwen_small_hub.faults.add(r"qwen_image_vae", method="GET", drop_after_bytes=cut, times=1)
    code, result = publish(capsys, project)
    assert code == 0, result
    vae = [r for r in qwen_small_hub.stats.matching(route="resolve") if "qwen_image_vae" in r.path]
    assert len(vae) == 2 and vae[0].range is None
    resumed_at = int((vae[1].range or "").removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= cut and vae[1].body_bytes == size - resumed_at


class CuttingProxy:
    """A loopback TCP proxy that cuts one client connection after N upstream bytes, once."""

    def __init__(self, upstream_port: int, cut_after: int):
        self.upstream_port, self.cut_after = upstream_port, cut_after
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if upload and self.cuts == 0 and sent + len(data) > self.cut_after:
                    self.cuts += 1
                    sink.sendall(data[: self.cut_after - sent])
                    raise OSError("cut")
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def cutting_proxy(registry: RegistryServer) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(registry.port, cut_after=200_000)
    yield proxy
    proxy.close()


def test_registry_dropping_the_connection_mid_upload_is_survived(
    project: Path,
    registry: RegistryServer,
    cutting_proxy: CuttingProxy,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = f"127.0.0.1:{cutting_proxy.port}/pub-proxy-cut"
    code, result = publish(capsys, project, "--image", image, "--parallel", "1")
    assert code == 0, result
    assert cutting_proxy.cuts == 1
    tree = pull_and_list(
        docker_client, registry, f"{registry.host}/pub-proxy-cut@{result['digest']}"
    )
    for entry in lock_models(project).values():
        assert entry["sha256"] in tree


def test_release_job_without_lock_digests_reuses_the_previous_image(
    project: Path, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_lock = (project / "models.lock.json").read_bytes()
    assert publish(capsys, project, "--tag", "latest")[0] == 0
    (project / "models.lock.json").write_bytes(clean_lock)  # CI never commits it back
    bump_lora(qwen_small_hub, capsys, project, seed=7)
    qwen_small_hub.stats.reset()
    code, second = publish(capsys, project, "--tag", "latest")
    assert code == 0, second
    assert set(qwen_small_hub.stats.bytes_by_file) == {f"{LORA_REPO}/{LORA_FILE}"}
    actions = {layer["name"]: layer["action"] for layer in second["layers"]}
    assert actions["diffusion_model"] == "reused" and actions["lightning_lora"] == "uploaded"


def test_file_over_the_layer_limit_fails_or_is_split_and_joined_at_start(
    project: Path,
    registry: RegistryServer,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = lock_models(project)
    biggest = max(models, key=lambda name: models[name]["size"])
    limit = max(models[biggest]["size"] // 2 + 70_000, 200_000)
    config = project / "models.yaml"
    text = config.read_text().replace(
        "    ghcr.io:\n      max_layer_bytes: 10000000000",
        f'    "{registry.host}":\n      max_layer_bytes: {limit}',
    )
    config.write_text(text)
    code, refused = publish(capsys, project)
    assert code == ExitCode.REGISTRY and biggest in refused["message"], refused
    assert "--split-large-files" in refused["hint"]
    code, result = publish(capsys, project, "--split-large-files")
    assert code == 0, result
    parts = [layer for layer in result["layers"] if layer["name"].startswith(f"{biggest}.part")]
    assert len(parts) >= 2 and all(layer["size"] <= limit for layer in parts)
    ref = f"{registry.host}/{result['repository'].split('/', 1)[1]}@{result['digest']}"
    tree = pull_and_list(docker_client, registry, ref)  # the entrypoint joins first
    for entry in models.values():
        assert entry["sha256"] in tree
    assert "/imagebuilder/parts/" not in tree


def test_interrupted_publish_resumes_without_refetching_finished_layers(
    project: Path, registry: RegistryServer, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    qwen_small_hub.faults.add(r"Lightning", method="GET", status=404, times=None)
    code, failed = publish(capsys, project, "--tag", "resumed", "--parallel", "1")
    assert code != 0, failed
    finished = {name for name, entry in lock_models(project).items() if "layer_digest" in entry}
    assert finished and "lightning_lora" not in finished  # recorded as each layer finished
    qwen_small_hub.faults.clear()
    qwen_small_hub.stats.reset()
    code, result = publish(capsys, project, "--tag", "resumed")
    assert code == 0, result
    served = {path.rsplit("/", 1)[-1] for path in qwen_small_hub.stats.bytes_by_file}
    assert served == {LORA_FILE.rsplit("/", 1)[-1]}
    actions = {layer["name"]: layer["action"] for layer in result["layers"]}
    assert all(actions[name] == "reused" for name in finished)


def test_variants_are_published_one_at_a_time_sharing_layers(
    project: Path,  # for its set-up: loopback Hub environment and registry credentials
    tmp_path: Path,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    variants = make_project(
        tmp_path / "variants", f"{registry.host}/pub-variants", tiny_base_image, text=variant_yaml()
    )
    assert cli(capsys, "lock", "-c", str(variants / "models.yaml"))[0] == 0

    code, refused = publish(capsys, variants)
    assert code == ExitCode.CONFIG and "--variant" in refused["hint"]

    code, steps4 = publish(capsys, variants, "--variant", "steps4")
    assert code == 0, steps4
    mark = registry.log_offset()
    code, steps3 = publish(capsys, variants, "--variant", "steps3")
    assert code == 0, steps3
    assert steps3["tags"] == ["steps3"]
    uploaded = {layer["digest"] for layer in steps3["layers"] if layer["action"] == "uploaded"}
    by_name = {layer["name"]: layer for layer in steps3["layers"]}
    # Same models, other workflows: only the small layer and the config are new.
    assert uploaded == {by_name["workflows+lock"]["digest"], by_name["config"]["digest"]}
    assert set(registry.uploaded_blobs(since=mark)) == uploaded

    ref = f"{registry.host}/pub-variants:steps3"
    docker_client.api.pull(ref, auth_config=registry.auth_config)
    graph = docker_client.containers.run(
        ref, ["cat", "/comfyui/user/default/workflows/qwen_image_edit_1.json"], remove=True
    )
    assert json.loads(graph)["3"]["inputs"]["steps"] == 3
