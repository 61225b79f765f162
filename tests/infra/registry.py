"""A real registry (distribution 2.x, Debian's docker-registry) on a loopback port.

Own config, storage directory, bcrypt htpasswd file and log file per test session, so
tests can assert what was stored and what was uploaded without trusting the client.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from infra.loopback import OnLoopback

REGISTRY_BINARY = "docker-registry"
START_TIMEOUT_S = 30.0
# Completed blob uploads appear in the access log as PUT .../blobs/uploads/<id>?digest=...
_UPLOAD_DONE = re.compile(r'"PUT /v2/(?P<repo>[^ ]+)/blobs/uploads/[^ ?]+\?(?P<query>[^ "]*)')
_DIGEST_PARAM = re.compile(r"(?:^|&)digest=(?P<digest>[^&]+)")


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config_yaml(port: int, storage: Path, htpasswd: Path) -> str:
    return f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
auth:
  htpasswd:
    realm: imagebuilder-test
    path: {htpasswd}
"""


@dataclass
class RegistryServer(OnLoopback):
    """A running registry: where it is, how to log in, and what it has stored or seen."""

    port: int
    username: str
    password: str
    root: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def storage_dir(self) -> Path:
        return self.root / "storage"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    @property
    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}

    def blob_digests(self) -> set[str]:
        """Every blob in storage, as 'sha256:<hex>'."""
        blobs = self.storage_dir / "docker/registry/v2/blobs/sha256"
        if not blobs.exists():
            return set()
        return {f"sha256:{data.parent.name}" for data in blobs.glob("*/*/data")}

    def log_offset(self) -> int:
        """Mark the log now; pass the mark to ``uploaded_blobs`` to see only later uploads."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_text(self, since: int = 0) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(since)
            return handle.read().decode("utf-8", "replace")

    def uploaded_blobs(self, since: int = 0) -> list[str]:
        """Digests of blob uploads the registry completed after the ``since`` log mark."""
        found = []
        for match in _UPLOAD_DONE.finditer(self.log_text(since)):
            digest = _DIGEST_PARAM.search(match.group("query"))
            if digest:
                found.append(unquote(digest.group("digest")))
        return found

    def start(self) -> None:
        htpasswd = self.root / "htpasswd"
        hashed = subprocess.run(
            ["htpasswd", "-Bbn", self.username, self.password],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        htpasswd.write_text(hashed, encoding="utf-8")
        config = self.root / "config.yml"
        config.write_text(_config_yaml(self.port, self.storage_dir, htpasswd), encoding="utf-8")
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=2)
                return
            except urllib.error.HTTPError as error:
                if error.code == 401:  # up, and asking for credentials as it should
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"registry did not start on {self.host}; its log:\n{self.log_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_registry(
    root: Path, username: str = "ci-user", password: str = "ci-pass"
) -> RegistryServer:
    if shutil.which(REGISTRY_BINARY) is None:
        raise RuntimeError(
            f"{REGISTRY_BINARY} is not installed: run scripts/services.sh start "
            "(it installs Debian's docker-registry)"
        )
    root.mkdir(parents=True, exist_ok=True)
    server = RegistryServer(
        port=free_loopback_port(), username=username, password=password, root=root
    )
    server.start()
    return server
