"""Quick actions: defaults, edits saved atomically with a version, newer files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.documents.quick_actions import (
    DEFAULT_QUICK_ACTIONS,
    QuickAction,
    QuickActionError,
    load_quick_actions,
    quick_actions_path,
    reset_quick_actions,
    save_quick_actions,
)


def test_defaults_then_edits_round_trip(data_dir: Path) -> None:
    actions = load_quick_actions()
    assert [a.title for a in actions] == [
        "Extract the table as CSV",
        "Summarise this page",
        "Describe this chart",
        "Transcribe the text",
    ]
    assert "```csv" in actions[0].prompt
    actions[1] = QuickAction("Résumé", "Résume cette page en trois points.")
    actions.append(QuickAction("Find totals", "List every total on this page."))
    save_quick_actions(actions)
    path = quick_actions_path()
    assert path.parent == data_dir
    body = json.loads(path.read_text(encoding="utf-8"))
    assert (body["format"], body["version"]) == ("maverick-desk.quick-actions", 1)
    assert load_quick_actions() == actions
    assert not list(data_dir.glob(".*.tmp"))
    assert reset_quick_actions() == list(DEFAULT_QUICK_ACTIONS)
    assert not path.exists()


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([QuickAction(" ", "x")], "Quick action 1 has no title"),
        ([QuickAction("A", "  ")], 'Quick action "A" has an empty prompt'),
        ([QuickAction("A", "x"), QuickAction("a", "y")], 'Two quick actions are called "a"'),
        ([QuickAction("T" * 41, "x")], "longer than 40 characters"),
        ([QuickAction(f"A{i}", "x") for i in range(25)], "25 quick actions; at most 24"),
    ],
)
def test_bad_actions_are_refused(actions: list[QuickAction], message: str) -> None:
    with pytest.raises(QuickActionError, match=message):
        save_quick_actions(actions)
    assert not quick_actions_path().exists()


def test_newer_file_is_refused_and_left_alone() -> None:
    path = quick_actions_path()
    path.parent.mkdir(parents=True)
    text = json.dumps({"format": "maverick-desk.quick-actions", "version": 2, "actions": []})
    path.write_text(text)
    with pytest.raises(QuickActionError, match="newer version of Maverick Desk"):
        load_quick_actions()
    assert path.read_text() == text


def test_damaged_file() -> None:
    path = quick_actions_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(QuickActionError, match="cannot be read .* delete the file"):
        load_quick_actions()
