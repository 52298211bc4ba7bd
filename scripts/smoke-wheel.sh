#!/usr/bin/env bash
# Build the wheel and sdist, install the wheel into a fresh virtual environment, and start
# the installed app offscreen: the packaging smoke test that CI runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
cd "$ROOT"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "==> building wheel and sdist" >&2
"$VENV/bin/python" -m build --no-isolation --outdir "$WORK/dist" . >/dev/null
rm -rf build
WHEEL="$(ls "$WORK"/dist/*.whl)"
ls "$WORK"/dist/*.tar.gz >/dev/null

echo "==> installing $(basename "$WHEEL") into a fresh virtual environment" >&2
"$VENV/bin/python" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL" >&2

# Run from elsewhere so nothing is imported from the source tree.
cd "$WORK"
export MAVERICK_DESK_DATA_DIR="$WORK/data" XDG_DATA_HOME="$WORK/xdg" QT_QPA_PLATFORM=offscreen
"$WORK/venv/bin/maverick-desk" --version
"$WORK/venv/bin/maverick-desk" install-desktop-entry >/dev/null
test -f "$XDG_DATA_HOME/applications/io.github.maverickdesk.MaverickDesk.desktop"
"$WORK/venv/bin/maverick-desk" demo-checkpoint >/dev/null
# To a file, not a pipe: grep -q leaves at its first match, and info's later lines would
# then meet a closed pipe.
"$WORK/venv/bin/maverick-desk" info >"$WORK/info.txt"
grep -q "demo: random weights" "$WORK/info.txt"
"$WORK/venv/bin/python" -c \
    "from PIL import Image; Image.new('RGB', (320, 200), (40, 90, 200)).save('photo.png')"
"$WORK/venv/bin/maverick-desk" --screenshot "$WORK/window.png" \
    --demo-question "What is in this picture?" --image "$WORK/photo.png" || {
    echo "smoke test: the installed app did not open its window" >&2
    exit 1
}
test -s "$WORK/window.png"
echo "smoke test passed: wheel installs, the app starts offscreen and answers" >&2
