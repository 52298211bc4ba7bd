#!/usr/bin/env bash
# Run every check and the whole test suite. The first run creates .venv, installs
# everything and writes the demo checkpoint to .demo/. Arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
cd "$ROOT"

export QT_QPA_PLATFORM=offscreen
export MAVERICK_DESK_TEST_DEMO="$ROOT/.demo"
if [ ! -f "$MAVERICK_DESK_TEST_DEMO/bf16/config.json" ]; then
    echo "==> writing the demo checkpoint to .demo/" >&2
    "$VENV/bin/maverick-desk" demo-checkpoint "$MAVERICK_DESK_TEST_DEMO" >/dev/null
fi

echo "==> ruff" >&2
"$VENV/bin/ruff" check app tests bench
"$VENV/bin/ruff" format --check app tests bench
echo "==> import contracts" >&2
"$VENV/bin/lint-imports" --no-cache
echo "==> mypy" >&2
"$VENV/bin/mypy"
echo "==> pytest" >&2
exec "$VENV/bin/python" -m pytest "$@"
