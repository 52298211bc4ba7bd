#!/usr/bin/env bash
# Run scripts/run-app.sh on a fresh Debian 12 that has only python3 and git (issue 36).
#
# As root, with debootstrap and Xvfb installed: makes a minimal Debian in a folder, clones
# this checkout into it, starts Xvfb, runs run-app.sh there as root (it installs
# python3.11-venv and Qt's system libraries with apt itself), and saves a screenshot of the
# screen once the window is up. Needs the network for apt and pip (a machine behind a TLS
# proxy passes its CA bundle and pip settings in: they are copied when present).
#
#   sudo bash scripts/fresh-debian-check.sh [FOLDER]   (default /tmp/fresh-debian)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-/tmp/fresh-debian}"
DISPLAY_NUMBER="${DISPLAY_NUMBER:-77}"
[ "$(id -u)" = 0 ] || { echo "run this as root (it uses debootstrap and chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null && command -v xwininfo >/dev/null ||
    { echo "apt-get install -y debootstrap xvfb x11-utils" >&2; exit 1; }

if [ ! -x "$TARGET/usr/bin/python3" ]; then
    debootstrap --variant=minbase --include=python3,git,ca-certificates bookworm "$TARGET" \
        http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$TARGET/etc/"
cp /etc/ssl/certs/ca-certificates.crt "$TARGET/etc/ssl/certs/" 2>/dev/null || true
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$TARGET/etc/"
if [ -d /etc/xdg/pip ]; then mkdir -p "$TARGET/etc/xdg"; cp -r /etc/xdg/pip "$TARGET/etc/xdg/"; fi
mounted=()
bind() { mkdir -p "$TARGET$1"; mount --bind "$1" "$TARGET$1"; mounted=("$TARGET$1" "${mounted[@]}"); }
trap 'for m in "${mounted[@]}"; do umount "$m" || true; done' EXIT
for folder in /proc /sys /dev /tmp/.X11-unix /opt/wheels /opt/pypi /opt/pypi-more; do
    [ -d "$folder" ] && bind "$folder"
done
rm -rf "$TARGET/root/maverick-desk"
git clone -q "$ROOT" "$TARGET/root/maverick-desk"

Xvfb ":$DISPLAY_NUMBER" -screen 0 1400x900x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; for m in "${mounted[@]}"; do umount "$m" || true; done' EXIT
chroot "$TARGET" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DISPLAY=":$DISPLAY_NUMBER" LANG=C.UTF-8 \
    bash -c 'cd /root/maverick-desk && exec bash scripts/run-app.sh' &
app=$!
for _ in $(seq 600); do  # up to 10 minutes for pip, apt and the first start
    kill -0 "$app" 2>/dev/null || { wait "$app"; exit $?; }
    if DISPLAY=":$DISPLAY_NUMBER" xwininfo -root -tree 2>/dev/null | grep -qi '"maverick desk'; then
        break
    fi
    sleep 1
done
sleep 20  # the worker loads the demo model
DISPLAY=":$DISPLAY_NUMBER" "$ROOT/.venv/bin/python" -c "
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
app.primaryScreen().grabWindow(0).save('$TARGET/../fresh-debian-window.png')
print('the window is open; screenshot: $TARGET/../fresh-debian-window.png')"
kill "$app" 2>/dev/null || true
