#!/usr/bin/env bash
# Launch Maverick Desk. The first run creates .venv, installs everything and writes the
# demo checkpoint; later runs start at once. Arguments go to `maverick-desk`.
set -euo pipefail

# Before the window opens, maverick-desk checks for a display and for the system libraries
# Qt's platform plugin needs; this asks it to install missing ones with apt when root or
# password-less sudo allows (otherwise it prints the command to run and exits with 1).
# MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES=0 never installs: it prints the command instead.
# The same goes for python3.X-venv, which setup-env.sh needs to create .venv on Debian.
export MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES="${MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES:-1}"
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"

DEMO="$("$VENV/bin/python" -c 'from app.paths import demo_checkpoint_root; print(demo_checkpoint_root())')"
if [ -z "${MAVERICK_DESK_MODEL:-}" ] && [ ! -f "$DEMO/bf16/config.json" ]; then
    echo "==> writing the demo checkpoint (tiny, random weights) to $DEMO" >&2
    "$VENV/bin/maverick-desk" demo-checkpoint "$DEMO" >&2
fi
exec "$VENV/bin/maverick-desk" "$@"
