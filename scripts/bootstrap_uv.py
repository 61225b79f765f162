"""Install uv from PyPI with nothing but python3's standard library.

A stock Debian/Ubuntu python3 has no pip (and refuses `pip install` outside a virtual
environment, PEP 668) and no venv module, so neither can install uv. This script reads
PyPI's simple index (JSON, PEP 691), picks the uv wheel for this machine, checks its
sha256 against the index, and unpacks the `uv` and `uvx` binaries the wheel carries
into a folder (default ~/.local/bin, where uv's own installer puts them). It needs no
root and installs nothing else.

    python3 scripts/bootstrap_uv.py [--dest DIR]

The index is $UV_INDEX_URL or $PIP_INDEX_URL when set (a mirror), PyPI's otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

UV_VERSION = "0.13.9"  # the uv that wrote uv.lock; newer ones read it too
DEFAULT_INDEX = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
BINARIES = ("uv", "uvx")
TIMEOUT_S = 60


def log(message: str) -> None:
    print(f"bootstrap-uv: {message}", file=sys.stderr)


def wheel_tags() -> tuple[str, ...]:
    """Platform-tag fragments a uv wheel for this machine carries, best first."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "darwin":
        return ("macosx_11_0_arm64",) if arch == "aarch64" else ("macosx_10_12_x86_64",)
    if sys.platform.startswith("linux"):
        libc, _ = platform.libc_ver()
        family = "manylinux" if libc == "glibc" else "musllinux"
        return (f"{family}_2_17_{arch}", f"{family}_2_28_{arch}", f"{family}_1_2_{arch}")
    raise SystemExit(f"bootstrap-uv: no uv wheel for {sys.platform}; install uv by hand")


def pick_wheel(index: dict[str, object], version: str) -> dict[str, object]:
    files = index.get("files")
    if not isinstance(files, list):
        raise SystemExit("bootstrap-uv: the index answer has no file list")
    prefix = f"uv-{version}-"
    candidates = [
        f
        for f in files
        if isinstance(f, dict)
        and str(f.get("filename", "")).startswith(prefix)
        and str(f.get("filename", "")).endswith(".whl")
        and not f.get("yanked")
    ]
    for tag in wheel_tags():
        for candidate in candidates:
            if tag in str(candidate["filename"]):
                return candidate
    raise SystemExit(f"bootstrap-uv: no uv {version} wheel for {'/'.join(wheel_tags())}")


def open_url(url: str, accept: str | None = None) -> Any:
    """An HTTP(S) answer; any other scheme (file:, ftp:) from an index is refused."""
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise SystemExit(f"bootstrap-uv: refusing {url!r}: not an http(s) URL")
    headers = {"User-Agent": "imagebuilder-bootstrap"}
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 (scheme checked)


def install(dest: Path, version: str, index_url: str) -> None:
    page = urllib.parse.urljoin(index_url.rstrip("/") + "/", "uv/")
    log(f"installing uv {version} into {dest} (a wheel from {index_url})")
    with open_url(page, SIMPLE_JSON) as answer:
        index = json.load(answer)
    wheel = pick_wheel(index, version)
    expected = dict(wheel.get("hashes") or {}).get("sha256")  # type: ignore[call-overload]
    if not expected:
        raise SystemExit(f"bootstrap-uv: the index gives no sha256 for {wheel['filename']}")
    url = urllib.parse.urljoin(page, str(wheel["url"]))
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / str(wheel["filename"])
        digest = hashlib.sha256()
        with open_url(url) as answer, archive.open("wb") as out:
            while chunk := answer.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected:
            raise SystemExit(f"bootstrap-uv: {archive.name}: sha256 does not match the index")
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive) as wheel_zip:
            for name in BINARIES:
                member = f"uv-{version}.data/scripts/{name}"
                staged = dest / f".{name}.partial"
                with wheel_zip.open(member) as source, staged.open("wb") as target:
                    shutil.copyfileobj(source, target)
                staged.chmod(0o755)
                os.replace(staged, dest / name)  # never a half-written uv on PATH
    log(f"installed {dest / 'uv'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path.home() / ".local" / "bin")
    parser.add_argument("--version", default=UV_VERSION, help=f"uv version (default {UV_VERSION})")
    args = parser.parse_args()
    index_url = os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    install(args.dest, args.version, index_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
