"""How much Markdown is formatted, and how often the streaming tail is drawn again.

Model output is untrusted and may be enormous: a table of thousands of rows takes
QTextDocument seconds to lay out, and the tail of a streaming answer is laid out again
on every frame. So a block past `RICH_CHARS` characters or `RICH_CELLS` table cells is
shown as plain preformatted text (laid out in milliseconds), and the tail waits a few
times as long as its last drawing took before it is drawn again, so the window keeps
most of its time for input however costly the text is.
"""

from __future__ import annotations

import html

from app.ui.markdown.markdown_html import FindCitations, RenderedMarkdown, render_markdown

RICH_CHARS = 20_000
RICH_CELLS = 1_000  # counted as "|" characters: cheap, and close enough for a table
TAIL_COST_FACTOR = 3
PLAIN_NOTE = "Shown as plain text: this part of the answer is too large to format."


def too_large_to_format(block: str) -> bool:
    return len(block) > RICH_CHARS or block.count("|") > RICH_CELLS


def render_block(
    block: str,
    code_base: int = 0,
    code_style: str | None = None,
    streaming: bool = False,
    citations: FindCitations | None = None,
) -> RenderedMarkdown:
    """Markdown as HTML, or, for a block too large to format, escaped plain text.

    `streaming`: the block is the live tail, drawn again as it grows (see render_markdown);
    `citations` finds the page citations to link.
    """
    if not too_large_to_format(block):
        return render_markdown(block, code_base, code_style, streaming, citations)
    return RenderedMarkdown(
        f'<p class="note"><i>{PLAIN_NOTE}</i></p><pre>{html.escape(block)}</pre>'
    )


def tail_delay_ms(frame_ms: int, last_render_ms: float) -> int:
    """The wait before the tail is drawn again: a frame, or more if drawing it is costly."""
    return max(frame_ms, int(last_render_ms * TAIL_COST_FACTOR))
