"""Finding tables block by block gives what parsing the whole answer gives."""

from __future__ import annotations

import pytest

from app.documents.csv_blocks import find_csv_blocks
from app.ui.transcript.table_finder import (
    PARSE_NOW_CHARS,
    TableFinder,
    candidate_blocks,
    find_tables,
)

from .test_table_actions import ANSWER


@pytest.mark.parametrize(
    "answer",
    [
        ANSWER,
        "\n\n" + ANSWER,  # leading blank lines
        "- item\n\n  | a | b |\n  | - | - |\n  | 1 | 2 |\n\nafter\n",  # a table in a list
        "```python\nx = '| not | a table |'\n\n| a | b |\n| - | - |\n```\n\n" + ANSWER,
        "> | q | r |\n> | - | - |\n> | 1 | 2 |\n\n```csv\na,b\n1,2\n",  # unclosed fence
        "No tables at all.\n\nJust text | with a pipe.\n",
    ],
    ids=["plain", "leading-blank", "in-list", "in-code", "quote-and-open-fence", "none"],
)
def test_block_by_block_search_finds_what_a_whole_parse_finds(answer: str) -> None:
    assert find_tables(candidate_blocks(answer)) == find_csv_blocks(answer)


def _chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_a_streaming_answer_is_searched_as_its_blocks_finish() -> None:
    sections = [
        f"## Part {n}\n\n| q | value |\n| - | - |\n| Q{n} | {n} |\n\ntext\n\n" for n in range(6)
    ]
    answer = "".join(sections) + ANSWER
    finder = TableFinder()
    for chunk in _chunks("".join(sections)):
        finder.append(chunk)
    assert len(finder.found) == 6  # parsed while it streamed, before the end
    for chunk in _chunks(ANSWER):
        finder.append(chunk)
    left = finder.close()
    assert all("```csv" in block or "Region" in block for _, block in left)  # only the tail
    assert sorted(finder.found + find_tables(left), key=lambda b: b.first_line) == (
        find_csv_blocks(answer)
    )


def test_a_long_block_waits_for_the_end() -> None:
    table = "| a | b |\n| - | - |\n" + "".join(f"| {i} | {i} |\n" for i in range(600))
    assert len(table) > PARSE_NOW_CHARS
    finder = TableFinder()
    for chunk in _chunks(table + "\nAfter the table.\n\nMore.\n", 50):
        finder.append(chunk)
    assert finder.found == [] and [line for line, _ in finder.left] == [0]
    assert find_tables(finder.close()) == find_csv_blocks(table)
