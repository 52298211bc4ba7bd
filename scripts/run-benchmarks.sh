#!/usr/bin/env bash
# Run every benchmark (bench/) and write docs/benchmarks.json and docs/benchmarks.md.
# Same set-up as the other two commands. Takes several minutes; run it on a quiet machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
cd "$ROOT"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export MAVERICK_DESK_TEST_DEMO="$ROOT/.demo"
exec "$VENV/bin/python" bench/run_all.py "$@"
