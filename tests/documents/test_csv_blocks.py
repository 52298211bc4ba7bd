"""Tables and csv blocks in an answer become CSV text and .csv files."""

from __future__ import annotations

import csv
from pathlib import Path

from app.documents.csv_blocks import find_csv_blocks, save_csv

ANSWER = """Here is the table from the page:

| Region | Q1 | Note |
|--------|---:|------|
| North  | 12 | **best** quarter |
| South, coast | 7 | has a \\| pipe |

And as CSV:

```csv
Region,Q1
North,12
"South, coast",7

```

Some `code`:

```python
print("not a table")
```
"""


def test_table_and_csv_blocks() -> None:
    blocks = find_csv_blocks(ANSWER)
    assert [block.kind for block in blocks] == ["table", "csv"]
    table, fenced = blocks
    assert table.rows == (
        ("Region", "Q1", "Note"),
        ("North", "12", "best quarter"),
        ("South, coast", "7", "has a | pipe"),
    )
    assert table.shape == (3, 3)
    assert table.csv_text == (
        'Region,Q1,Note\nNorth,12,best quarter\n"South, coast",7,has a | pipe\n'
    )
    assert fenced.rows == (("Region", "Q1"), ("North", "12"), ("South, coast", "7"))
    lines = ANSWER.splitlines()
    assert lines[table.first_line].startswith("| Region")
    assert lines[fenced.first_line] == "```csv"


def test_unfinished_stream_and_tsv() -> None:
    blocks = find_csv_blocks("Partial:\n\n```tsv\na\tb\n1\t2\n")
    assert len(blocks) == 1 and blocks[0].rows == (("a", "b"), ("1", "2"))
    assert find_csv_blocks("No tables here, only | a pipe.") == []


def test_save_csv_opens_in_spreadsheets(tmp_path: Path) -> None:
    block = find_csv_blocks("| Ville | Prix |\n|---|---|\n| Zürich | 12,50 € |\n")[0]
    path = tmp_path / "table.csv"
    save_csv(path, block)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    with open(path, encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [["Ville", "Prix"], ["Zürich", "12,50 €"]]


def test_text_without_pipes_or_csv_fences_is_not_parsed_at_all() -> None:
    from app.documents.csv_blocks import may_hold_csv_blocks

    assert not may_hold_csv_blocks("- item\n" * 1000 + "```python\nprint(1)\n```\n")
    assert may_hold_csv_blocks("a | b\n--|--\n1 | 2\n")
    assert may_hold_csv_blocks("Here:\n\n~~~~ TSV\na\tb\n~~~~\n")
    assert find_csv_blocks("- item\n" * 1000) == []
