"""Splitting streamed Markdown into finished blocks and a live tail."""

from __future__ import annotations

import random

from app.ui.markdown.markdown_stream import MarkdownStream

ANSWER = (
    "# Title\n\nFirst paragraph\ncontinues here.\n\n"
    "```python\ndef f():\n\n    return 1\n\nx = 2\n```\n\n"
    "- item one\n\n  still item one\n- item two\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "~~~~\n```\nnot a close\n~~~~\n\nLast words"
)


def _feed(text: str, sizes: list[int]) -> tuple[list[str], MarkdownStream]:
    stream = MarkdownStream()
    blocks: list[str] = []
    position = 0
    for size in sizes:
        stream.append(text[position : position + size])
        position += size
        blocks.extend(stream.take_finished())
    stream.append(text[position:])
    blocks.extend(stream.take_finished())
    return blocks, stream


def test_blocks_and_tail_add_up_to_the_text_whatever_the_chunking() -> None:
    rng = random.Random(7)
    for _ in range(50):
        sizes = [rng.randint(1, 9) for _ in range(60)]
        blocks, stream = _feed(ANSWER, sizes)
        assert "".join(blocks) + stream.tail == ANSWER
        assert blocks == _feed(ANSWER, [len(ANSWER)])[0]


def test_fences_and_list_continuations_are_never_split() -> None:
    blocks, stream = _feed(ANSWER, [3] * 200)
    assert blocks[2].startswith("```python") and blocks[2].rstrip().endswith("```")
    assert "return 1" in blocks[2] and "x = 2" in blocks[2]
    assert blocks[3].startswith("- item one") and "still item one" in blocks[3]
    assert blocks[4].startswith("| a | b |")
    # A block ends only when the next one has a complete first line.
    assert stream.tail.startswith("~~~~\n```\nnot a close")
    stream.append("\n")
    assert stream.take_finished() == ["~~~~\n```\nnot a close\n~~~~\n\n"]
    assert stream.tail == "Last words\n"


def test_close_finishes_the_tail() -> None:
    stream = MarkdownStream()
    stream.append("one\n\ntwo")
    assert stream.take_finished() == []  # "two" may still become "two-thirds"…
    stream.append("\n")
    assert stream.take_finished() == ["one\n\n"]
    stream.close()
    assert stream.take_finished() == ["two\n"]
    assert stream.tail == ""
    assert stream.text == "one\n\ntwo\n"
