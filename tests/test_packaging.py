"""Packaging: the desktop entry, the metainfo, and a wheel that carries the resources."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from app.desktop_integration import APP_ID, install, uninstall
from app.paths import packaged_file

ROOT = Path(__file__).resolve().parent.parent


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_has_required_keys() -> None:
    entry = _desktop_entry(packaged_file("packaging", f"{APP_ID}.desktop"))
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Maverick Desk"
    assert entry["Exec"].startswith("maverick-desk")
    assert entry["Icon"] == APP_ID
    assert entry["Categories"].endswith(";")
    assert "application/pdf" in entry["MimeType"]


def test_desktop_entry_validates(tmp_path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    files = install(data_home=tmp_path, executable="/opt/maverick/bin/maverick-desk")
    if validator:
        result = subprocess.run([validator, str(files.desktop)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    entry = _desktop_entry(files.desktop)
    assert entry["Exec"] == "/opt/maverick/bin/maverick-desk %F"


def test_metainfo_is_appstream() -> None:
    root = ET.parse(packaged_file("packaging", f"{APP_ID}.metainfo.xml")).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"  # type: ignore[union-attr]
    for key in ("name", "summary", "metadata_license", "project_license"):
        assert (root.findtext(key) or "").strip(), key


def test_install_and_uninstall(tmp_path: Path) -> None:
    files = install(data_home=tmp_path)
    assert all(path.is_file() for path in files.all())
    assert files.icon.read_text().startswith("<?xml")
    assert sorted(uninstall(data_home=tmp_path)) == sorted(files.all())
    assert not any(path.exists() for path in files.all())
    assert uninstall(data_home=tmp_path) == []


def test_cli_install_desktop_entry(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "app", "install-desktop-entry"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "applications" / f"{APP_ID}.desktop").is_file()
    result = subprocess.run(
        [*cmd, "--uninstall"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 0 and "removed" in result.stdout
    assert not (tmp_path / "applications" / f"{APP_ID}.desktop").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    return next(out.glob("*.whl"))


def test_wheel_carries_resources_and_every_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "app/resources/maverick-desk.svg" in names
    assert f"app/desktop_files/{APP_ID}.desktop" in names
    assert f"app/desktop_files/{APP_ID}.metainfo.xml" in names
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "maverick-desk = app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
