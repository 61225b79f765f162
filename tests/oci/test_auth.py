"""Registry auth: challenges, where credentials may go, and where they are found."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from imagebuilder.oci.auth import (
    Credentials,
    RegistryRole,
    credentials_for,
    may_send_credentials,
    parse_challenge,
)
from imagebuilder.oci.transport import default_scheme


@pytest.fixture
def no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's own registry login must not answer for the config file under test."""
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("IMAGEBUILDER_REGISTRY_PASSWORD", raising=False)


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_credentials: None
) -> None:
    config = tmp_path / "config.json"
    token = base64.b64encode(b"user:s3cret").decode()
    config.write_text(json.dumps({"auths": {"https://ghcr.io": {"auth": token}}}))
    for role in RegistryRole:
        found = credentials_for("ghcr.io", role, config)
        assert found == Credentials("user", "s3cret") and "s3cret" not in repr(found)
        assert credentials_for("other.io", role, config) is None
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_PASSWORD", "pw")
    # The environment's pair is the target registry's: no other role is ever offered it.
    assert credentials_for("other.io", RegistryRole.TARGET, config) == Credentials("ci", "pw")
    assert credentials_for("other.io", RegistryRole.BASE, config) is None
    assert credentials_for("other.io", RegistryRole.SOURCE, config) is None
    assert credentials_for("ghcr.io", RegistryRole.BASE, config) == Credentials("user", "s3cret")


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_credentials: None
) -> None:
    helper = tmp_path / "docker-credential-testhelper"
    helper.write_text(
        "#!/bin/sh\nread host\n"
        'printf \'{"ServerURL":"%s","Username":"bot","Secret":"tok"}\' "$host"\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {"ghcr.io": "testhelper"}}))
    assert credentials_for("ghcr.io", RegistryRole.BASE, config) == Credentials("bot", "tok")
    assert credentials_for("other.io", RegistryRole.SOURCE, config) is None
    config.write_text(json.dumps({"credsStore": "testhelper"}))
    assert credentials_for("other.io", RegistryRole.SOURCE, config) == Credentials("bot", "tok")
    config.write_text(json.dumps({"credsStore": "../../bin/sh"}))  # not a helper name
    assert credentials_for("other.io", RegistryRole.SOURCE, config) is None
