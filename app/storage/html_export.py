"""A conversation as one self-contained HTML file: images inline, no scripts, nothing remote."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from app.storage.atomic import atomic_write_text
from app.storage.export_labels import (
    display_title,
    message_heading,
    other_versions_line,
    readable_time,
    tool_call_lines,
    tool_turn_heading,
)
from app.storage.json_export import read_stored_image
from app.storage.records import Attachment, ToolTurn
from app.storage.store import ConversationStore

# The policy forbids scripts, remote images, fonts and frames even if a browser
# found a way to read something in the text as markup (it is all escaped anyway).
CONTENT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 50em; margin: 2em auto; padding: 0 1em;
       color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5em; }
.meta { color: #666; }
.message { margin: 1.2em 0; padding: 0.8em 1em; border-radius: 8px; }
.user { background: #eef3fb; }
.assistant { background: #f5f5f5; }
.who { font-weight: 600; font-size: 0.9em; color: #444; margin-bottom: 0.4em; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
details.tool { margin: 0.4em 0; padding: 0.3em 0.6em; border-left: 3px solid #8a8fa0; }
details.tool.error { border-left-color: #c0392b; }
details.tool pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.9em; }
img { max-width: 100%; height: auto; display: block; margin-top: 0.6em; border-radius: 4px; }
"""


def _image(store: ConversationStore, a: Attachment, encoded: dict[str, str]) -> str:
    if a.sha256 not in encoded:
        data = read_stored_image(store, a.sha256, a.mime)
        encoded[a.sha256] = base64.b64encode(data).decode("ascii")
    return (
        f'<img alt="{escape(a.name)}" width="{a.width}" height="{a.height}" '
        f'src="data:{a.mime};base64,{encoded[a.sha256]}">'
    )


def _tool_turn_parts(
    store: ConversationStore, turn: ToolTurn, encoded: dict[str, str]
) -> list[str]:
    """A tool turn as a closed <details> block: the calls, or the result and its images."""
    error = " error" if turn.is_error else ""
    parts = [f'<details class="tool{error}"><summary>{escape(tool_turn_heading(turn))}</summary>']
    if turn.role == "assistant":
        if turn.text.strip():
            parts.append(f'<div class="text">{escape(turn.text)}</div>')
        parts.append(f"<pre>{escape(chr(10).join(tool_call_lines(turn)))}</pre>")
    else:
        if turn.text:
            parts.append(f"<pre>{escape(turn.text)}</pre>")
        parts += [_image(store, a, encoded) for a in turn.images]
    return [*parts, "</details>"]


def html_text(store: ConversationStore, conversation_id: int) -> str:
    conversation = store.load_conversation(conversation_id)
    title = escape(display_title(conversation.title))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        f'<p class="meta">Exported from Maverick Desk. Started '
        f"{escape(readable_time(conversation.created))}, "
        f"{len(conversation.messages)} messages.</p>",
    ]
    if conversation.other_versions:
        parts.append(
            f'<p class="meta">{escape(other_versions_line(conversation.other_versions))}</p>'
        )
    encoded: dict[str, str] = {}
    for message in conversation.messages:
        parts.append(
            f'<section class="message {message.role.value}" id="message-{message.position}">'
        )
        parts.append(f'<div class="who">{escape(message_heading(message))}</div>')
        for turn in message.tool_turns:  # the tools came before the answer's prose
            parts += _tool_turn_parts(store, turn, encoded)
        parts.append(f'<div class="text">{escape(message.text)}</div>')
        parts += [_image(store, a, encoded) for a in message.attachments]
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def export_html(store: ConversationStore, conversation_id: int, out: Path) -> Path:
    """Write the HTML file atomically."""
    atomic_write_text(Path(out), html_text(store, conversation_id), "write the HTML export")
    return Path(out)
