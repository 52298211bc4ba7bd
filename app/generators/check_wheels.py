"""The wheels `scripts/gpu-check.sh` needs carried to a GPU machine that has no network.

A GPU machine usually comes with Python, a CUDA torch and transformers; the check also
needs compressed-tensors (FP8 checkpoints), accelerate (`device_map`) and Pillow (the
processor), and what they need that torch and transformers do not bring. The versions
are this environment's, the ones the suite runs. torchvision is not in the list: it must
be the release built for the machine's own torch.

    bash scripts/gpu-check.sh --print-wheels      # here: the list and the download command
    bash scripts/gpu-check.sh --wheels DIR ...    # there: install from DIR, no network
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOTS = ("compressed-tensors", "accelerate", "pillow")
BROUGHT = ("torch", "transformers")  # on the machine already, with what they need


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(name: str) -> list[str]:
    names = []
    for spec in metadata.requires(name) or []:
        if "extra ==" in spec:
            continue
        if ";" in spec and "python_version" not in spec and "sys_platform" not in spec:
            continue
        names.append(_canonical(re.split(r"[\s<>=!~;\[(]", spec, maxsplit=1)[0]))
    return names


def _closure(roots: tuple[str, ...]) -> set[str]:
    seen: set[str] = set()
    todo = [_canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo.extend(_requirements(name))
    return seen


def wheel_pins() -> list[str]:
    """`name==version` for each wheel to carry, from this environment."""
    torch = _closure(("torch",))
    brought = _closure(BROUGHT)
    # What the roots ask for by name is carried with its own requirements unless
    # transformers asks for it by name too: a machine's older transformers may not
    # bring what this one's dependencies happen to (pydantic, for one).
    named = {req for root in ROOTS for req in _requirements(root)}
    named -= {"transformers", *_requirements("transformers")} | torch
    names = (_closure(ROOTS) - brought) | (_closure(tuple(named)) - torch)
    return sorted(f"{name}=={metadata.version(name)}" for name in names)


def download_command(folder: str = "gpu-check-wheels", python: str = "3.12") -> str:
    """The pip command that fetches those wheels for a Linux x86-64 machine's Python."""
    return (
        f"pip download --only-binary=:all: --no-deps --python-version {python} "
        f"--platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 "
        f"-d {folder} " + " ".join(wheel_pins())
    )


def install_from(folder: Path, pins: list[str]) -> str | None:
    """Install `pins` from `folder` into a temporary folder put on sys.path.

    No index and no network; returns a sentence if that failed.
    """
    if not folder.is_dir():
        return f"gpu-check: {folder} is not a folder of wheels."
    target = tempfile.mkdtemp(prefix="gpu-check-wheels-")
    names = [pin.split("==")[0] for pin in pins]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--find-links", str(folder), "--target", target, *names],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        return (
            f"gpu-check: installing {', '.join(names)} from {folder} failed ({last}); "
            "fetch them with the command `--print-wheels` prints."
        )
    sys.path.insert(0, target)
    return None
