"""Hostile input: a lying Hub, a hostile registry, crafted workflows and headers.

Each test is the regression test of one fix from the security review. The Hub and the
registry here are a tiny loopback HTTP server that answers exactly what a test tells it
to (tests/infra/liar.py); the real huggingface_hub and httpx2 clients talk to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from imagebuilder import cli
from imagebuilder.comfy.import_template import parse_hub_url
from imagebuilder.comfy.template_models import read_workflow
from imagebuilder.errors import CheckFailed, HubError, RegistryError, WorkflowError
from imagebuilder.hub.client import Hub
from imagebuilder.image.plan import records_from_labels
from imagebuilder.image.publish.modelstream import ModelSource
from imagebuilder.image.publish.previous import digests_by_history, history_line
from imagebuilder.oci import client as oci_client
from imagebuilder.oci import transport as oci_transport
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.image import base_layer_list, config_descriptor, parse_json, pick_platform
from imagebuilder.oci.transport import RegistryTransport
from imagebuilder.project.config import RepoSearch
from imagebuilder.updates.discovery import _search
from imagebuilder.updates.report import md
from infra.liar import LyingServer

COMMIT = "a" * 40
SHA = "b" * 64


def _model_info(sibling: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"id": "owner/repo", "sha": COMMIT, "siblings": [sibling], **overrides}


def _lfs(size: Any = 10, sha256: Any = SHA) -> dict[str, Any]:
    lfs = {"size": size, "sha256": sha256, "pointerSize": 130}
    return {"rfilename": "m.safetensors", "size": size, "blobId": "c" * 40, "lfs": lfs}


# --- the Hub ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "what"),
    [
        (_model_info(_lfs(sha256="../../etc/passwd")), "sha256"),
        (_model_info(_lfs(sha256="B" * 64)), "sha256"),
        (_model_info(_lfs(size="10")), "file size"),
        (_model_info(_lfs(size=-1)), "file size"),
        (_model_info(_lfs(), sha="main"), "commit sha"),
        (_model_info(_lfs(), sha=None), "commit sha"),
        (_model_info(_lfs(), id="../../x"), "repo id"),
        (_model_info({"rfilename": 7}), "file path"),
    ],
)
def test_malformed_hub_metadata_is_a_hub_error(
    liar: LyingServer, info: dict[str, Any], what: str
) -> None:
    """Before: a bad sha256/commit/size reached the lock (a pydantic traceback) or a URL."""
    liar.answer("/api/models/", info)
    with pytest.raises(HubError, match=f"malformed {what}") as caught:
        Hub(endpoint=liar.url, token="").snapshot("owner/repo", "main")
    assert caught.value.location == "owner/repo@main"


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        json.dumps(["a", "list"]).encode(),
        json.dumps({**_model_info(_lfs()), "lastModified": "yesterday"}).encode(),
    ],
)
def test_an_unreadable_answer_is_a_hub_error(liar: LyingServer, body: bytes) -> None:
    """Before: JSONDecodeError, TypeError or a date's ValueError was an internal error."""
    liar.answer("/api/models/", body)
    with pytest.raises(HubError, match="cannot be read"):
        Hub(endpoint=liar.url, token="").snapshot("owner/repo", "main")


def test_a_malformed_commit_date_is_a_hub_error(liar: LyingServer) -> None:
    entry = {"type": "file", "oid": "c" * 40, "size": 1, "path": "m.safetensors"}
    liar.answer("/api/models/", [{**entry, "lastCommit": {"id": COMMIT, "title": "t"}}])
    with pytest.raises(HubError, match="cannot be read"):
        Hub(endpoint=liar.url, token="").last_commits("owner/repo", COMMIT, ["m.safetensors"])


def test_well_formed_metadata_still_reads(liar: LyingServer) -> None:
    liar.answer("/api/models/", _model_info(_lfs()))
    snapshot = Hub(endpoint=liar.url, token="").snapshot("owner/repo", "main")
    assert snapshot.files["m.safetensors"].sha256 == SHA
    assert snapshot.commit == COMMIT


def test_a_lying_content_range_is_refused(liar: LyingServer) -> None:
    """Before: bytes from another offset were parsed as if they were the ones asked for."""
    prefix = "/owner/repo/resolve/"
    liar.answer(prefix, b"x" * 16, 206, **{"Content-Range": "bytes 0-15/1000"})
    hub = Hub(endpoint=liar.url, token="")
    with pytest.raises(HubError, match="Content-Range"):
        hub.read_range("owner/repo", "m.safetensors", COMMIT, 100, 16)
    liar.answer(prefix, b"x" * 16, 206)  # no Content-Range at all
    with pytest.raises(HubError, match="Content-Range"):
        hub.read_range("owner/repo", "m.safetensors", COMMIT, 100, 16)
    liar.answer(prefix, b"x" * 16, 206, **{"Content-Range": "bytes 100-115/1000"})
    assert hub.read_range("owner/repo", "m.safetensors", COMMIT, 100, 16) == b"x" * 16


def _headers_seen(server: LyingServer, prefix: str) -> dict[str, str]:
    found = [headers for path, headers in server.seen if path.startswith(prefix)]
    assert found, f"nothing asked for {prefix}"
    return {name.lower(): value for name, value in found[-1].items()}


def test_the_hub_token_never_follows_a_redirect_to_another_host(liar: LyingServer) -> None:
    """127.0.0.1 and localhost are different origins: the redirect target is another host."""
    cdn = f"http://localhost:{liar.server_address[1]}/cdn/blob"
    liar.answer("/owner/repo/resolve/", b"", 302, Location=cdn)
    liar.answer("/cdn/", b"12345678", 200)
    hub = Hub(endpoint=liar.url, token="hf_secret_token_value")
    assert hub.read_range("owner/repo", "m.safetensors", COMMIT, 0, 8) == b"12345678"
    assert _headers_seen(liar, "/owner/repo/resolve/")["authorization"].endswith(
        "hf_secret_token_value"
    )
    assert "authorization" not in _headers_seen(liar, "/cdn/")
    assert "hf_secret_token_value" not in repr(hub)


def test_search_results_that_are_not_repo_ids_are_dropped(liar: LyingServer) -> None:
    """Before: an id like "../x" reached model_info, whose validator raised a traceback."""
    found = [{"id": "../../evil"}, {"id": "owner/x?y=1"}, {"id": "owner/good"}, {"id": "a--b/c"}]
    liar.answer("/api/models", found)
    result = _search(Hub(endpoint=liar.url, token=""), RepoSearch(author="owner", search="q"))
    assert result == ["owner/good"]


# --- registries ------------------------------------------------------------------------

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
    source = ModelSource("vae", "o/r", "vae.safetensors", COMMIT, SHA, 10, layer_path)
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
    assert _headers_seen(liar, "/v2/img/blobs/")["authorization"].startswith("Basic ")
    storage = f"http://localhost:{liar.server_address[1]}/storage/blob"
    liar.answer("/v2/img/blobs/", b"", 307, Location=storage)
    liar.answer("/storage/", b"blob bytes")
    assert client.transport.send("GET", "/v2/img/blobs/x", scope="s").content == b"blob bytes"
    assert _headers_seen(liar, "/v2/img/blobs/")["authorization"].startswith("Basic ")
    assert "authorization" not in _headers_seen(liar, "/storage/")


def test_a_blob_read_is_verified(liar: LyingServer) -> None:
    liar.answer("/v2/img/blobs/", b"not the blob")
    with pytest.raises(CheckFailed):
        _registry(liar).read_blob("img", _DIGEST)


# --- workflows and terminal output -----------------------------------------------------


def test_workflow_urls_must_carry_a_valid_revision() -> None:
    """Before: any revision text (a newline, "..") went into models.yaml as it was."""
    base = "https://huggingface.co/owner/repo/resolve/{}/split/m.safetensors"
    assert parse_hub_url(base.format("main"))[2] == "main"
    for revision in ("main%0Aevil", "..%2F..", "-x", "a..b"):
        with pytest.raises(ValueError, match="revision"):
            parse_hub_url(base.format(revision))


def test_deeply_nested_workflow_is_a_workflow_error(tmp_path: Path) -> None:
    """Before: RecursionError (or a 5000-digit integer's ValueError) was an internal error."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(WorkflowError, match="nested"):
        read_workflow(deep)
    long_number = tmp_path / "number.json"
    long_number.write_text('{"nodes": [], "x": ' + "9" * 5000 + "}")
    with pytest.raises(WorkflowError):
        read_workflow(long_number)


def test_header_metadata_cannot_inject_markup_or_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: "[/]" in a metadata value crashed `inspect` (rich MarkupError), "[link=...]"
    planted a hyperlink and ESC sequences reached the terminal."""
    path = tmp_path / "m.safetensors"
    metadata = {"a": "[/]", "b": "\x1b]8;;https://evil.example\x1b\\click [link=x]y[/link]"}
    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(path), metadata=metadata)
    assert cli.main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[/]" in out
    assert "[link=x]y[/link]" in out
    assert "\x1b" not in out


def test_pr_body_text_cannot_mention_people() -> None:
    """Before: a Hub file name like "ping-@org/team.safetensors" pinged a whole team."""
    assert "@o" not in md("ping-@org/team and @octocat")
    assert md("ping-@org/team").replace("\u2060", "") == "ping-@org/team"
    assert md("org/x@main") == "org/x@main"  # repo@revision is no mention: left as it is


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
