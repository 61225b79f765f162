"""The README's two commands need nothing that a bare Debian lacks.

scripts/clean-machine.sh runs both in a debootstrap chroot (docs/development.md records
its run); these are the parts CI checks every time: the lint step runs with no Node.js
on PATH, apt waits for the package manager's lock, and the uv bootstrap picks the right
wheel.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_NAMES = {"node", "nodejs", "npm", "npx", "corepack"}


def _path_without_node(tmp_path: Path) -> str:
    """A PATH of one folder linking every program on PATH except Node.js's."""
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not Path(folder).is_dir():
            continue
        for program in Path(folder).iterdir():
            target = shadow / program.name
            if program.name not in NODE_NAMES and not target.exists():
                target.symlink_to(program)
    return str(shadow)


@pytest.mark.integration
def test_the_lint_step_passes_with_no_node_on_path(tmp_path: Path) -> None:
    path = _path_without_node(tmp_path)
    assert shutil.which("node", path=path) is None
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lint-workflows.sh")],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from the uv group lint" in done.stderr
    assert "actionlint: 3 file(s), 0 problem(s)" in done.stderr


def _fake_apt(tmp_path: Path, locked_tries: int) -> dict[str, str]:
    """An apt-get that answers "Could not get lock" ``locked_tries`` times, then works;
    a dpkg-query that says nothing is installed. Every call is logged."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        f"n=$(grep -c . {calls})\n"
        f'if [ "$n" -le {locked_tries} ]; then\n'
        '  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7" >&2\n'
        "  exit 100\n"
        "fi\n"
    )
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")  # no real waiting in a test
    for program in bin_dir.iterdir():
        program.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _apt_install(env: dict[str, str], wait: int) -> subprocess.CompletedProcess[str]:
    script = f'source {ROOT / "scripts/lib/apt.sh"}; apt_install "the reason" pkg-a pkg-b'
    if os.geteuid() != 0:
        pytest.skip("apt_install runs apt-get as root or through sudo")
    return subprocess.run(
        ["bash", "-c", script],
        env={**env, "APT_LOCK_WAIT": str(wait)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_apt_waits_for_the_package_managers_lock_and_says_what_it_installs(
    tmp_path: Path,
) -> None:
    done = _apt_install(_fake_apt(tmp_path, locked_tries=2), wait=600)
    assert done.returncode == 0, done.stderr
    assert "apt: installing pkg-a pkg-b (the reason)" in done.stderr
    assert done.stderr.count("holds the package manager's lock; waiting") == 2
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [c.split()[-3:] for c in calls[-1:]] == [["-qq", "pkg-a", "pkg-b"]]
    assert all("DPkg::Lock::Timeout=600" in c for c in calls)


def test_apt_gives_up_on_a_lock_held_past_the_wait(tmp_path: Path) -> None:
    done = _apt_install(_fake_apt(tmp_path, locked_tries=1000), wait=10)
    assert done.returncode == 100
    assert "still held after 10s" in done.stderr


def _bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bootstrap_uv", ROOT / "scripts/bootstrap_uv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_uv_bootstrap_picks_this_machines_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap = _bootstrap()
    version = bootstrap.UV_VERSION
    names = [
        f"uv-{version}-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        f"uv-{version}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        f"uv-{version}-py3-none-musllinux_1_1_x86_64.whl",
        f"uv-{version}.tar.gz",
        f"uv-{version}-py3-none-macosx_11_0_arm64.whl",
    ]
    index = {"files": [{"filename": n, "url": n, "hashes": {"sha256": "0"}} for n in names]}
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(bootstrap.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(bootstrap.platform, "libc_ver", lambda: ("glibc", "2.36"))
    assert "manylinux_2_17_x86_64" in bootstrap.pick_wheel(index, version)["filename"]
    monkeypatch.setattr(bootstrap.platform, "machine", lambda: "aarch64")
    assert "aarch64" in bootstrap.pick_wheel(index, version)["filename"]
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(bootstrap.platform, "machine", lambda: "arm64")
    assert "macosx_11_0_arm64" in bootstrap.pick_wheel(index, version)["filename"]
    with pytest.raises(SystemExit, match="no uv"):
        bootstrap.pick_wheel(index, "0.0.1")


def test_the_uv_bootstrap_refuses_a_non_http_url() -> None:
    with pytest.raises(SystemExit, match="not an http"):
        _bootstrap().open_url("file:///etc/passwd")


def test_command_1_is_what_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/uv run imagebuilder check-updates" in readme
    assert os.access(ROOT / "scripts" / "uv", os.X_OK)
