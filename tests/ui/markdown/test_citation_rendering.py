"""Page citations in an answer become links; a page that was not sent is marked."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from app.documents.citations import UNSENT_NOTE, AnswerSources
from app.ui.look.theme import current_palette
from app.ui.markdown.markdown_html import render_markdown
from app.ui.markdown.markdown_view import MarkdownView
from tests.ui.markdown.anchors import anchors, click_anchor

SOURCES = AnswerSources(("log.pdf",), frozenset({("log.pdf", 2), ("log.pdf", 3)}))


def test_citations_link_outside_code_and_links_and_unsent_pages_are_marked() -> None:
    text = (
        "Replaced in May [p. 2], painted [log p. 9] and [pp. 3-4]. "
        "Not in `[p. 2]` nor in [a link [p. 2]](https://example.org), nor [x p. 2]."
    )
    html = render_markdown(text, citations=SOURCES.find).html
    assert html.count('href="cite:') == 3
    assert '<a class="cite" href="cite:2?doc=log.pdf">[p. 2]</a>' in html
    assert f'<a class="unsent" href="cite:9?doc=log.pdf" title="{UNSENT_NOTE}">' in html
    assert '<a class="cite" href="cite:3?doc=log.pdf">[pp. 3-4]</a>' in html  # a range: one
    assert "<code>[p. 2]</code>" in html and "[x p. 2]" in html
    assert "cite:" not in render_markdown(text).html  # no documents: plain text, as before


def test_a_clicked_citation_is_reported_and_an_unsent_one_looks_different(qtbot: object) -> None:
    view = MarkdownView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(600, 200)
    view.show()
    view.citations = SOURCES.find
    view.set_text("The lamp [p. 2] and the paint [p. 9].")
    qtbot.waitUntil(lambda: view.settled, timeout=30_000)  # type: ignore[attr-defined]
    browser = view.browsers()[0]
    sent, unsent = anchors(browser)
    assert (sent.text, unsent.text) == ("[p. 2]", "[p. 9]")
    assert unsent.tooltip == UNSENT_NOTE and sent.tooltip == ""
    assert unsent.color.name() == current_palette().danger.lower() != sent.color.name()
    with qtbot.waitSignal(view.link_clicked) as clicked:  # type: ignore[attr-defined]
        click_anchor(qtbot, browser, unsent)
    assert isinstance(clicked.args[0], QUrl)
    assert clicked.args[0].toString() == "cite:9?doc=log.pdf"
