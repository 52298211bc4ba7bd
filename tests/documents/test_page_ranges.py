"""Page ranges as people type them, and the pages picked by default."""

from __future__ import annotations

import pytest

from app.documents.page_ranges import (
    PageRangeError,
    default_pages,
    format_page_ranges,
    parse_page_ranges,
)


@pytest.mark.parametrize(
    ("text", "pages"),
    [
        ("1-3,7", [1, 2, 3, 7]),
        (" 2 , 4 - 5 ", [2, 4, 5]),
        ("7,1-2", [7, 1, 2]),
        ("3,3,2-4", [3, 2, 4]),
        ("10", [10]),
        ("1–2", [1, 2]),  # an en dash, as word processors type it
    ],
)
def test_good_ranges(text: str, pages: list[int]) -> None:
    assert parse_page_ranges(text, 10) == pages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "pages count from 1"),
        ("0-2", "pages count from 1"),
        ("5-2", r"runs backwards; write the lower page first \(2-5\)"),
        ("x", '"x" is not a page or a range of pages'),
        ("1,,2", '"" is not a page'),
        ("-3", '"-3" is not a page'),
        ("1-3-5", '"1-3-5" is not a page'),
        ("", "No pages given"),
        ("11", "the document has 10 pages, so there is no page 11"),
        ("8-12", "the document has 10 pages, so there is no page 12"),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(PageRangeError, match=message):
        parse_page_ranges(text, 10)


def test_one_page_document_says_page() -> None:
    with pytest.raises(PageRangeError, match="has 1 page, so"):
        parse_page_ranges("2", 1)


def test_format_round_trips() -> None:
    assert format_page_ranges([7, 1, 2, 3]) == "1-3,7"
    assert format_page_ranges([4]) == "4"
    assert format_page_ranges([]) == ""
    assert parse_page_ranges(format_page_ranges([1, 3, 4, 5, 9]), 9) == [1, 3, 4, 5, 9]


def test_default_pages_fit_the_budget() -> None:
    assert default_pages(500, 5) == [1, 2, 3, 4, 5]
    assert default_pages(2, 5) == [1, 2]
    assert default_pages(9, 0) == []
