"""publish through a failing Hub or registry connection: retried, resumed, never refetched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from imagebuilder.cli import main
from infra.cutting import CuttingProxy
from infra.project import (
    LORA_FILE,
)
from infra.publishing import lock_models, publish, pull_and_list
from infra.registry import RegistryServer

pytestmark = pytest.mark.integration


def test_hub_503_then_recovery(
    publish_project: Path, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    qwen_small_hub.faults.add(r"/resolve/", method="GET", status=503, times=2)
    code, result = publish(capsys, publish_project)
    assert code == 0, result
    statuses = [r.status for r in qwen_small_hub.stats.matching(route="resolve")]
    assert statuses.count(503) == 2
    # Without --json: the layer table and the digest on stdout, progress on stderr.
    capsys.readouterr()
    assert main(["publish", "-c", str(publish_project / "models.yaml")]) == 0
    out, err = capsys.readouterr()
    assert "reused" in out and result["digest"] in out and "tagged:" in out
    assert "publishing 4 model layer(s)" in err and "reused" not in err


def test_hub_stream_cut_mid_file_resumes_with_a_range_request(
    publish_project: Path, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    size = lock_models(publish_project)["vae"]["size"]
    cut = size * 3 // 4  # past the first 1 MiB read, so there is something to keep
    qwen_small_hub.faults.add(r"qwen_image_vae", method="GET", drop_after_bytes=cut, times=1)
    code, result = publish(capsys, publish_project)
    assert code == 0, result
    vae = [r for r in qwen_small_hub.stats.matching(route="resolve") if "qwen_image_vae" in r.path]
    assert len(vae) == 2 and vae[0].range is None
    resumed_at = int((vae[1].range or "").removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= cut and vae[1].body_bytes == size - resumed_at


@pytest.fixture
def cutting_proxy(registry: RegistryServer) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(registry.port, cut_after=200_000)
    yield proxy
    proxy.close()


def test_registry_dropping_the_connection_mid_upload_is_survived(
    publish_project: Path,
    registry: RegistryServer,
    cutting_proxy: CuttingProxy,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = f"127.0.0.1:{cutting_proxy.port}/pub-proxy-cut"
    code, result = publish(capsys, publish_project, "--image", image, "--parallel", "1")
    assert code == 0, result
    assert cutting_proxy.cuts == 1
    tree = pull_and_list(
        docker_client, registry, f"{registry.host}/pub-proxy-cut@{result['digest']}"
    )
    for entry in lock_models(publish_project).values():
        assert entry["sha256"] in tree


def test_interrupted_publish_resumes_without_refetching_finished_layers(
    publish_project: Path,
    registry: RegistryServer,
    qwen_small_hub: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    qwen_small_hub.faults.add(r"Lightning", method="GET", status=404, times=None)
    code, failed = publish(capsys, publish_project, "--tag", "resumed", "--parallel", "1")
    assert code != 0, failed
    finished = {
        name for name, entry in lock_models(publish_project).items() if "layer_digest" in entry
    }
    assert finished and "lightning_lora" not in finished  # recorded as each layer finished
    qwen_small_hub.faults.clear()
    qwen_small_hub.stats.reset()
    code, result = publish(capsys, publish_project, "--tag", "resumed")
    assert code == 0, result
    served = {path.rsplit("/", 1)[-1] for path in qwen_small_hub.stats.bytes_by_file}
    assert served == {LORA_FILE.rsplit("/", 1)[-1]}
    actions = {layer["name"]: layer["action"] for layer in result["layers"]}
    assert all(actions[name] == "reused" for name in finished)
