"""Model output (untrusted Markdown) to the HTML subset a QTextDocument shows.

Plain Python, no Qt. markdown-it-py with raw HTML switched off, tables and strikethrough
on; code fences highlighted by Pygments with a Copy link per block; every paragraph,
heading, list and cell carries ``dir`` from its first strong character.

Nothing in the output can make the document fetch anything: links survive only for
``http``, ``https`` and ``mailto`` (they open in the browser when clicked), and images
become a text label (with a link for web addresses), never an ``<img>``.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from pygments.lexer import Lexer

from app.documents.citations import UNSENT_NOTE, Citation, cite_url
from app.ui.markdown.text_direction import first_strong_direction

FindCitations = Callable[[str], list[Citation]]  # page citations in a piece of text

SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")
COPY_CODE_SCHEME = "copy-code"
_DIRECTED_BLOCKS = frozenset(
    {
        "paragraph_open",
        "heading_open",
        "bullet_list_open",
        "ordered_list_open",
        "list_item_open",
        "blockquote_open",
        "th_open",
        "td_open",
    }
)


@dataclass
class RenderedMarkdown:
    """HTML for a QTextDocument, and the code blocks its Copy links refer to."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


def is_safe_link(url: str) -> bool:
    """Whether a link may be shown as clickable: web and mail addresses only."""
    return url.strip().lower().startswith(SAFE_LINK_SCHEMES)


def render_markdown(
    text: str,
    code_base: int = 0,
    code_style: str | None = None,
    streaming: bool = False,
    citations: FindCitations | None = None,
) -> RenderedMarkdown:
    """Render `text`; Copy links number code blocks from `code_base` on.

    `code_style` names the Pygments style of code blocks (the theme's; default `CODE_STYLE`).
    `streaming`: `text` is the live tail of an answer, drawn again as it grows, so its
    code is highlighted in pieces that are kept between drawings (see `_highlight_streaming`).
    `citations` finds page citations (`[p. 12]`) in the answer's text: each becomes a
    `cite:` link, marked when the page was not sent (see `app.documents.citations`).
    """
    env: dict[str, Any] = {
        "code_blocks": [],
        "code_base": code_base,
        "code_style": code_style or CODE_STYLE,
        "streaming": streaming,
        "citations": citations,
    }
    body = _markdown().render(text, env)
    return RenderedMarkdown(body, env["code_blocks"])


def render_plain_text(text: str) -> str:
    """A user's message as HTML: escaped, paragraphs by blank lines, each with its direction."""
    parts = []
    for paragraph in text.replace("\r\n", "\n").split("\n\n"):
        if not paragraph.strip():
            continue
        body = html.escape(paragraph).replace("\n", "<br>")
        parts.append(f"<p{_dir_attr(paragraph)}>{body}</p>")
    return "".join(parts)


def _dir_attr(text: str) -> str:
    direction = first_strong_direction(text)
    return f' dir="{direction}"' if direction else ""


# ------------------------------------------------------------------ the parser


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.core.ruler.push("paragraph_direction", _set_directions)
    md.core.ruler.push("page_citations", _link_citations)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_fence)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("table_open", _render_table_open)
    return md


def _validate_link(url: str) -> bool:
    return is_safe_link(url)


def _set_directions(state: StateCore) -> None:
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type not in _DIRECTED_BLOCKS:
            continue
        text = _first_inline_text(tokens, i)
        direction = first_strong_direction(text) if text else None
        if direction:
            token.attrSet("dir", direction)


def _link_citations(state: StateCore) -> None:
    """Turn page citations in plain text (not in code, not in links) into `cite:` links."""
    find: FindCitations | None = state.env.get("citations")
    if find is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children or "p" not in block.content:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            in_link += token.nesting if token.type in ("link_open", "link_close") else 0
            found = find(token.content) if token.type == "text" and not in_link else []
            children.extend(_split_citations(token, found) if found else [token])
        block.children = children


def _split_citations(token: Token, found: list[Citation]) -> list[Token]:
    text = token.content
    pieces: list[Token] = []
    at = 0
    for citation in found:
        if citation.start < at:
            continue  # a range [pp. 3-4]: one link, to its first page
        # A range counts as sent when any of its pages went.
        sent = any(c.sent for c in found if c.start == citation.start)
        if citation.start > at:
            pieces.append(Token("text", "", 0, content=text[at : citation.start]))
        href = cite_url(citation.document or "", citation.page)
        pieces.append(Token("link_open", "a", 1, attrs={"href": href}, meta={"sent": sent}))
        pieces.append(Token("text", "", 0, content=text[citation.start : citation.end]))
        pieces.append(Token("link_close", "a", -1))
        at = citation.end
    if at < len(text):
        pieces.append(Token("text", "", 0, content=text[at:]))
    return pieces


def _first_inline_text(tokens: Sequence[Token], start: int) -> str:
    level = tokens[start].level
    for token in tokens[start + 1 :]:
        if token.type == "inline":
            return token.content
        if token.level <= level and token.nesting == -1:
            return ""
    return ""


# ------------------------------------------------------------------ render rules


def _render_fence(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]
) -> str:
    token = tokens[idx]
    code = token.content
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    blocks: list[str] = env.setdefault("code_blocks", [])
    number = env.get("code_base", 0) + len(blocks)
    blocks.append(code)
    label = html.escape(language or "code")
    highlight = _highlight_streaming if env.get("streaming") else _highlight
    highlighted = highlight(code.rstrip("\n"), language, env.get("code_style", CODE_STYLE))
    return (
        '<table class="code" width="100%" cellspacing="0" cellpadding="0" dir="ltr">'
        '<tr><td class="code-head">'
        f'<span class="code-lang">{label}</span></td>'
        f'<td class="code-head" align="right"><a class="copy" href="{COPY_CODE_SCHEME}:{number}">'
        "Copy</a></td></tr>"
        f'<tr><td class="code-body" colspan="2"><pre class="code">{highlighted}</pre></td></tr>'
        "</table>\n"
    )


def _render_image(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]
) -> str:
    token = tokens[idx]
    alt = html.escape(token.content or "image")
    src = str(token.attrGet("src") or "")
    if is_safe_link(src) and not src.lower().startswith("mailto:"):
        return f'<a href="{html.escape(src)}">[image: {alt}]</a>'
    return f"[image: {alt}]"


def _render_link_open(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]
) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if "sent" in token.meta:  # a page citation (see _link_citations)
        if token.meta["sent"]:
            return f'<a class="cite" href="{html.escape(href)}">'
        return f'<a class="unsent" href="{html.escape(href)}" title="{UNSENT_NOTE}">'
    if not is_safe_link(href):
        return "<a>"
    return f'<a href="{html.escape(href)}">'


def _render_table_open(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]
) -> str:
    return (
        '<table class="md" border="1" cellspacing="0" cellpadding="0" '
        'style="border-collapse: collapse;">\n'
    )


# ------------------------------------------------------------------ code highlighting

CODE_STYLE = "friendly"


def _highlight(code: str, language: str, code_style: str = CODE_STYLE) -> str:
    """Highlighted code with inline styles, one span per run of same-styled tokens.

    Qt's HTML import is slow per element and slower still per CSS class rule, so this
    writes as few spans as it can: unstyled tokens are bare text and whitespace joins
    whatever run it sits in.
    """
    key = (code, language, code_style)
    done = _HIGHLIGHTED.get(key)
    if done is None:
        done = _highlighted_runs(code, language, code_style).rstrip("\n")
        _keep_highlighted(key, done)
    else:
        _HIGHLIGHTED.move_to_end(key)
    return done


# Finished code blocks' highlighting, most recent last: a block is drawn again when the
# theme changes and when a view is rebuilt, and `HighlightJob` leaves its result here.
_HIGHLIGHTED: OrderedDict[tuple[str, str, str], str] = OrderedDict()
HIGHLIGHTED_KEPT = 64


def _keep_highlighted(key: tuple[str, str, str], html_text: str) -> None:
    _HIGHLIGHTED[key] = html_text
    _HIGHLIGHTED.move_to_end(key)
    while len(_HIGHLIGHTED) > HIGHLIGHTED_KEPT:
        _HIGHLIGHTED.popitem(last=False)


class HighlightJob:
    """`_highlight` of one code block, done a slice at a time.

    So that a large block does not hold the window: `step` lexes for at most its budget,
    and once `done` the result is where `_highlight` finds it.
    """

    def __init__(self, code: str, language: str, code_style: str) -> None:
        self._key = (code, language, code_style)
        self._runs = _highlighted_run_parts(code, language, code_style)
        self._out: list[str] = []
        self.done = False

    def step(self, budget_s: float) -> bool:
        """Lex for up to `budget_s` seconds; whether the block is highlighted now."""
        deadline = time.perf_counter() + budget_s
        for part in self._runs:
            self._out.append(part)
            if time.perf_counter() >= deadline:
                return False
        if not self.done:
            self.done = True
            _keep_highlighted(self._key, "".join(self._out).rstrip("\n"))
        return True


def highlight_jobs(block: str, code_style: str | None = None) -> list[HighlightJob]:
    """The code blocks of `block` that `render_markdown` would still have to highlight."""
    style = code_style or CODE_STYLE
    jobs = []
    for token in _markdown().parse(block):
        if token.type not in ("fence", "code_block"):
            continue
        info = token.info.strip()
        language = info.split(maxsplit=1)[0] if info else ""
        code = token.content.rstrip("\n")
        if _lexer(language.lower()) is not None and (code, language, style) not in _HIGHLIGHTED:
            jobs.append(HighlightJob(code, language, style))
    return jobs


# Lines of streamed code highlighted together. Pygments takes about 7 ms for 900
# characters of Python on a slow core, and the tail of an answer is drawn ~30 times a
# second: lexing all of an open code block each time blocked the window for that long.
STREAM_CHUNK_LINES = 8


def _highlight_streaming(code: str, language: str, code_style: str = CODE_STYLE) -> str:
    """`_highlight` for code that is still arriving, lexed a piece at a time.

    Each piece of STREAM_CHUNK_LINES whole lines is lexed once and kept, so a drawing
    lexes only the newest lines.

    Each piece starts from the lexer's first state, so a construct that spans pieces (a
    long string) may be coloured wrongly until the block is finished; finished blocks are
    highlighted whole by `_highlight`.
    """
    if _lexer(language.lower()) is None:
        return html.escape(code)
    lines = code.splitlines(keepends=True)
    whole = len(lines) - len(lines) % STREAM_CHUNK_LINES
    if whole == len(lines) and lines and not lines[-1].endswith("\n"):
        whole -= STREAM_CHUNK_LINES  # the last line is still being written
    pieces = [
        _kept_piece("".join(lines[i : i + STREAM_CHUNK_LINES]), language, code_style)
        for i in range(0, whole, STREAM_CHUNK_LINES)
    ]
    pieces.append(_highlighted_runs("".join(lines[whole:]), language, code_style))
    return "".join(pieces).rstrip("\n")


@lru_cache(maxsize=256)
def _kept_piece(code: str, language: str, code_style: str) -> str:
    return _highlighted_runs(code, language, code_style)


def _highlighted_runs(code: str, language: str, code_style: str) -> str:
    return "".join(_highlighted_run_parts(code, language, code_style))


def _highlighted_run_parts(code: str, language: str, code_style: str) -> Iterator[str]:
    """The HTML of `_highlighted_runs`, a run of same-styled tokens at a time, as lexed."""
    lexer = _lexer(language.lower())
    if lexer is None:
        yield html.escape(code)
        return
    run: list[str] = []
    run_style = ""
    for token_type, value in lexer.get_tokens(code):
        if value.isspace():
            run.append(value)
            continue
        style = _inline_style(code_style, token_type)
        if style != run_style:
            if run:
                yield _run_html(run, run_style)
                run = []
            run_style = style
        run.append(value)
    if run:
        yield _run_html(run, run_style)


def _run_html(run: list[str], style: str) -> str:
    text = html.escape("".join(run))
    return f'<span style="{style}">{text}</span>' if style else text


@lru_cache(maxsize=1024)
def _inline_style(code_style: str, token_type: Any) -> str:
    from pygments.styles import get_style_by_name

    style = get_style_by_name(code_style).style_for_token(token_type)
    parts = []
    if style.get("color"):
        parts.append(f"color:#{style['color']}")
    if style.get("bold"):
        parts.append("font-weight:bold")
    if style.get("italic"):
        parts.append("font-style:italic")
    return ";".join(parts)


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    if not language:
        return None
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def preload_highlighting(languages: Sequence[str], code_styles: Sequence[str]) -> None:
    """Look up these lexers and every token's style now, so later renders find them cached."""
    from pygments.token import STANDARD_TYPES

    for language in languages:
        _lexer(language.lower())
    for code_style in code_styles:
        for token_type in STANDARD_TYPES:
            _inline_style(code_style, token_type)
