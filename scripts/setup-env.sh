# Sourced by run-app.sh and run-tests.sh: create .venv and install the project once.
# Re-installs when pyproject.toml changes.
#
# Python: $PYTHON if set, else the newest of python3.13, python3.12, python3.11, python3
# that runs and is 3.11 or newer. An existing .venv on a supported Python is kept as it is,
# whatever is newest now; delete .venv to rebuild it on another Python.
#
# MAVERICK_DESK_USE_SYSTEM_TORCH=1 builds a new .venv with --system-site-packages, so a
# CUDA torch that the machine already has (NVIDIA's containers, DGX OS) is used instead of
# pip installing a second one. docs/pythons.md says when to use it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
SUPPORTED_CHECK='import sys; sys.exit(sys.version_info[:2] < (3, 11))'

find_python() {
    local candidate
    if [ -n "${PYTHON:-}" ]; then
        if "$PYTHON" -c "$SUPPORTED_CHECK" 2>/dev/null; then
            echo "$PYTHON"
            return 0
        fi
        echo "PYTHON=$PYTHON is not a Python 3.11 or newer that runs here." >&2
        return 1
    fi
    # A pyenv shim exists for every installed version but fails unless one is selected,
    # so each candidate has to run, not just be on PATH.
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c "$SUPPORTED_CHECK" 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Maverick Desk needs Python 3.11 or newer (python3.13, python3.12 or python3.11 on" \
        "PATH, or set PYTHON=/path/to/python3)." >&2
    return 1
}

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c "$SUPPORTED_CHECK" 2>/dev/null; then
    echo "$VENV runs $("$VENV/bin/python" -V 2>&1), which Maverick Desk no longer supports;" \
        "delete it (rm -r .venv) and run again to rebuild it on Python 3.11 or newer." >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)"
    VENV_ARGS=()
    if [ "${MAVERICK_DESK_USE_SYSTEM_TORCH:-0}" = "1" ]; then
        if ! "$PY" -c 'import torch' 2>/dev/null; then
            echo "MAVERICK_DESK_USE_SYSTEM_TORCH=1, but $PY cannot import torch; unset it to" \
                "let pip install torch into .venv, or choose the Python that has it (PYTHON=)." >&2
            exit 1
        fi
        VENV_ARGS+=(--system-site-packages)
    fi
    echo "==> creating $VENV with $PY ($("$PY" -V 2>&1))" >&2
    "$PY" -m venv "${VENV_ARGS[@]}" "$VENV"
    if [ "${#VENV_ARGS[@]}" -gt 0 ]; then
        # Pin the system's torch (and torchvision, if it has one) so that pip keeps them
        # instead of "upgrading" to a CPU or mismatched build from PyPI.
        "$VENV/bin/python" - >"$VENV/system-torch.txt" <<'PINS'
from importlib import metadata
for name in ("torch", "torchvision"):
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
PINS
        if ! grep -q '^torch==' "$VENV/system-torch.txt"; then
            rm -rf "$VENV"
            echo "MAVERICK_DESK_USE_SYSTEM_TORCH=1, but a virtual environment made by $PY" \
                "does not see its torch ($PY is itself a virtual environment?); use the" \
                "Python that torch was installed into (PYTHON=)." >&2
            exit 1
        fi
        echo "==> keeping the system's $(tr '\n' ' ' <"$VENV/system-torch.txt")" >&2
    fi
fi

STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
    echo "==> installing Maverick Desk and its dependencies into .venv (first run takes a few minutes)" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    PINS=()
    [ -f "$VENV/system-torch.txt" ] && PINS=(--constraint "$VENV/system-torch.txt")
    "$VENV/bin/python" -m pip install --quiet "${PINS[@]}" -e "$ROOT[dev]" >&2
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi
