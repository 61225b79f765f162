"""Image references and tags: parsed once, bad ones refused as configuration errors."""

from __future__ import annotations

import pytest

from imagebuilder.errors import ConfigError
from imagebuilder.oci.reference import parse_reference


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
