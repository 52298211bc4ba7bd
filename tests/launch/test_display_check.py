"""The launch check asks the real dynamic loader about the real PySide6 plugins."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.launch.display_check import check_launch, prepare_qt, problem_sentence
from app.launch.elf_needs import ElfError, needed_libraries
from app.launch.system_libraries import (
    EXTRA_ENV,
    debian_package,
    loads,
    missing_libraries,
    platform_plugin,
    qt_root,
    system_needs,
)

ABSENT = "libmaverick-absent.so.7"


def test_the_real_xcb_plugin_needs_are_read_from_its_dynamic_section() -> None:
    plugin = platform_plugin("xcb")
    direct = needed_libraries(plugin)
    assert direct[0] == "libQt6XcbQpa.so.6" and "libxcb.so.1" in direct
    system = system_needs(plugin, qt_root() / "lib")
    # libxcb-cursor is needed by the Qt library the plugin ships with, one level down.
    assert "libxcb-cursor.so.0" in system and "libglib-2.0.so.0" in system
    assert not [name for name in system if name.startswith("libQt6")]


def test_a_file_that_is_not_elf_is_refused_with_a_sentence(tmp_path: Path) -> None:
    text = tmp_path / "libnot.so"
    text.write_text("not a library")
    with pytest.raises(ElfError, match="is not an ELF file"):
        needed_libraries(text)


def test_the_loader_is_asked_for_each_library() -> None:
    assert loads("libc.so.6")
    assert not loads(ABSENT)
    missing = missing_libraries(platform_plugin("offscreen"), [ABSENT, "libc.so.6"])
    assert missing == [ABSENT]


def test_an_absent_library_makes_the_xcb_check_fail_with_the_apt_command() -> None:
    check = check_launch({"DISPLAY": ":9", EXTRA_ENV: ABSENT})
    assert check.platform == "xcb" and ABSENT in check.missing and not check.ok
    assert "libc.so.6" not in check.missing
    sentence = problem_sentence(check, as_root=False)
    assert sentence is not None and f"({', '.join(check.missing)})" in sentence
    if shutil.which("apt-get"):
        assert "`sudo apt-get install -y " in sentence and "libmaverick-absent7" in sentence
        assert "`apt-get install -y " in (problem_sentence(check, as_root=True) or "")
    else:
        assert "packages of your distribution" in sentence


def test_no_display_names_offscreen_and_xvfb_run() -> None:
    environ: dict[str, str] = {}
    sentence = prepare_qt(environ)
    assert sentence is not None
    assert "QT_QPA_PLATFORM=offscreen" in sentence and "xvfb-run" in sentence
    assert environ == {}
    assert prepare_qt({}, system="darwin") is None  # no $DISPLAY there, and none needed


def test_a_chosen_platform_is_checked_and_kept() -> None:
    environ = {"QT_QPA_PLATFORM": "offscreen"}
    assert prepare_qt(environ) is None
    assert environ["QT_QPA_PLATFORM"] == "offscreen"
    failing = check_launch({"QT_QPA_PLATFORM": "offscreen", EXTRA_ENV: ABSENT})
    assert failing.platform == "offscreen" and failing.missing == (ABSENT,)


def test_wayland_sessions_use_the_wayland_plugin_when_it_loads() -> None:
    environ = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    wayland_lacks = missing_libraries(platform_plugin("wayland"))
    check = check_launch(environ)
    if wayland_lacks:  # e.g. no libwayland-cursor: XWayland through xcb instead
        assert (check.platform, check.qt_platform) == ("xcb", "xcb")
    else:
        assert (check.platform, check.qt_platform) == ("wayland", "wayland;xcb")
    alone = check_launch({"WAYLAND_DISPLAY": "wayland-0"})
    assert alone.platform == "wayland" and alone.missing == tuple(wayland_lacks)


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libGL.so.1", "libgl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libz.so.1", "zlib1g"),
    ],
)
def test_sonames_map_to_debian_packages(soname: str, package: str) -> None:
    assert debian_package(soname) == package
