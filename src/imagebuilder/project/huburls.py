"""A file on the Hub as people paste it: a browser or download URL, or OWNER/NAME/PATH.

``https://huggingface.co/OWNER/NAME/resolve/REVISION/PATH`` (a download link) and
``.../blob/REVISION/PATH`` (the file's page) both name one file at one revision; a query
(``?download=true``) or fragment changes nothing. The host is the public Hub's or the
configured endpoint's (HF_ENDPOINT: a mirror, the test suite's loopback Hub). Every part
passes the rules models.yaml's values pass: the result lands in URLs and in models.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from imagebuilder.project.pathrules import check_repo_path, check_safe_repo_path
from imagebuilder.project.values import check_repo_id, check_revision

PUBLIC_HOST = "huggingface.co"
URL_FORM = "https://huggingface.co/OWNER/NAME/resolve/REVISION/PATH (or /blob/)"
_NOT_MODELS = {"datasets": "a dataset", "spaces": "a Space"}


@dataclass(frozen=True)
class HubFile:
    repo: str
    path: str
    revision: str


def looks_like_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def _hosts(endpoint: str | None) -> set[str]:
    hosts = {PUBLIC_HOST, f"www.{PUBLIC_HOST}"}
    if endpoint:
        parsed = urlsplit(endpoint)
        if parsed.netloc:
            hosts.add(parsed.netloc.lower())
    return hosts


def parse_file_url(url: str, endpoint: str | None = None, *, model: bool = True) -> HubFile:
    """The file a Hub URL names (a .safetensors model file unless ``model`` is False);
    ValueError saying what is wrong with it otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or parts.netloc.lower() not in _hosts(endpoint):
        raise ValueError(f"{url!r} is not a Hugging Face URL; expected {URL_FORM}")
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    if segments and segments[0] in _NOT_MODELS:
        raise ValueError(f"{url!r} is {_NOT_MODELS[segments[0]]}; imagebuilder reads model repos")
    if len(segments) < 5 or segments[2] not in ("resolve", "blob") or not segments[-1]:
        raise ValueError(f"{url!r} does not name one file; expected {URL_FORM}")
    return HubFile(
        repo=check_repo_id(f"{segments[0]}/{segments[1]}"),
        path=(check_repo_path if model else check_safe_repo_path)("/".join(segments[4:])),
        revision=check_revision(segments[3]),
    )
