"""The one rule and the one sentence for files a newer Maverick Desk wrote."""

from __future__ import annotations

from pathlib import Path

from app.storage.versioned import is_newer, newer_version_sentence


def test_only_a_higher_or_unreadable_version_is_newer() -> None:
    assert not is_newer(None, 1)  # no version written: the first format
    assert not is_newer(1, 1) and not is_newer("1", 1)  # INI files read back strings
    assert is_newer(2, 1) and is_newer("2", 1)
    assert is_newer("two", 1)  # unreadable: left alone, never rewritten


def test_the_sentence_names_the_file_the_versions_and_what_to_do() -> None:
    sentence = newer_version_sentence(Path("/data/settings.ini"), 3, 1, "settings format")
    assert sentence == (
        "/data/settings.ini was written by a newer version of Maverick Desk (settings format "
        "3; this version reads up to 1). It was left untouched; update Maverick Desk to use it."
    )
