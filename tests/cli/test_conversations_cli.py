"""`maverick-desk conversations list | export | import` as a script would run them."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from app.storage import ConversationStore, MessageStatus

CLI = [sys.executable, "-m", "app", "conversations"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


def _saved_conversation(data_dir: Path, images: dict[str, Path]) -> int:
    with ConversationStore.open(data_dir) as store:
        cid = store.create_conversation()
        store.add_user_message(cid, "What colour is the circle?", [images["wide"]])
        mid = store.begin_assistant_message(cid)
        store.finish_assistant_message(mid, MessageStatus.COMPLETE, text="Yellow, on blue.")
        trashed = store.create_conversation("thrown away")
        store.move_to_trash(trashed)
    return cid


def test_list_export_and_import_round_trip(
    data_dir: Path, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = _saved_conversation(data_dir, images)
    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].split()[0] == str(cid)
    assert lines[0].endswith("2 msgs  What colour is the circle?")
    trash = run("list", "--trash")
    assert "thrown away" in trash.stdout

    out_json = tmp_path / "c.json"
    exported = run("export", str(cid), "--format", "json", "--out", str(out_json))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == str(out_json)
    html = tmp_path / "c.html"
    assert run("export", str(cid), "--format", "html", "--out", str(html)).returncode == 0
    assert "Yellow, on blue." in html.read_text("utf-8")
    md = tmp_path / "md"
    assert run("export", str(cid), "--format", "md", "--out", str(md)).returncode == 0
    assert "What colour is the circle?" in (md / "conversation.md").read_text("utf-8")
    assert len(list((md / "images").iterdir())) == 1

    imported = run("import", str(out_json))
    assert imported.returncode == 0, imported.stderr
    new_id = int(imported.stdout.split()[-1])
    again = tmp_path / "again.json"
    assert run("export", str(new_id), "--format", "json", "--out", str(again)).returncode == 0
    assert again.read_bytes() == out_json.read_bytes()
    assert len(run("list").stdout.splitlines()) == 2


def test_errors_are_one_line_with_a_non_zero_exit(
    data_dir: Path, images: dict[str, Path], tmp_path: Path
) -> None:
    _saved_conversation(data_dir, images)
    missing = run("export", "404", "--format", "json", "--out", str(tmp_path / "x.json"))
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0
    assert "There is no conversation 404" in missing.stderr
    assert not (tmp_path / "x.json").exists()

    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps({"format": "maverick-desk-conversations", "version": 9}))
    refused = run("import", str(hostile))
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0
    assert "newer version of Maverick Desk" in refused.stderr
    assert "Nothing was imported" in refused.stderr

    bad_format = run("export", "1", "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
    assert bad_format.returncode == 2 and "invalid choice: 'pdf'" in bad_format.stderr


def test_a_newer_database_is_refused_by_the_command_line(data_dir: Path) -> None:
    ConversationStore.open(data_dir).close()
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = (data_dir / "conversations.sqlite3").read_bytes()
    result = run("list")
    assert result.returncode == 1
    assert "newer version of Maverick Desk" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert (data_dir / "conversations.sqlite3").read_bytes() == before


def test_a_damaged_database_is_reported_and_replaced(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "conversations.sqlite3").write_bytes(b"not sqlite at all" * 50)
    result = run("list")
    assert result.returncode == 0
    assert "damaged" in result.stderr and "conversations-damaged-" in result.stderr
    assert "No saved conversations yet." in result.stderr


def _tree(data_dir: Path, images: dict[str, Path]) -> int:
    with ConversationStore.open(data_dir) as store:
        cid = store.create_conversation("Versions")
        store.add_user_message(cid, "Describe it", [images["wide"]])
        a1 = store.begin_assistant_message(cid)
        store.finish_assistant_message(a1, MessageStatus.COMPLETE, text="A circle.\n\nYellow.")
        a1b = store.add_answer_version(a1)
        store.finish_assistant_message(a1b, MessageStatus.STOPPED, text="A yel")
        store.show_version(a1)
        store.add_user_message(cid, "Bigger?")
    return cid


def test_show_prints_the_shown_path_or_every_version(
    data_dir: Path, images: dict[str, Path]
) -> None:
    cid = _tree(data_dir, images)
    shown = run("show", str(cid))
    assert shown.returncode == 0, shown.stderr
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert stamp.sub("T", shown.stdout).splitlines() == [
        f"Versions (conversation {cid}): 3 messages; 1 other version(s), see --all-versions",
        "",
        "[You · T]",
        "Describe it",
        "[image: wide.png, 640x360]",
        "",
        "[Maverick · T · version 1/2]",
        "A circle.",
        "",
        "Yellow.",
        "",
        "[You · T]",
        "Bigger?",
    ]
    tree = run("show", str(cid), "--all-versions")
    assert tree.returncode == 0, tree.stderr
    assert stamp.sub("T", tree.stdout).splitlines() == [
        f"Versions (conversation {cid}): 4 messages, 1 other version(s); * marks the "
        "versions shown, - the others",
        "* 1/1 You · T",
        "    Describe it",
        "    [image: wide.png, 640x360]",
        "  * 1/2 Maverick · T",
        "      A circle.",
        "",
        "      Yellow.",
        "    * 1/1 You · T",
        "        Bigger?",
        "  - 2/2 Maverick · T (stopped)",
        "      A yel",
    ]

    missing = run("show", "999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "maverick-desk conversations: There is no conversation 999; list them with "
        "`maverick-desk conversations list`."
    )


def test_export_and_import_keep_every_version(
    data_dir: Path, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = _tree(data_dir, images)
    first = tmp_path / "tree.json"
    assert run("export", str(cid), "--format", "json", "--out", str(first)).returncode == 0
    imported = run("import", str(first))
    assert imported.returncode == 0, imported.stderr
    new_id = int(imported.stdout.split()[-1])
    again = tmp_path / "again.json"
    assert run("export", str(new_id), "--format", "json", "--out", str(again)).returncode == 0
    assert again.read_bytes() == first.read_bytes()
    assert "- 2/2 Maverick" in run("show", str(new_id), "--all-versions").stdout
    folder = tmp_path / "md"
    assert run("export", str(new_id), "--format", "md", "--out", str(folder)).returncode == 0
    markdown = (folder / "conversation.md").read_text("utf-8")
    assert "1 other version (from Regenerate or Edit) is kept" in markdown
    assert "A yel" not in markdown
