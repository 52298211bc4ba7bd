"""The memory the model can use: GPUs (from nvidia-smi or a spec like ``8x80GB``) or the CPU.

Torch-free, so the command line and the window can ask without starting CUDA.
The worker asks torch directly (`app.inference.loader`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.checkpoints.checkpoint import human_bytes

GIB = 1024**3
# FP8 matmuls need compute capability 8.9 (Ada) or newer (Hopper, Blackwell).
FP8_CAPABILITY = (8, 9)
_UNITS = {"": GIB, "g": GIB, "gb": GIB, "gib": GIB, "t": 1024 * GIB, "tb": 1024 * GIB,
          "tib": 1024 * GIB, "m": 1024**2, "mb": 1024**2, "mib": 1024**2}  # fmt: skip
_SPEC = re.compile(
    r"^\s*(?:(\d+)\s*[x×*]\s*)?(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:@\s*(\d+)\.(\d+))?\s*$"
)


class DeviceSpecError(ValueError):
    """A --gpus value that cannot be read."""


@dataclass(frozen=True)
class Device:
    """One device's free memory and whether it multiplies in FP8."""

    name: str
    free_bytes: int
    fp8: bool
    kind: str = "gpu"  # "gpu" or "cpu"

    def describe(self) -> str:
        return f"{self.name}: {human_bytes(self.free_bytes)} free" + (", FP8" if self.fp8 else "")


def parse_gpu_spec(spec: str) -> list[Device]:
    """'8x80GB', '80GB,80GB,40GB' or '4x80GB@8.0' (compute capability; default 9.0).

    Sizes are the free memory of each GPU; GB, G and GiB all mean 2^30 bytes, which
    is what an '80 GB' card has.
    """
    devices: list[Device] = []
    for part in spec.lower().split(","):
        match = _SPEC.match(part)
        if not match or not part.strip():
            raise DeviceSpecError(
                f"Cannot read the GPU list {spec!r}: write it like 8x80GB, 80GB,40GB or "
                "8x80GB@8.0 (count x free memory, optional compute capability)."
            )
        count_text, size, unit, major, minor = match.groups()
        if unit not in _UNITS:
            raise DeviceSpecError(f"Unknown unit {unit!r} in {spec!r}: use GB or MB.")
        count = int(count_text or 1)
        if count < 1 or count > 64:
            raise DeviceSpecError(f"{count} GPUs in {spec!r}: give between 1 and 64.")
        capability = (int(major), int(minor)) if major else (9, 0)
        free = int(float(size) * _UNITS[unit])
        for _ in range(count):
            name = f"cuda:{len(devices)}"
            devices.append(Device(name, free, capability >= FP8_CAPABILITY))
    return devices


def parse_nvidia_smi(output: str) -> list[Device]:
    """Rows of `nvidia-smi --query-gpu=index,name,memory.free,compute_cap` (csv, no units)."""
    devices = []
    for line in output.strip().splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4:
            continue
        index, name, free_mib, cap = fields[:4]
        try:
            capability = tuple(int(x) for x in cap.split("."))
            free = int(float(free_mib) * 1024**2)
        except ValueError:
            continue
        devices.append(Device(f"cuda:{index} {name}", free, capability >= FP8_CAPABILITY))
    return devices


def detect_gpus(timeout: float = 20.0) -> tuple[list[Device], str]:
    """NVIDIA GPUs from nvidia-smi, and a note saying how they were found (or why not)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], "no NVIDIA GPU found (nvidia-smi is not installed)"
    query = "--query-gpu=index,name,memory.free,compute_cap"
    try:
        result = subprocess.run(
            [exe, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"nvidia-smi did not answer ({exc})"
    if result.returncode != 0:
        return [], f"nvidia-smi failed: {(result.stderr or result.stdout).strip()[:200]}"
    devices = parse_nvidia_smi(result.stdout)
    if not devices:
        return [], "nvidia-smi lists no GPU"
    return devices, f"{len(devices)} GPU(s) from nvidia-smi"


def cpu_device(meminfo: Path = Path("/proc/meminfo")) -> Device:
    """The CPU with the memory the kernel says is available (MemAvailable)."""
    free = 0
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError):
        free = 0
    return Device("CPU", free, fp8=False, kind="cpu")
