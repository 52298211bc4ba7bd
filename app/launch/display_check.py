"""Before Qt starts: is there a display, and can Qt's platform plugin for it load.

Qt's own message for a missing library ("no Qt platform plugin could be initialized")
names neither the library nor the package, and comes after the window was asked for; this
check asks the loader first and says in one sentence what to install.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from app.launch.system_libraries import (
    debian_packages,
    missing_libraries,
    platform_plugin,
    qt_root,
    required_extra,
)

log = logging.getLogger(__name__)

NO_DISPLAY = (
    "There is no display to open the window on ($DISPLAY and $WAYLAND_DISPLAY are unset): "
    "start it from a desktop session, give it a virtual screen with `xvfb-run -a bash "
    "scripts/run-app.sh`, or draw the window into a file with `QT_QPA_PLATFORM=offscreen "
    "maverick-desk --screenshot window.png`."
)


@dataclass(frozen=True)
class LaunchCheck:
    """What the check found: the plugin Qt will use and what it lacks."""

    platform: str  # the plugin checked: "xcb", "wayland", …; "" when there is no display
    qt_platform: str | None  # the value QT_QPA_PLATFORM should get; None leaves it alone
    missing: tuple[str, ...] = ()  # sonames the loader cannot load
    no_display: bool = False

    @property
    def ok(self) -> bool:
        return not self.missing and not self.no_display


def check_launch(environ: Mapping[str, str], root: Path | None = None) -> LaunchCheck:
    """Which platform plugin Qt will use under `environ`, and the libraries it lacks."""
    root = root or qt_root()
    extra = required_extra(dict(environ))

    def lacking(name: str) -> tuple[str, ...]:
        return tuple(missing_libraries(platform_plugin(name, root), extra, root))

    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        name = chosen.split(";")[0].split(":")[0].strip()
        if not platform_plugin(name, root).is_file():
            return LaunchCheck(name, None)  # Qt itself says it knows no such plugin
        return LaunchCheck(name, None, lacking(name))
    x11 = bool(environ.get("DISPLAY"))
    if environ.get("WAYLAND_DISPLAY"):
        wayland_lacks = lacking("wayland")
        if not wayland_lacks:
            return LaunchCheck("wayland", "wayland;xcb" if x11 else "wayland")
        if not x11:
            return LaunchCheck("wayland", None, wayland_lacks)
        log.info("the wayland plugin lacks %s; using X11 (XWayland)", ", ".join(wayland_lacks))
        return LaunchCheck("xcb", "xcb", lacking("xcb"))
    if x11:
        return LaunchCheck("xcb", None, lacking("xcb"))
    return LaunchCheck("", None, no_display=True)


def is_root() -> bool:
    return os.geteuid() == 0


def apt_command(packages: list[str], as_root: bool) -> str:
    """The one command that installs `packages` on Debian or Ubuntu."""
    return ("" if as_root else "sudo ") + "apt-get install -y " + " ".join(packages)


def problem_sentence(check: LaunchCheck, as_root: bool | None = None) -> str | None:
    """One sentence saying what stops the window from opening, or None."""
    if check.no_display:
        return NO_DISPLAY
    if not check.missing:
        return None
    libraries = ", ".join(check.missing)
    start = (
        f"The window cannot open: Qt's {check.platform} platform plugin needs system "
        f"libraries this machine lacks ({libraries}). "
    )
    if shutil.which("apt-get"):
        root = is_root() if as_root is None else as_root
        command = apt_command(debian_packages(check.missing), root)
        return start + f"Install them with `{command}` and start again."
    return start + "Install the packages of your distribution that provide them and start again."


def prepare_qt(
    environ: MutableMapping[str, str], install: bool = False, system: str = sys.platform
) -> str | None:
    """Run the check before Qt starts; sets QT_QPA_PLATFORM for Wayland sessions.

    With `install` (scripts/run-app.sh asks for it), missing Debian/Ubuntu packages are
    installed with apt when root or password-less sudo allows. Returns the sentence to
    print when the window cannot open, else None. Only Linux is checked: macOS and Windows
    have one platform plugin, with no display variable and no system libraries to install.
    """
    if not system.startswith("linux"):
        return None
    check = check_launch(environ)
    if check.qt_platform is not None:
        environ["QT_QPA_PLATFORM"] = check.qt_platform
    if check.ok:
        return None
    if install and check.missing and shutil.which("apt-get") and may_install():
        return install_missing(check, environ)
    return problem_sentence(check)


def may_install() -> bool:
    """Root, or sudo that asks no password."""
    if is_root():
        return True
    if shutil.which("sudo") is None:
        return False
    probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def install_missing(check: LaunchCheck, environ: Mapping[str, str]) -> str | None:
    """Install the packages `check` found missing with apt.

    Returns None when that worked, else the sentence to print.
    """
    packages = debian_packages(check.missing)
    sudo = [] if is_root() else ["sudo", "-n"]
    print(
        f"==> installing the system libraries Qt's {check.platform} plugin needs "
        f"({', '.join(check.missing)}): {' '.join(sudo + ['apt-get', 'install', '-y'])} "
        f"{' '.join(packages)}",
        file=sys.stderr,
    )
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # A fresh container has no package lists yet; `install` alone would find nothing.
    # apt's progress goes to stderr with the rest, so stdout stays the app's.
    subprocess.run([*sudo, "apt-get", "update", "-qq"], env=apt_env, stdout=sys.stderr, check=False)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=apt_env,
        stdout=sys.stderr,
        check=False,
    )
    after = check_launch(environ)
    if after.ok:
        print(f"==> installed {' '.join(packages)}", file=sys.stderr)
        return None
    return f"apt-get did not install everything. {problem_sentence(after)}"
