#!/usr/bin/env bash
# Run tests/inference and tests/workers under the lowest transformers the engine allows
# (app/checkpoints/transformers_range.py), so that CI proves the floor, not only the newest
# release. Arguments go to pytest.
#
# The floor environment, .venv-floor/, is a second virtual environment that holds only
# that transformers; a .pth file puts .venv's packages after it, so torch and everything
# else come from .venv and nothing big is downloaded. It is kept between runs and rebuilt
# when the floor changes. Its demo checkpoint is written by the floor's transformers
# (config.json records the version that wrote it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
cd "$ROOT"

FLOOR="$("$VENV/bin/python" -c 'from app.checkpoints.transformers_range import TRANSFORMERS_FLOOR as v; print(v)')"
HAVE="$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("transformers"))')"
if [ "$FLOOR" = "$HAVE" ]; then
    echo "==> the lowest transformers allowed ($FLOOR) is the one .venv has: the suite ran on it" >&2
    exit 0
fi
FLOOR_VENV="$ROOT/.venv-floor"
STAMP="$FLOOR_VENV/.transformers-$FLOOR"
PURELIB='import sysconfig; print(sysconfig.get_paths()["purelib"])'

if [ ! -f "$STAMP" ]; then
    echo "==> building $FLOOR_VENV with transformers $FLOOR over .venv's packages" >&2
    rm -rf "$FLOOR_VENV"
    "$VENV/bin/python" -m venv --without-pip "$FLOOR_VENV"
    "$VENV/bin/python" -m pip --python "$FLOOR_VENV/bin/python" install --quiet --no-deps \
        "transformers==$FLOOR" >&2
    SITE="$("$FLOOR_VENV/bin/python" -c "$PURELIB")"
    # Every package folder .venv sees (its own, and any it layers on), after the floor's.
    "$VENV/bin/python" - >"$SITE/zz-venv-packages.pth" <<'PATHS'
import os, sys, sysconfig
stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
for entry in sys.path:
    if os.path.isdir(entry) and entry not in stdlib and "lib-dynload" not in entry:
        print(entry)
PATHS
    # .venv finds `app` through an editable-install hook that a .pth line cannot carry.
    echo "$ROOT" >"$SITE/zz-maverick-desk.pth"
    touch "$STAMP"
fi

GOT="$("$FLOOR_VENV/bin/python" -c 'import transformers; print(transformers.__version__)')"
if [ "$GOT" != "$FLOOR" ]; then
    echo "$FLOOR_VENV imports transformers $GOT, not $FLOOR; delete it (rm -r .venv-floor) and run again." >&2
    exit 1
fi

export QT_QPA_PLATFORM=offscreen
export MAVERICK_DESK_TEST_DEMO="$FLOOR_VENV/demo"
rm -rf "$MAVERICK_DESK_TEST_DEMO"
"$FLOOR_VENV/bin/python" -c 'import sys; from app.cli import main; sys.exit(main())' \
    demo-checkpoint "$MAVERICK_DESK_TEST_DEMO" >/dev/null
echo "==> pytest tests/inference tests/workers on transformers $FLOOR" >&2
exec "$FLOOR_VENV/bin/python" -m pytest tests/inference tests/workers "$@"
