"""The one redaction rule: known secrets and URL userinfo never reach a message."""

from __future__ import annotations

import base64

import pytest

from imagebuilder.oci.auth import Credentials
from imagebuilder.project.redact import MASK, redact, redact_data, remember


def test_userinfo_of_any_scheme_is_masked() -> None:
    text = "bad http://u:pw@h:1/x, runpod://tok@ep and git+ssh://me@host/repo"
    assert (
        redact(text)
        == f"bad http://{MASK}@h:1/x, runpod://{MASK}@ep and git+ssh://{MASK}@host/repo"
    )
    assert redact("mail me@example.org at https://example.org/a@b") == (
        "mail me@example.org at https://example.org/a@b"
    )


def test_secrets_from_the_environment_and_logins_are_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_unitKey123")
    monkeypatch.setenv("HF_TOKEN", "abc")  # too short to mask: it would blank words
    Credentials("robot", "s3cret-login")
    basic = base64.b64encode(b"robot:s3cret-login").decode()
    text = f"Authorization: Bearer rpa_unitKey123; Basic {basic}; pw s3cret-login; abc"
    assert redact(text) == f"Authorization: Bearer {MASK}; Basic {MASK}; pw {MASK}; abc"


def test_data_is_masked_keys_and_values() -> None:
    remember("tok_in_data_42")
    assert redact_data({"tok_in_data_42": ["x tok_in_data_42", 3]}) == {MASK: [f"x {MASK}", 3]}
