"""Saved conversations: SQLite database, image store, search, export and import.

No Qt and no torch here (an import-linter contract checks it): the window and the
command line both use `ConversationStore`.
"""

from app.storage.errors import ImportFileError, NewerVersionError, StorageError
from app.storage.html_export import export_html
from app.storage.json_export import export_json
from app.storage.json_import import import_json
from app.storage.markdown_export import export_markdown
from app.storage.records import (
    Attachment,
    Conversation,
    ConversationSummary,
    ConversationTree,
    Message,
    MessageStatus,
    Role,
    SearchHit,
    Siblings,
)
from app.storage.search import HIT_END, HIT_START, hit_segments
from app.storage.store import ConversationStore
from app.storage.writer import StoreWriter

__all__ = [
    "HIT_END",
    "HIT_START",
    "Attachment",
    "Conversation",
    "ConversationStore",
    "ConversationSummary",
    "ConversationTree",
    "ImportFileError",
    "Message",
    "MessageStatus",
    "NewerVersionError",
    "Role",
    "SearchHit",
    "Siblings",
    "StorageError",
    "StoreWriter",
    "export_html",
    "export_json",
    "export_markdown",
    "hit_segments",
    "import_json",
]
