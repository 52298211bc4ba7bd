"""Model output to HTML: safe links and images, code blocks, tables, directions."""

from __future__ import annotations

from app.ui.markdown.markdown_html import is_safe_link, render_markdown, render_plain_text


def test_links_survive_only_for_web_and_mail() -> None:
    html = render_markdown(
        "[web](https://example.com) [mail](mailto:a@b.c) [js](javascript:alert(1)) "
        "[file](file:///etc/passwd) [data](data:text/html,hi) [vb](vbscript:x)"
    ).html
    assert '<a href="https://example.com">web</a>' in html
    assert '<a href="mailto:a@b.c">mail</a>' in html
    for bad in ("javascript:", "file:", "data:", "vbscript:"):
        assert f'href="{bad}' not in html


def test_images_never_become_img_tags() -> None:
    html = render_markdown(
        "![remote](https://evil.example/x.png) ![local](file:///etc/hosts) "
        '![rel](picture.png) <img src="http://evil.example/y.png"> '
        "<script>alert(1)</script>"
    ).html
    assert "<img" not in html
    assert "<script" not in html
    assert '<a href="https://evil.example/x.png">[image: remote]</a>' in html
    assert 'href="file:' not in html
    assert "&lt;img" in html  # raw HTML is shown as text, not interpreted


def test_code_blocks_are_highlighted_with_numbered_copy_links() -> None:
    rendered = render_markdown(
        "```python\ndef f():\n    return 1\n```\n\ntext\n\n```\nplain <b>\n```\n", code_base=3
    )
    assert rendered.code_blocks == ["def f():\n    return 1\n", "plain <b>\n"]
    assert 'href="copy-code:3"' in rendered.html
    assert 'href="copy-code:4"' in rendered.html
    assert '<span style="color:#007020;font-weight:bold">def </span>' in rendered.html
    assert "plain &lt;b&gt;" in rendered.html


def test_tables_render() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n").html
    assert '<table class="md"' in html
    assert "<th" in html and "<td" in html


def test_paragraph_direction_follows_first_strong_character() -> None:
    html = render_markdown(
        "مرحبا بالعالم and English\n\nEnglish first مرحبا\n\n123 — नमस्ते\n\n- שלום\n"
    ).html
    assert '<p dir="rtl">مرحبا' in html
    assert '<p dir="ltr">English first' in html
    assert '<p dir="ltr">123 — नमस्ते' in html
    assert '<ul dir="rtl">' in html


def test_plain_text_is_escaped_and_directed() -> None:
    html = render_plain_text("<b>hi</b>\nline\n\nسلام")
    assert html == '<p dir="ltr">&lt;b&gt;hi&lt;/b&gt;<br>line</p><p dir="rtl">سلام</p>'


def test_is_safe_link() -> None:
    assert is_safe_link(" HTTPS://x.org")
    assert not is_safe_link("javascript:alert(1)")
    assert not is_safe_link("file:///x")
    assert not is_safe_link("/relative")
