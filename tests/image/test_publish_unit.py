"""Offline tests of publish's pure core: tar layers, references, auth, image JSON, plans."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.errors import ConfigError, LayerTooLarge
from imagebuilder.image.publish.modelstream import ModelSource
from imagebuilder.image.publish.plan import (
    PART_HEADROOM,
    ModelLayerPlan,
    check_layer_limits,
    image_lock_json,
    join_script,
    max_layer_bytes,
    oci_labels,
)
from imagebuilder.image.publish.previous import digests_by_history, history_line
from imagebuilder.oci.auth import (
    Credentials,
    find_credentials,
    may_send_credentials,
    parse_challenge,
)
from imagebuilder.oci.image import (
    DOCKER_MANIFEST,
    Descriptor,
    NewLayer,
    build_image,
    created_time,
    pick_platform,
)
from imagebuilder.oci.reference import parse_reference
from imagebuilder.oci.tarlayer import (
    LayerEntry,
    layer_path,
    layout_for,
    small_layer,
    stream_layer,
)
from imagebuilder.oci.transport import default_scheme
from imagebuilder.project.config import Registry
from imagebuilder.project.lock import Lock, LockEntry

GIB = 1 << 30


def layer_bytes(files: dict[str, bytes]) -> bytes:
    layout = layout_for(LayerEntry(path, len(data)) for path, data in files.items())
    return b"".join(stream_layer(layout, ([files[e.path]] for e in layout.entries)))


def test_layer_is_a_valid_tar_with_fixed_metadata_and_parents_first() -> None:
    data = layer_bytes({"comfyui/models/vae/v.safetensors": b"abc" * 1000})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [
            "comfyui", "comfyui/models", "comfyui/models/vae", "comfyui/models/vae/v.safetensors",
        ]  # fmt: skip
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert [m.mode for m in members] == [0o755, 0o755, 0o755, 0o644]
        extracted = tar.extractfile(members[-1])
        assert extracted is not None and extracted.read() == b"abc" * 1000


def test_layer_bytes_are_deterministic_and_size_is_known_in_advance() -> None:
    files = {"a/b.safetensors": b"x" * 1234, "a/c.safetensors": b"y" * 512}
    layout = layout_for(LayerEntry(p, len(d)) for p, d in files.items())
    first, second = layer_bytes(files), layer_bytes(dict(reversed(files.items())))
    assert first == second and len(first) == layout.total_size


def test_file_over_8_gib_gets_a_pax_size_record() -> None:
    layout = layout_for([LayerEntry("comfyui/models/unet/big.safetensors", 20 * GIB)])
    header = layout.file_header(layout.entries[0])
    assert f"size={20 * GIB}".encode() in header
    assert layout.total_size > 20 * GIB


def test_stream_refuses_a_source_with_the_wrong_length() -> None:
    layout = layout_for([LayerEntry("a/f", 10)])
    with pytest.raises(ValueError, match="announced"):
        b"".join(stream_layer(layout, [[b"short"]]))
    with pytest.raises(ValueError, match="more bytes"):
        b"".join(stream_layer(layout, [[b"x" * 11]]))


def test_layer_paths_must_be_clean() -> None:
    assert layer_path("/comfyui/models/vae/x.safetensors") == "comfyui/models/vae/x.safetensors"
    with pytest.raises(ValueError):
        layer_path("/comfyui/../etc/passwd")


def test_small_layer_matches_streamed_layer() -> None:
    files = {"imagebuilder/models.lock.json": b"{}", "comfyui/user/w.json": b"[]"}
    assert small_layer(files) == layer_bytes(files)


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ghcr.io/org/img:v1", "ghcr.io", "org/img", "v1", None),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", None, None),
        ("busybox", "docker.io", "library/busybox", None, None),
        ("localhost/x@sha256:" + "a" * 64, "localhost", "x", None, "sha256:" + "a" * 64),
    ],
)
def test_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry, repository, tag, digest,
    )  # fmt: skip


def test_bad_reference_and_tag_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        parse_reference("UPPER/case")
    with pytest.raises(ConfigError):
        parse_reference("ghcr.io/a/b").with_tag("bad tag")


def test_challenge_parsing_is_strict() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token", "service": "reg", "scope": "repository:a:pull",
    }  # fmt: skip
    assert parse_challenge("Negotiate abc") is None
    assert parse_challenge(None) is None


def test_credentials_go_only_over_https_or_to_the_registry_itself() -> None:
    assert may_send_credentials("https://auth.example/token", "reg:5000", "https")
    assert may_send_credentials("http://reg:5000/token", "reg:5000", "http")
    assert not may_send_credentials("http://evil.example/token", "reg:5000", "http")
    # An https registry must not downgrade its credentials to plain http, even to itself.
    assert not may_send_credentials("http://reg:5000/token", "reg:5000", "https")


def test_credentials_from_docker_config_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_PASSWORD", raising=False)
    config = tmp_path / "config.json"
    token = base64.b64encode(b"user:s3cret").decode()
    config.write_text(json.dumps({"auths": {"https://ghcr.io": {"auth": token}}}))
    found = find_credentials("ghcr.io", config)
    assert found == Credentials("user", "s3cret") and "s3cret" not in repr(found)
    assert find_credentials("other.io", config) is None
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_PASSWORD", "pw")
    assert find_credentials("other.io", config) == Credentials("ci", "pw")


def base_image() -> tuple[dict[str, Any], dict[str, Any]]:
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"digest": "sha256:" + "c" * 64, "size": 10},
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": "sha256:" + "b" * 64,
                "size": 100,
            }
        ],
    }
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"], "Labels": {"from.base": "yes"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d" * 64]},
        "history": [{"created_by": "base"}],
    }
    return manifest, config


def test_image_json_is_canonical_and_deterministic() -> None:
    manifest, config = base_image()
    layer = NewLayer(Descriptor("application/vnd.oci.image.layer.v1.tar", "sha256:" + "e" * 64, 5),
                     "sha256:" + "e" * 64, "model")  # fmt: skip
    first = build_image(manifest, config, [layer], labels={"k": "v"}, created=created_time("0"))
    second = build_image(manifest, config, [layer], labels={"k": "v"}, created=created_time(None))
    assert first == second
    built = json.loads(first.config)
    assert built["config"]["Labels"] == {"from.base": "yes", "k": "v"}
    assert built["rootfs"]["diff_ids"][-1] == "sha256:" + "e" * 64
    assert built["created"] == "1970-01-01T00:00:00Z"
    out = json.loads(first.manifest)
    assert out["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert out["config"]["digest"] == "sha256:" + hashlib.sha256(first.config).hexdigest()
    assert created_time("1758535200") == "2025-09-22T10:00:00Z"


def test_platform_is_picked_from_an_index() -> None:
    index = {
        "manifests": [
            {"digest": "sha256:" + "a" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:" + "b" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    }
    assert pick_platform(index, "linux", "amd64") == "sha256:" + "b" * 64


def plan(name: str, size: int) -> ModelLayerPlan:
    source = ModelSource(name, "o/r", f"{name}.safetensors", "a" * 40, "b" * 64, size, f"m/{name}")
    return ModelLayerPlan(source, size + 3072, None)


def test_layer_limit_names_every_file_and_the_options() -> None:
    limit = max_layer_bytes("ghcr.io", {})
    assert limit == 10_000_000_000
    check_layer_limits([plan("small", 1000)], "ghcr.io", limit)
    with pytest.raises(LayerTooLarge) as caught:
        check_layer_limits([plan("unet", 20 * GIB), plan("vae", 1000)], "ghcr.io", limit)
    assert "unet" in caught.value.message and "vae" not in caught.value.message
    assert caught.value.hint and "max_layer_bytes" in caught.value.hint
    assert max_layer_bytes("ghcr.io", {"ghcr.io": Registry(max_layer_bytes=5)}) == 5
    assert max_layer_bytes("example.org", {}) is None


def test_image_lock_has_no_layer_digests() -> None:
    entry = LockEntry(
        repo="o/r", file="f.safetensors", revision="main", commit="a" * 40, sha256="b" * 64,
        size=1, layer_digest="sha256:" + "c" * 64,
    )  # fmt: skip
    text = image_lock_json(Lock(version=1, models={"vae": entry})).decode()
    assert "layer_digest" not in text and "b" * 64 in text


def test_split_parts_cover_the_file_and_each_fits_the_limit() -> None:
    limit = 1_000_000
    big, small = plan("unet", 2_500_000), plan("vae", 1000)
    plans = check_layer_limits([big, small], "ghcr.io", limit, split=True)
    assert plans[1] == small
    parts = plans[0].parts
    assert [p.size for p in parts] == [limit - PART_HEADROOM] * 2 + [
        2_500_000 - 2 * (limit - PART_HEADROOM)
    ]
    assert all(p.layout().total_size <= limit for p in parts)
    assert [p.layer_path for p in parts] == [f"imagebuilder/parts/unet/{i:03d}" for i in range(3)]
    assert plans[0].cached_digests == [] and plans[0].layers == parts


def test_join_script_names_each_split_file() -> None:
    plans = check_layer_limits([plan("unet", 2_500_000)], "ghcr.io", 1_000_000, split=True)
    script = join_script(plans).decode()
    assert "join /m/unet /imagebuilder/parts/unet" in script
    assert script.rstrip().endswith('exec "$@"')


def test_history_of_a_published_config_gives_back_the_digests() -> None:
    source = plan("vae", 10).source
    config = {
        "history": [
            {"created_by": "base layer"},
            {"created_by": history_line(source)},
            {"created_by": "imagebuilder publish: labels", "empty_layer": True},
        ],
        "rootfs": {"diff_ids": ["sha256:" + "1" * 64, "sha256:" + "2" * 64]},
    }
    assert digests_by_history(config) == {history_line(source): "sha256:" + "2" * 64}
    config["rootfs"] = {"diff_ids": ["sha256:" + "1" * 64]}  # not ours: trust nothing
    assert digests_by_history(config) == {}


@pytest.mark.parametrize(
    ("host", "scheme"),
    [
        ("127.0.0.1:5000", "http"),
        ("127.1.2.3:80", "http"),
        ("localhost:5000", "http"),
        ("[::1]:5000", "http"),
        ("ghcr.io", "https"),
        ("127.example.org", "https"),
    ],
)
def test_only_loopback_registries_get_plain_http(host: str, scheme: str) -> None:
    assert default_scheme(host) == scheme


def test_credentials_from_a_docker_credential_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_PASSWORD", raising=False)
    helper = tmp_path / "docker-credential-testhelper"
    helper.write_text(
        "#!/bin/sh\nread host\n"
        'printf \'{"ServerURL":"%s","Username":"bot","Secret":"tok"}\' "$host"\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {"ghcr.io": "testhelper"}}))
    assert find_credentials("ghcr.io", config) == Credentials("bot", "tok")
    assert find_credentials("other.io", config) is None
    config.write_text(json.dumps({"credsStore": "testhelper"}))
    assert find_credentials("other.io", config) == Credentials("bot", "tok")
    config.write_text(json.dumps({"credsStore": "../../bin/sh"}))  # not a helper name
    assert find_credentials("other.io", config) is None


def test_publish_writes_the_same_oci_label_keys_as_the_dockerfile() -> None:
    """The two image paths must label images alike; the keys live in two places."""
    golden = (Path(__file__).parents[1] / "golden" / "Dockerfile.models-yaml").read_text()
    in_dockerfile = set(re.findall(r"(org\.opencontainers\.image\.[a-z.]+)=", golden))
    keys = oci_labels("b", source="s", revision="r", version="v", created="c")
    assert in_dockerfile == set(keys)
