"""Tool results from MCP content blocks: malformed parts become sentences, text is capped."""

from __future__ import annotations

import base64

from app.tools.results import from_mcp_content, truncate

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nrest").decode()


def test_text_images_and_resources() -> None:
    result = from_mcp_content(
        [
            {"type": "text", "text": "one"},
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "two"}},
            {"type": "resource_link", "uri": "file:///b.txt", "name": "b"},
        ]
    )
    assert result.text == "one\ntwo\n[resource file:///b.txt]"
    assert result.images[0].mime_type == "image/png"
    assert result.images[0].data.startswith(b"\x89PNG")
    assert not result.is_error and not result.notices


def test_malformed_parts_are_sentences_not_crashes() -> None:
    result = from_mcp_content(
        [
            {"type": "image", "data": "not base64!!", "mimeType": "image/png"},
            {"type": "image", "data": PNG, "mimeType": "text/html"},
            {"type": "audio", "data": PNG, "mimeType": "audio/wav"},
            {"type": "text", "text": 5},
            "just a string",
            {"type": "text", "text": "kept"},
        ]
    )
    assert result.images == ()
    assert result.text.startswith("kept\n")
    assert "Image 1 of the tool's result is not valid base64; left out." in result.text
    assert "Image 2 of the tool's result has no image type; left out." in result.text
    assert "Part 3 of the tool's result has a form the app cannot read (audio)" in result.text
    assert "Part 4" in result.text and "Part 5" in result.text and "(str)" in result.text
    assert len(result.notices) == 5


def test_structured_content_when_there_is_no_text() -> None:
    result = from_mcp_content([], structured={"temperature": 21.5})
    assert result.text == '{"temperature": 21.5}'


def test_truncation_says_how_much_was_left_out() -> None:
    text, cut = truncate("abcdefghij", 4)
    assert cut and text.startswith("abcd\n[The tool's result was cut here: 6 more characters")
    assert truncate("abc", 4) == ("abc", False)
    result = from_mcp_content([{"type": "text", "text": "y" * 30_000}], limit=10_000)
    assert result.truncated and "20,000 more characters of 30,000" in result.text
