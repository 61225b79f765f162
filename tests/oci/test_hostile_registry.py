"""A hostile registry: tags for digests, oversized or nested JSON, redirects, bad blobs.

Each test is the regression test of one fix from the security review. The registry here
is a tiny loopback HTTP server that answers exactly what a test tells it to
(tests/infra/liar.py); the real httpx2 client talks to it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagebuilder.errors import CheckFailed, RegistryError
from imagebuilder.image.layers import ModelSource
from imagebuilder.image.plan import records_from_labels
from imagebuilder.image.publish.previous import digests_by_history, history_line
from imagebuilder.oci import client as oci_client
from imagebuilder.oci import transport as oci_transport
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.image import base_layer_list, config_descriptor, parse_json, pick_platform
from imagebuilder.oci.transport import RegistryTransport
from imagebuilder.project.pins import Pin
from infra.liar import LyingServer

COMMIT = "a" * 40


SHA = "b" * 64


_DIGEST = "sha256:" + "d" * 64


def test_an_index_entry_must_name_a_digest_not_a_tag() -> None:
    """Before: a tag here fetched the platform manifest without any digest check."""
    entry = {"platform": {"os": "linux", "architecture": "amd64"}}
    for bad in ("latest", "sha256:../../x", None, 5):
        with pytest.raises(RegistryError, match="digest"):
            pick_platform({"manifests": [{**entry, "digest": bad}]}, "linux", "amd64")


@pytest.mark.parametrize(
    "manifest",
    [
        {"config": {"digest": "sha256:short", "size": 10}},
        {"config": {"digest": _DIGEST, "size": "10"}},
        {"config": {"digest": _DIGEST, "size": -5}},
        {"config": {"size": 10}},
    ],
)
def test_config_descriptor_is_checked(manifest: dict[str, Any]) -> None:
    """Before: ValueError/TypeError tracebacks, or a malformed digest in a blob URL."""
    with pytest.raises(RegistryError):
        config_descriptor(manifest)


@pytest.mark.parametrize(
    "layer",
    [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1},
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": "1", "digest": _DIGEST},
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1, "digest": "../x"},
    ],
)
def test_base_layers_are_checked(layer: dict[str, Any]) -> None:
    with pytest.raises(RegistryError):
        base_layer_list({"layers": [layer]})


def test_deeply_nested_registry_json_is_a_registry_error() -> None:
    with pytest.raises(RegistryError):
        parse_json(b"[" * 100_000 + b"]" * 100_000, "manifest")


def test_remembered_digests_must_be_digests() -> None:
    layer_path = "models/vae/v.safetensors"
    source = ModelSource("vae", Pin("o/r", "vae.safetensors", COMMIT, SHA, 10), 10, layer_path)
    config = {
        "history": [{"created_by": history_line(source)}],
        "rootfs": {"diff_ids": ["../../v2/other/blobs/x"]},
    }
    assert digests_by_history(config) == {}


def _registry(liar: LyingServer) -> RegistryClient:
    transport = RegistryTransport(liar.host, Credentials("user", "secret-password"))
    return RegistryClient(transport)


def test_an_oversized_manifest_is_refused(
    liar: LyingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oci_client, "MAX_MANIFEST_BYTES", 1000)
    liar.answer("/v2/img/manifests/", {"pad": "x" * 5000})
    with pytest.raises(RegistryError, match="too large"):
        _registry(liar).find_manifest("img", "latest")
    liar.answer("/v2/img/manifests/", {"schemaVersion": 2})
    assert _registry(liar).find_manifest("img", "latest") is not None


def test_an_oversized_token_answer_is_refused(
    liar: LyingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oci_transport, "MAX_TOKEN_BYTES", 1000)
    realm = f'Bearer realm="{liar.url}/token",service="reg"'
    liar.answer("/v2/img/manifests/", {"errors": []}, 401, **{"WWW-Authenticate": realm})
    liar.answer("/token", {"token": "t" * 5000})
    with pytest.raises(RegistryError, match="without a token") as caught:
        _registry(liar).find_manifest("img", "latest")
    assert "secret-password" not in caught.value.render()


def test_unicode_digits_in_headers_do_not_crash(liar: LyingServer) -> None:
    """Before: "²".isdigit() is True, then int("²") raised ValueError (an internal error)."""
    liar.answer("/v2/img/blobs/", b"", 200, **{"Content-Length": "0"})
    client = _registry(liar)
    assert client.blob_size("img", _DIGEST) == 0
    liar.answer("/v2/img/blobs/uploads/x", b"", 204, Range="0-²")
    assert client.upload_offset("img", f"{liar.url}/v2/img/blobs/uploads/x") == 0


def test_registry_credentials_never_follow_a_redirect_to_another_host(liar: LyingServer) -> None:
    liar.answer("/v2/img/blobs/", {"errors": []}, 401, **{"WWW-Authenticate": 'Basic realm="r"'})
    client = _registry(liar)
    client.transport.send("GET", "/v2/img/blobs/x", scope="s")  # learns the Basic scheme
    assert liar.last_headers("/v2/img/blobs/")["authorization"].startswith("Basic ")
    storage = f"http://localhost:{liar.server_address[1]}/storage/blob"
    liar.answer("/v2/img/blobs/", b"", 307, Location=storage)
    liar.answer("/storage/", b"blob bytes")
    assert client.transport.send("GET", "/v2/img/blobs/x", scope="s").content == b"blob bytes"
    assert liar.last_headers("/v2/img/blobs/")["authorization"].startswith("Basic ")
    assert "authorization" not in liar.last_headers("/storage/")


def test_a_blob_read_is_verified(liar: LyingServer) -> None:
    liar.answer("/v2/img/blobs/", b"not the blob")
    with pytest.raises(CheckFailed):
        _registry(liar).read_blob("img", _DIGEST)


def test_an_upload_location_cannot_leave_the_registry_or_downgrade_it() -> None:
    """Before: an https registry's Location "http://same-host/..." got the credentials
    (the cached Authorization header) in clear text."""
    transport = RegistryTransport("reg.example:5000", Credentials("u", "p"), scheme="https")
    assert transport.url("/v2/x") == "https://reg.example:5000/v2/x"
    assert transport.url("https://reg.example:5000/up?_state=1").startswith("https://")
    for location in ("http://reg.example:5000/up", "https://evil.example/up"):
        with pytest.raises(RegistryError, match="another host or scheme"):
            transport.url(location)
    transport.close()


def test_hostile_image_labels_are_skipped() -> None:
    """Before: a deeply nested label (RecursionError) crashed `inspect-image` and `diff`."""
    prefix = "io.imagebuilder.model."
    labels = {
        f"{prefix}deep": "[" * 100_000 + "]" * 100_000,
        f"{prefix}number": "9" * 5000,
        f"{prefix}vae": json.dumps({"repo": "o/r", "size": 1}),
    }
    assert list(records_from_labels(labels)) == ["vae"]
