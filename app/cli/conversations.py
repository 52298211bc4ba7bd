"""``maverick-desk conversations``: list, export and import saved conversations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.paths import data_dir

FORMATS = ("md", "html", "json")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conversations",
        help="list, export or import saved conversations",
        description=(
            "Work with the conversations saved in the data directory "
            "(move it with MAVERICK_DESK_DATA_DIR)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="print id, last change, messages and title")
    listing.add_argument("--trash", action="store_true", help="list the Trash instead")
    export = actions.add_parser("export", help="write a conversation to a file or folder")
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
