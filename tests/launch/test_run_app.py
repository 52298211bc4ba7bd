"""scripts/run-app.sh, run by someone who may not install packages, prints the one command."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.launch.display_check import check_launch, problem_sentence
from app.launch.system_libraries import EXTRA_ENV

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A copy of the scripts beside a .venv that is this test's own environment.

    setup-env.sh would pip install into a .venv whose stamp does not match pyproject.toml
    (a worktree, or a pyproject edited since); the copy carries a matching stamp, so the
    script goes straight to the launch. World-readable, for the unprivileged user.
    """
    assert sys.prefix != sys.base_prefix, "run the tests from the project's .venv"
    with tempfile.TemporaryDirectory(prefix="maverick-run-app-") as folder:
        root = Path(folder)
        root.chmod(0o755)
        (root / "scripts").mkdir()
        for script in ("run-app.sh", "setup-env.sh"):
            shutil.copy(ROOT / "scripts" / script, root / "scripts" / script)
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
        venv = root / ".venv"
        venv.mkdir()
        for entry in Path(sys.prefix).iterdir():
            if not entry.name.startswith(".installed-"):
                (venv / entry.name).symlink_to(entry)
        digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()[:16]
        (venv / f".installed-{digest}").touch()
        yield root


def _as_nobody(command: list[str]) -> list[str] | None:
    """`command` run as the unprivileged user, when root may switch to one that can run
    this Python (a Python under /root, as pyenv puts it, is out of its reach)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    switch = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    # Through bash, as the script runs it: setpriv's own exec may still pass where bash's fails.
    probe = subprocess.run(
        [*switch, "bash", "-c", '"$0" -c ""', sys.executable], capture_output=True, check=False
    )
    return [*switch, *command] if probe.returncode == 0 else None


def test_without_installing_it_prints_the_exact_install_command_and_fails(
    checkout: Path,
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(checkout),
        "DISPLAY": ":9",  # no server needed: the check stops the launch before Qt
        EXTRA_ENV: "libmaverick-absent.so.7",
        "MAVERICK_DESK_MODEL": str(checkout / "no-model"),  # no demo checkpoint to write
    }
    command = ["bash", str(checkout / "scripts" / "run-app.sh")]
    as_nobody = _as_nobody(command)
    as_root = os.geteuid() == 0 and as_nobody is None
    if as_nobody is not None:  # the no-root path, for real
        command = as_nobody
    elif as_root:  # root that may not switch: the opt-out takes the same path
        env["MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES"] = "0"
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    expected = problem_sentence(check_launch(env), as_root=as_root)
    assert expected is not None and "libmaverick-absent" in expected
    assert done.stderr.strip().splitlines()[-1] == f"maverick-desk: {expected}"
    if shutil.which("apt-get"):
        sudo = "" if as_root else "sudo "
        assert f"`{sudo}apt-get install -y " in expected and "libmaverick-absent7`" in expected


# A Python whose venv lacks ensurepip, as Debian's python3 is without python3.X-venv.
DEBIAN_PYTHON = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"  # Debian's venv leaves a half-made folder behind
    echo "The virtual environment was not created successfully because ensurepip is not"
    echo "available.  On Debian/Ubuntu systems, you need to install the python3-venv"
    exit 1
fi
exec {python} "$@"
"""


def test_a_python_without_venv_support_gets_the_package_to_install(tmp_path: Path) -> None:
    """A fresh Debian's python3 cannot make .venv: the script names python3.X-venv (or, when
    allowed, installs it), and leaves no half-made .venv that a second run would trust."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for script in ("run-app.sh", "setup-env.sh"):
        shutil.copy(ROOT / "scripts" / script, root / "scripts" / script)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    python = tmp_path / "python3"
    python.write_text(DEBIAN_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHON": str(python),
        "MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES": "0",  # say the command, install nothing
    }
    done = subprocess.run(
        ["bash", str(root / "scripts" / "run-app.sh")], env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if shutil.which("apt-get"):
        sudo = "" if os.geteuid() == 0 else "sudo "
        assert f"`{sudo}apt-get install -y python{version}-venv`" in done.stderr
    else:
        assert "install your distribution's venv package" in done.stderr
    assert not (root / ".venv").exists()
