"""Benchmark: whole documents (issue 34): indexing, assembling a question's context, recall.

A 300-page report the script writes (50 unique facts on known pages, 3 scanned pages):
indexing it from nothing (target 3 s), keeping a copy with the conversation and reopening
it with a saved conversation, planning what one question sends when the text
does not fit an 8,000-token budget (target 100 ms), and how often the answer's page is
among the pages sent (recall@sent, target 0.9).

Run: .venv/bin/python bench/documents.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.documents.doc_index import open_document, open_stored  # noqa: E402
from app.documents.doc_plan import plan_documents  # noqa: E402
from app.storage.document_files import DocumentFiles  # noqa: E402
from bench.common import Result, emit, spread  # noqa: E402
from tests.documents.long_pdf import write_report  # noqa: E402

BUDGET = 8_000


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        folder = Path(tmp)
        path, facts = write_report(folder / "report.pdf", pages=300, facts=50, scanned=(40, 41))
        index_times = []
        for run in range(5):
            os.environ["MAVERICK_DESK_DATA_DIR"] = str(folder / f"data{run}")
            start = time.perf_counter()
            doc = open_document(path)
            index_times.append(time.perf_counter() - start)
            doc.close()
        start = time.perf_counter()
        doc = open_document(path)
        reopen_ms = (time.perf_counter() - start) * 1000
        files = DocumentFiles(folder / "data4" / "documents" / "files")
        start = time.perf_counter()
        stored, _ = files.add_file(path, doc.info.sha256, doc.info.name)
        keep_ms = (time.perf_counter() - start) * 1000
        reopen_saved = []
        for _ in range(5):
            start = time.perf_counter()
            open_stored(stored, doc.info.sha256, doc.info.name).close()
            reopen_saved.append((time.perf_counter() - start) * 1000)
        size_mib = path.stat().st_size / (1 << 20)
        plan_times = []
        hits = 0
        for page, _sentence, question, _answer in facts:
            start = time.perf_counter()
            plan = plan_documents([doc], question, budget_tokens=BUDGET)
            plan_times.append((time.perf_counter() - start) * 1000)
            hits += page in plan.sources[0].text_pages
        doc.close()
    print(f"report: 300 pages, {len(facts)} questions, budget {BUDGET:,} tokens")
    emit(
        [
            Result(
                "index a 300-page PDF from nothing (page text + FTS5)",
                statistics.median(index_times),
                "s",
                "<= 3",
                detail=spread(index_times, 2),
            ).judged(),
            Result("open it again (hash + open the index)", reopen_ms, "ms", detail="one run"),
            Result(
                "keep a copy with the conversation (copy + hash into the data folder)",
                keep_ms,
                "ms",
                detail=f"one run, {size_mib:.1f} MiB",
            ),
            Result(
                "reopen it with a saved conversation (its index by hash, no hashing)",
                statistics.median(reopen_saved),
                "ms",
                detail=spread(reopen_saved, 2),
            ),
            Result(
                "assemble one question's context (300 pages, retrieval)",
                statistics.median(plan_times),
                "ms",
                "<= 100",
                detail=spread(plan_times, 1),
            ).judged(),
            Result(
                "recall@sent: the answer's page among the pages sent",
                hits / len(facts),
                "",
                ">= 0.9",
                detail=f"{hits} of {len(facts)} questions, {BUDGET:,}-token budget",
            ).judged(),
        ]
    )


if __name__ == "__main__":
    main()
