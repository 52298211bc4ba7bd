#!/usr/bin/env bash
# Run the whole test suite on another Python: scripts/check-python.sh 3.12
#
# Copies the working tree to a scratch folder, builds a fresh virtual environment there
# with that Python, installs Maverick Desk and its dependencies from the package index
# (torch for a Python other than CI's comes from PyPI: gigabytes on the first run), writes
# the demo checkpoint and runs pytest. The repository's own .venv is never touched.
# Arguments after the version go to pytest. MAVERICK_DESK_CHECK_DIR chooses the folder
# (default /tmp/md-py<version>); a summary is written to its summary.txt.
set -euo pipefail

VERSION="${1:?usage: scripts/check-python.sh 3.12 [pytest arguments]}"
shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${MAVERICK_DESK_CHECK_DIR:-/tmp/md-py$VERSION}"
case "$WORK" in
"$ROOT" | "$ROOT"/*)
    echo "check-python: $WORK is inside the repository; choose a folder outside it" >&2
    exit 2
    ;;
esac

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" "python$VERSION" \
        "$(pyenv root 2>/dev/null)/versions/$VERSION"*/bin/"python$VERSION"; do
        [ -n "$candidate" ] || continue
        # A pyenv shim exists for every installed version but fails unless it is selected,
        # so the candidate has to run, not just be on PATH.
        if "$candidate" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$VERSION')" \
            2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "check-python: no Python $VERSION found (put python$VERSION on PATH or set PYTHON=)" >&2
    return 1
}

PY="$(find_python)"
mkdir -p "$WORK"
rm -rf "$WORK/src" "$WORK/venv" "$WORK/demo"
mkdir "$WORK/src"
# Tracked and untracked-but-not-ignored files: what the next commit would hold.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' |
    tar --null -T - -cf -) | tar -xf - -C "$WORK/src"

START=$(date +%s)
echo "==> $("$PY" -VV) at $PY" >&2
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip >&2
echo "==> installing Maverick Desk[dev] into $WORK/venv" >&2
# A regular (not editable) install; the tests import the copy through PYTHONPATH.
if ! "$WORK/venv/bin/python" -m pip install --progress-bar off "$WORK/src[dev]" \
    >"$WORK/install.log" 2>&1; then
    echo "check-python: installing on Python $VERSION failed; the end of $WORK/install.log:" >&2
    tail -n 30 "$WORK/install.log" >&2
    exit 1
fi
INSTALLED=$(date +%s)
"$WORK/venv/bin/python" -m pip list --format=freeze >"$WORK/versions.txt"

cd "$WORK/src"
export PYTHONPATH="$WORK/src" QT_QPA_PLATFORM=offscreen MAVERICK_DESK_TEST_DEMO="$WORK/demo"
"$WORK/venv/bin/maverick-desk" demo-checkpoint "$WORK/demo" >/dev/null
echo "==> pytest on Python $VERSION" >&2
set +e
"$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$WORK/pytest.log"
STATUS=${PIPESTATUS[0]}
set -e
END=$(date +%s)
{
    echo "python: $("$WORK/venv/bin/python" -V)"
    grep -iE '^(torch|torchvision|transformers|pyside6[-_]essentials)==' \
        "$WORK/versions.txt" | tr '\n' ' '
    echo
    echo "install: $((INSTALLED - START)) s, tests: $((END - INSTALLED)) s"
    echo "pytest: $(tail -n 1 "$WORK/pytest.log")"
} | tee "$WORK/summary.txt"
exit "$STATUS"
