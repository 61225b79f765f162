"""Learning a base image's ComfyUI from its registry: synthetic worker bases in the real
test registry, `lock` recording the engine, bounded reads, hostile layers."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from imagebuilder.errors import ExitCode, RegistryError
from imagebuilder.oci.base_engine import ScanLimits, parse_version_file, read_base_engine
from imagebuilder.oci.engine_pin import engine_of_base
from imagebuilder.oci.reference import parse_reference
from infra.project import cli_json
from infra.registry import RegistryServer
from infra.workerbase import (
    COMMIT_A,
    OS_LAYER_BYTES,
    TAR_LAYER,
    Layer,
    client_for,
    comfyui_files,
    engine_yaml,
    gzip_layer,
    noise,
    push_base,
    tar_bytes,
    worker_layers,
)

pytestmark = pytest.mark.integration


def read(registry: RegistryServer, base: str, **limits: int):  # type: ignore[no-untyped-def]
    client = client_for(registry)
    try:
        return read_base_engine(client, parse_reference(base), "/comfyui", ScanLimits(**limits))
    finally:
        client.close()


def test_lock_records_the_bases_comfyui_reading_few_bytes(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys
) -> None:
    hub_env(qwen_hub)
    base = push_base(registry, "worker/comfyui", "5.8.5-base", worker_layers("0.3.64"))
    config = isolated / "models.yaml"
    config.write_text(engine_yaml(base))
    code, report = cli_json(capsys, "lock", "-c", str(config))
    assert code == 0, report
    engine = report["engine"]
    assert (engine["comfyui_version"], engine["commit"]) == ("0.3.64", COMMIT_A)
    assert engine["base"] == base and engine["source"] == "base"
    assert "comfyui_version.py" in engine["sources"]["comfyui_version"]
    assert engine["sources"]["commit"].startswith("/comfyui/.git/HEAD")
    # The manifest, the config, the top layer and the ComfyUI layer up to its version
    # file: never the 4 MB OS layer below.
    assert engine["bytes_read"] < OS_LAYER_BYTES // 8, engine["bytes_read"]
    lock = json.loads((isolated / "models.lock.json").read_text())
    assert lock["engine"]["comfyui_version"] == "0.3.64"
    mark = registry.log_offset()
    code, report = cli_json(capsys, "lock", "-c", str(config))
    assert code == 0 and report["changed"] is False
    assert "/blobs/" not in registry.log_text(mark)  # remembered: the base is read once
    code, report = cli_json(capsys, "lock", "--check", "-c", str(config))
    assert code == 0


def test_the_cache_serves_a_digest_read_before(registry, isolated) -> None:  # type: ignore[no-untyped-def]
    base = push_base(registry, "worker/cached", "1-base", worker_layers("0.5.1"))
    first = engine_of_base(base, "/comfyui", lambda _host: client_for(registry))
    mark = registry.log_offset()
    again = engine_of_base(base, "/comfyui", lambda _host: client_for(registry))
    assert again == first and registry.log_text(mark) == ""


def test_moving_the_base_is_lock_drift(qwen_hub, hub_env, registry, isolated, capsys) -> None:  # type: ignore[no-untyped-def]
    hub_env(qwen_hub)
    old = push_base(registry, "worker/drift", "1-base", worker_layers("0.3.64"))
    new = push_base(registry, "worker/drift", "2-base", worker_layers("0.5.1"))
    config = isolated / "models.yaml"
    config.write_text(engine_yaml(old))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    config.write_text(engine_yaml(new))
    code, _ = cli_json(capsys, "lock", "--check", "-c", str(config))
    assert code == ExitCode.LOCK_DRIFT
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    lock = json.loads((isolated / "models.lock.json").read_text())
    assert lock["engine"]["comfyui_version"] == "0.5.1"


def test_a_symbolic_head_resolves_through_packed_refs(registry) -> None:  # type: ignore[no-untyped-def]
    files = comfyui_files("0.5.0", None, head="ref: refs/heads/master\n")
    files["comfyui/.git/packed-refs"] = f"# pack-refs\n{COMMIT_A} refs/heads/master\n".encode()
    base = push_base(registry, "worker/packed", "1", [gzip_layer(files)])
    found = read(registry, base)
    assert (found.comfyui_version, found.commit) == ("0.5.0", COMMIT_A)
    assert "packed-refs" in found.sources["commit"]


def test_no_git_checkout_leaves_the_commit_unknown(registry) -> None:  # type: ignore[no-untyped-def]
    base = push_base(registry, "worker/nogit", "1", [gzip_layer(comfyui_files("0.4.0", None))])
    found = read(registry, base)
    assert found.comfyui_version == "0.4.0" and found.commit is None and found.notes


def test_an_uncompressed_layer_and_a_later_overwrite(registry) -> None:  # type: ignore[no-untyped-def]
    old = Layer(tar_bytes(comfyui_files("0.3.64", COMMIT_A)), TAR_LAYER)
    update = gzip_layer({"comfyui/comfyui_version.py": b'__version__ = "0.8.0"\n'})
    found = read(registry, push_base(registry, "worker/over", "1", [old, update]))
    assert found.comfyui_version == "0.8.0"  # the top layer is what the container sees


def _fails(registry: RegistryServer, repository: str, layers: list[Layer], **limits: int) -> str:
    base = push_base(registry, repository, "1", layers)
    started = time.monotonic()
    with pytest.raises(RegistryError) as caught:
        read(registry, base, **limits)
    assert time.monotonic() - started < 10
    return caught.value.render()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"comfyui/comfyui_version.py": b"__version__ = (\n"}, "is not Python source"),
        ({"comfyui/comfyui_version.py": b"\xff\xfe\x00"}, "is not Python source"),
        ({"comfyui/comfyui_version.py": b'__version__ = "latest"\n'}, "not a ComfyUI version"),
        ({"comfyui/comfyui_version.py": b"import os\nos.system('x')\n"}, "no `__version__"),
        ({"comfyui/comfyui_version.py": b"#" * 70_000}, "over the 65,536"),
    ],
)
def test_a_version_file_that_is_not_a_version(registry, files, expected) -> None:  # type: ignore[no-untyped-def]
    message = _fails(registry, f"hostile/version-{len(expected)}", [gzip_layer(files)])
    assert expected in message


def test_a_tar_path_traversal_is_refused(registry) -> None:  # type: ignore[no-untyped-def]
    layer = Layer(
        gzip.compress(tar_bytes({"../../comfyui/comfyui_version.py": b'__version__ = "9.9.9"\n'},
                                names_as_is=True), mtime=0)
    )  # fmt: skip
    assert "path traversal" in _fails(registry, "hostile/traversal", [layer])


def test_corrupt_gzip_is_refused(registry) -> None:  # type: ignore[no-untyped-def]
    assert "not gzip" in _fails(registry, "hostile/notgzip", [Layer(noise(10_000, "junk"))])
    cut = gzip.compress(tar_bytes(comfyui_files("0.5.0", COMMIT_A)))[:5000] + noise(3000, "x")
    message = _fails(registry, "hostile/cut", [Layer(cut)])
    assert "corrupt gzip" in message or "not a valid tar" in message


def test_a_gzip_bomb_stops_at_the_decompressed_cap(registry) -> None:  # type: ignore[no-untyped-def]
    bomb = Layer(gzip.compress(tar_bytes({"zeros": bytes(64 << 20)}), mtime=0))
    assert len(bomb.blob) < 1 << 20
    message = _fails(registry, "hostile/bomb", [bomb], max_decompressed=16 << 20)
    assert "gzip bomb" in message


def test_a_huge_layer_without_comfyui_stops_at_the_byte_budget(registry) -> None:  # type: ignore[no-untyped-def]
    huge = gzip_layer({"usr/share/blob": noise(3 << 20, "huge")})
    message = _fails(registry, "hostile/huge", [huge], max_compressed=1 << 20)
    assert "without finding" in message


def test_a_base_without_comfyui_says_so(registry) -> None:  # type: ignore[no-untyped-def]
    message = _fails(registry, "hostile/empty", [gzip_layer({"bin/sh": b"#!"})])
    assert "does not carry ComfyUI" in message


def test_parse_version_file_never_runs_it() -> None:
    assert str(parse_version_file(b'__version__ = "0.3.64"\n', "x")) == "0.3.64"
    with pytest.raises(RegistryError):
        parse_version_file(b'__version__ = __import__("os").getcwd()\n', "x")
