"""Code highlighting in slices: the streaming tail lexes only its newest lines, a finished
block is highlighted a few milliseconds a turn, and what ends on screen is the whole
block's highlighting."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from app.ui.markdown import markdown_html
from app.ui.markdown.markdown_html import (
    STREAM_CHUNK_LINES,
    HighlightJob,
    highlight_jobs,
    render_markdown,
)
from app.ui.markdown.markdown_view import MarkdownView
from app.ui.markdown.safe_browser import SafeTextBrowser

CODE = "".join(
    f'def quarter_{i}(rows: list[dict]) -> float:\n    """Sum {i}."""\n'
    f"    return round(sum(r['revenue'] for r in rows) / {i + 1}, 2)  # q{i}\n\n"
    for i in range(20)
)


class CountingLexer:
    """The real lexer, counting the characters it is given."""

    def __init__(self, lexer: Any) -> None:
        self.lexer = lexer
        self.chars = 0

    def get_tokens(self, code: str) -> Iterator[Any]:
        self.chars += len(code)
        return self.lexer.get_tokens(code)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingLexer:
    real = markdown_html._lexer("python")
    counter = CountingLexer(real)
    monkeypatch.setattr(markdown_html, "_lexer", lambda name: counter if name == "python" else None)
    markdown_html._kept_piece.cache_clear()
    markdown_html._HIGHLIGHTED.clear()
    return counter


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _code_html(rendered_html: str) -> str:
    return rendered_html.split('<pre class="code">', 1)[1].split("</pre>", 1)[0]


def test_the_streaming_tail_lexes_only_its_newest_lines(counting: CountingLexer) -> None:
    lines = CODE.splitlines(keepends=True)
    largest = 0
    for shown in range(1, len(lines) + 1):
        before = counting.chars
        tail = "```python\n" + "".join(lines[:shown])
        rendered = render_markdown(tail, streaming=True)
        largest = max(largest, counting.chars - before)
        assert _text(_code_html(rendered.html)) == "".join(lines[:shown]).rstrip("\n")
    # A drawing lexes at most one new piece and the lines after it, never the whole block
    # (the block is 80 lines; lexing it all for every line would be ~40 times as much).
    piece = max(len("".join(lines[i : i + STREAM_CHUNK_LINES])) for i in range(len(lines)))
    assert largest <= 2 * piece < len(CODE) / 2
    every_time = sum(len("".join(lines[:shown])) for shown in range(1, len(lines) + 1))
    assert counting.chars < every_time / 5


def test_a_finished_block_is_highlighted_whole(counting: CountingLexer) -> None:
    code = "x = '''a\n" + "\n" * STREAM_CHUNK_LINES + "def still_in_the_string():\n'''\n"
    streamed = render_markdown("```python\n" + code, streaming=True).html
    finished = render_markdown("```python\n" + code + "```\n").html
    assert _text(_code_html(streamed)) == _text(_code_html(finished)) == code.rstrip("\n")
    # the piece boundary splits the string while streaming; the finished block knows better
    assert '<span style="color:#007020;font-weight:bold">def </span>' in streamed
    assert "def </span>" not in finished


def test_a_job_in_slices_gives_what_a_whole_highlight_gives(counting: CountingLexer) -> None:
    whole = render_markdown("```python\n" + CODE + "```\n").html
    markdown_html._HIGHLIGHTED.clear()
    [job] = highlight_jobs("```python\n" + CODE + "```\n")
    steps = 1
    while not job.step(0.0):  # one run of tokens a step
        steps += 1
    assert steps > 100
    lexed = counting.chars
    assert render_markdown("```python\n" + CODE + "```\n").html == whole
    assert counting.chars == lexed  # the job's result was used, not lexed again
    assert highlight_jobs("```python\n" + CODE + "```\n") == []
    assert highlight_jobs("text only, `inline` code\n\n```\nno language\n```\n") == []
    assert isinstance(job, HighlightJob) and job.done


def test_a_view_shows_a_long_code_block_only_once_it_is_highlighted_whole(
    qtbot: Any, counting: CountingLexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    view = MarkdownView(host)
    steps = 0
    real_step = HighlightJob.step

    def step(job: HighlightJob, budget_s: float) -> bool:
        nonlocal steps
        steps += 1
        return real_step(job, 0.0005)

    monkeypatch.setattr(HighlightJob, "step", step)
    drawn: list[str] = []
    real_set = SafeTextBrowser.setHtml
    monkeypatch.setattr(
        SafeTextBrowser, "setHtml", lambda self, text: (drawn.append(text), real_set(self, text))
    )
    code = CODE + "x = '''a\n" + "\n" * STREAM_CHUNK_LINES + "def in_the_string():\n'''\n"
    answer = "Here it is:\n\n```python\n" + code + "```\n\nThat is all."
    view.set_text(answer)
    qtbot.waitUntil(lambda: view.settled)
    assert steps > 1  # spread over turns
    with_code = [text for text in drawn if "quarter_0" in text]
    assert len(with_code) == 1  # drawn once, when it was highlighted whole
    markdown_html._HIGHLIGHTED.clear()
    assert _code_html(render_markdown("```python\n" + code + "```\n").html) in with_code[0]
    assert "def </span>in_the_string" not in with_code[0]
    assert view.plain_text().count("def quarter_") == 20 and "That is all." in view.plain_text()
