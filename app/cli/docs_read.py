"""``maverick-desk docs read-scans FILE``: the model reads the pages that have no text layer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.documents.doc_index import DocumentIndex
from app.documents.page_cache import render_pages
from app.documents.pdf import PdfError, PdfFile
from app.documents.scan_reader import (
    TRANSCRIBE_PROMPT,
    ReadProgress,
    pages_to_read,
    read_scanned_pages,
)
from app.documents.tiling import ProcessorSettings, TilingError
from app.paths import default_model
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit


class ReadError(RuntimeError):
    """A page the worker could not read, with the worker's sentence."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="checkpoint folder (default: the chosen model)")
    parser.add_argument("--max-new-tokens", type=int, default=768, metavar="N")


def read_scans(doc: DocumentIndex, args: argparse.Namespace) -> int:
    todo = pages_to_read(doc)
    if not todo:
        print(f"{doc.info.name}: every page has text; nothing to read.")
        return 0
    if doc.info.kind != "pdf" or doc.source_path is None:
        print(f"maverick-desk docs: {doc.info.name} has no pages to draw.", file=sys.stderr)
        return 1
    model = Path(args.model).expanduser() if args.model else default_model()
    print(f"{doc.info.name}: {len(todo)} pages without text to read with the model.")
    client = WorkerClient()
    client.start()
    done = 0
    try:
        load = client.load(model, create_demo_if_missing=not args.model)
        ready = list(client.events_for(load))[-1]
        if not isinstance(ready, p.Ready):
            raise ReadError(_describe(ready, "loading"))
        settings = ProcessorSettings.from_checkpoint(model)
        with PdfFile(doc.source_path, password=args.password) as pdf:

            def ask_page(number: int) -> str:
                image = next(iter(render_pages(pdf, [number], settings)))
                turn = p.ChatTurn("user", TRANSCRIBE_PROMPT, [str(image.image)])
                greedy = Sampling(max_new_tokens=args.max_new_tokens, temperature=0.0)
                rid = client.generate([turn], greedy)
                events = list(client.events_for(rid))
                if not isinstance(events[-1], p.Done):
                    raise ReadError(_describe(events[-1], f"reading page {number}"))
                return "".join(e.text for e in events if isinstance(e, p.Token))

            def progress(step: ReadProgress) -> None:
                nonlocal done
                done = step.done
                print(step.line(), file=sys.stderr)

            read_scanned_pages(doc, ask_page, progress=progress)
    except KeyboardInterrupt:
        print(f"\nStopped after {done} pages; run again to read the rest.", file=sys.stderr)
        return 130
    except (ReadError, PdfError, TilingError) as exc:
        print(f"maverick-desk docs: {exc} ({done} pages read and kept).", file=sys.stderr)
        return 1
    finally:
        client.shutdown(timeout=10)
    print(f"{doc.info.name}: {done} pages read; search and questions now see their text.")
    return 0


def _describe(event: p.Message, doing: str) -> str:
    if isinstance(event, p.Error):
        return f"the worker failed while {doing}: {event.message}"
    if isinstance(event, p.WorkerDied):
        return f"the model worker stopped while {doing} ({describe_exit(event.exit_code)})"
    return f"the worker did not finish {doing}"
