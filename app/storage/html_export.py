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
)
from app.storage.json_export import read_stored_image
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
img { max-width: 100%; height: auto; display: block; margin-top: 0.6em; border-radius: 4px; }
"""


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
        parts.append(f'<div class="text">{escape(message.text)}</div>')
        for a in message.attachments:
            if a.sha256 not in encoded:
                data = read_stored_image(store, a.sha256, a.mime)
                encoded[a.sha256] = base64.b64encode(data).decode("ascii")
            parts.append(
                f'<img alt="{escape(a.name)}" width="{a.width}" height="{a.height}" '
                f'src="data:{a.mime};base64,{encoded[a.sha256]}">'
            )
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def export_html(store: ConversationStore, conversation_id: int, out: Path) -> Path:
    """Write the HTML file atomically."""
    atomic_write_text(Path(out), html_text(store, conversation_id), "write the HTML export")
    return Path(out)
