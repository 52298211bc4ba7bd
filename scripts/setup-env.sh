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
    venv_log="$(mktemp)"
    if ! "$PY" -m venv "${VENV_ARGS[@]}" "$VENV" >"$venv_log" 2>&1; then
        # Debian and Ubuntu ship venv's pip in a package of its own (python3.X-venv), which
        # a fresh machine lacks: install it when allowed, else say the one command to run.
        rm -rf "$VENV"
        venv_package="python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
        if ! command -v apt-get >/dev/null 2>&1 || ! grep -q "ensurepip" "$venv_log"; then
            cat "$venv_log" >&2
            rm -f "$venv_log"
            echo "$PY could not create a virtual environment (above); install your" \
                "distribution's venv package for it and run this again." >&2
            exit 1
        fi
        as_root=(); [ "$(id -u)" = 0 ] || as_root=(sudo -n)
        if [ "${MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES:-0}" != "1" ] ||
            { [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; }; then
            rm -f "$venv_log"
            sudo_word=""; [ "$(id -u)" = 0 ] || sudo_word="sudo "
            echo "$PY cannot create a virtual environment: Debian/Ubuntu keep its pip in" \
                "$venv_package, which is not installed. Install it with" \
                "\`${sudo_word}apt-get install -y $venv_package\` and run this again." >&2
            exit 1
        fi
        echo "==> installing $venv_package with apt (${PY} needs it to create .venv)" >&2
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "$venv_package" >&2
        "$PY" -m venv "${VENV_ARGS[@]}" "$VENV"
    fi
    rm -f "$venv_log"
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
