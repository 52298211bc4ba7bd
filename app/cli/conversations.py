"""``maverick-desk conversations``: list, show, export and import saved conversations."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from app.paths import data_dir

if TYPE_CHECKING:
    from app.storage.records import Conversation, ConversationTree, Message

FORMATS = ("md", "html", "json")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conversations",
        help="list, show, export or import saved conversations",
        description=(
            "Work with the conversations saved in the data directory "
            "(move it with MAVERICK_DESK_DATA_DIR)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="print id, last change, messages and title")
    listing.add_argument("--trash", action="store_true", help="list the Trash instead")
    show = actions.add_parser("show", help="print a conversation as the window shows it")
    show.add_argument("id", type=int, metavar="ID", help="conversation id (see `list`)")
    show.add_argument(
        "--all-versions",
        action="store_true",
        help="print every version (from Regenerate and Edit) as a tree, numbered like 2/3; "
        "* marks the versions shown, - the others",
    )
    export = actions.add_parser(
        "export",
        help="write a conversation to a file or folder (json: every version; md, html: the "
        "versions shown)",
    )
    export.add_argument("id", type=int, metavar="ID", help="conversation id (see `list`)")
    export.add_argument(
        "--format",
        choices=FORMATS,
        required=True,
        help="md: a folder with conversation.md and images/; html: one file "
        "with images inside; json: a file that `import` reads back",
    )
    export.add_argument(
        "--out", required=True, metavar="PATH", help="file to write (html, json) or new folder (md)"
    )
    imported = actions.add_parser("import", help="import conversations from a JSON export")
    imported.add_argument("file", metavar="FILE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `maverick-desk --help` does not open SQLite or Pillow.
    from app.storage import ConversationStore, StorageError

    try:
        with ConversationStore.open(data_dir()) as store:
            for notice in store.notices:
                print(f"maverick-desk conversations: {notice}", file=sys.stderr)
            return _run_action(store, args)
    except StorageError as exc:
        print(f"maverick-desk conversations: {exc}", file=sys.stderr)
        return 1


def _run_action(store: Any, args: argparse.Namespace) -> int:
    from app.storage import export_html, export_json, export_markdown, import_json

    if args.action == "list":
        rows = store.list_conversations(trash=args.trash)
        for row in rows:
            when = (row.deleted_at if args.trash else row.updated) or ""
            title = row.title or "Untitled conversation"
            print(f"{row.id:>6}  {when[:10]} {when[11:16]}  {row.message_count:>5} msgs  {title}")
        if not rows:
            print(
                "The Trash is empty." if args.trash else "No saved conversations yet.",
                file=sys.stderr,
            )
        return 0
    if args.action == "show":
        if args.all_versions:
            print_tree(store.load_tree(args.id))
        else:
            print_shown(store.load_conversation(args.id))
        return 0
    if args.action == "export":
        if args.format == "json":
            written = export_json(store, [args.id], args.out)
        elif args.format == "html":
            written = export_html(store, args.id, args.out)
        else:
            written = export_markdown(store, args.id, args.out)
        print(written)
        return 0
    ids = import_json(store, args.file)
    for cid in ids:
        print(f"imported conversation {cid}")
    return 0


def _heading(message: Message, versions: bool = True) -> str:
    from app.storage.export_labels import ROLE_LABELS, STATUS_NOTES, readable_time

    heading = f"{ROLE_LABELS[message.role]} · {readable_time(message.created)}"
    if versions and message.version_count > 1:
        heading += f" · version {message.version}/{message.version_count}"
    note = STATUS_NOTES[message.status]
    return f"{heading} ({note})" if note else heading


def _body(message: Message, indent: str) -> list[str]:
    lines = [f"{indent}{line}" if line else "" for line in message.text.splitlines()]
    lines += [f"{indent}[image: {a.name}, {a.width}x{a.height}]" for a in message.attachments]
    return lines


def _title(conversation: Conversation) -> str:
    return f"{conversation.title or 'Untitled conversation'} (conversation {conversation.id})"


def print_shown(conversation: Conversation) -> None:
    """The shown path: what the window shows, version numbers where there are others."""
    others = conversation.other_versions
    note = f"; {others} other version(s), see --all-versions" if others else ""
    print(f"{_title(conversation)}: {len(conversation.messages)} messages{note}")
    for message in conversation.messages:
        print()
        print(f"[{_heading(message)}]")
        for line in _body(message, ""):
            print(line)


def print_tree(tree: ConversationTree) -> None:
    """Every version, oldest first, as an indented tree.

    A fork's versions are one step in and what follows a version one more, so that each
    version's tail stands under it.
    """
    conversation = tree.conversation
    print(
        f"{_title(conversation)}: {len(tree.messages)} messages, "
        f"{conversation.other_versions} other version(s); * marks the versions shown, - the others"
    )
    children: dict[int | None, list[Message]] = {}
    for message in tree.messages:
        children.setdefault(message.parent_id, []).append(message)
    shown = tree.shown_ids
    roots = children.get(None, [])
    # Iterative, so that a conversation thousands of messages deep prints too.
    stack = [(m, 1 if len(roots) > 1 else 0) for m in reversed(roots)]
    while stack:
        message, level = stack.pop()
        indent = "  " * level
        marker = "*" if message.id in shown else "-"
        number = f"{message.version}/{message.version_count}"
        print(f"{indent}{marker} {number} {_heading(message, versions=False)}")
        for line in _body(message, indent + "    "):
            print(line)
        below = children.get(message.id, [])
        step = (len(below) > 1) + (message.version_count > 1)
        stack.extend((m, level + step) for m in reversed(below))
