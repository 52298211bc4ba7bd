"""Which system libraries a Qt platform plugin needs, and which of them the loader cannot find.

The plugin's own DT_NEEDED list is read (``elf_needs``); the Qt libraries that PySide6 ships
are followed into, and every other library is handed to the dynamic loader (``dlopen``), so
the answer is the loader's, not a list kept here.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
from collections.abc import Iterable
from pathlib import Path

from app.launch.elf_needs import needed_libraries

# Tests (and anyone curious) add sonames here to see the check report them:
# MAVERICK_DESK_REQUIRE_LIBRARIES="libfoo.so.1 libbar.so.2".
EXTRA_ENV = "MAVERICK_DESK_REQUIRE_LIBRARIES"

# Debian names a library package after the soname (policy 8.1); these break the rule.
DEBIAN_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "ld-linux-x86-64.so.2": "libc6",
    "ld-linux-aarch64.so.1": "libc6",
}


class PySideMissing(RuntimeError):
    """PySide6 is not installed in this Python."""


def qt_root() -> Path:
    """PySide6's Qt folder (plugins/ and lib/), found without loading Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        raise PySideMissing(
            "PySide6 is not installed in this Python; run scripts/run-app.sh, which installs it."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def platform_plugin(name: str, root: Path | None = None) -> Path:
    """The file of Qt's platform plugin `name` (xcb, wayland, offscreen, …)."""
    return (root or qt_root()) / "plugins" / "platforms" / f"libq{name}.so"


def system_needs(library: Path, bundled: Path) -> list[str]:
    """Sonames outside `bundled` (PySide6's Qt/lib) that `library` needs.

    Directly or through the Qt libraries it needs; each once, in the order first met.
    """
    seen: set[str] = set()
    found: list[str] = []
    pending = [library]
    while pending:
        for soname in needed_libraries(pending.pop(0)):
            if soname in seen:
                continue
            seen.add(soname)
            shipped = bundled / soname
            if shipped.is_file():
                pending.append(shipped)
            else:
                found.append(soname)
    return found


def loads(soname: str) -> bool:
    """Whether the dynamic loader finds and loads `soname` (and what it needs)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def required_extra(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    return environ.get(EXTRA_ENV, "").split()


def missing_libraries(
    plugin: Path, extra: Iterable[str] = (), root: Path | None = None
) -> list[str]:
    """The sonames that `plugin` (and `extra`) need which the loader cannot load."""
    bundled = (root or qt_root()) / "lib"
    needs = system_needs(plugin, bundled) + [name for name in extra]
    return [soname for soname in dict.fromkeys(needs) if not loads(soname)]


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships `soname`: libxcb-cursor.so.0 → libxcb-cursor0."""
    if soname in DEBIAN_EXCEPTIONS:
        return DEBIAN_EXCEPTIONS[soname]
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\..*)?", soname)
    if match is None:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def debian_packages(sonames: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(debian_package(soname) for soname in sonames))
