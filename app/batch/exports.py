"""A job's results as a table: one row per item, one column per field; CSV, JSONL, XLSX.

CSV is UTF-8 with a byte-order mark, which spreadsheets need to read non-ASCII text.
A structured job gets one column per top-level field of its schema (lists joined with
"; "); a free-text job one "answer" column. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from app.batch.jobs import Item, Job, JobError
from app.storage.atomic import atomic_write_bytes

FORMATS = (".csv", ".jsonl", ".xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula


def columns(job: Job) -> list[str]:
    if job.schema and isinstance(job.schema.get("properties"), dict):
        return list(job.schema["properties"])
    return ["answer"]


def rows(job: Job, items: list[Item]) -> tuple[list[str], list[list[Any]]]:
    """The header and one row per item: item, source, status, fields…, error."""
    fields = columns(job)
    header = ["item", "source", "status", *fields, "constrained", "error"]
    table = []
    for item in items:
        if job.schema is None:
            values: list[Any] = [item.result_text or ""]
        else:
            value = item.result_json if isinstance(item.result_json, dict) else {}
            values = [_cell(value.get(name)) for name in fields]
        constrained = "" if item.constrained is None else ("yes" if item.constrained else "no")
        table.append([item.label, item.source, item.status, *values, constrained, item.error or ""])
    return header, table


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(_cell(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def export(job: Job, items: list[Item], out: Path) -> None:
    """Write the results to `out`; its suffix picks the format."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        data = _csv(job, items)
    elif suffix == ".jsonl":
        data = _jsonl(job, items)
    elif suffix == ".xlsx":
        data = _xlsx(job, items)
    else:
        raise JobError(f"{out.name}: results can be saved as {', '.join(FORMATS)}.")
    atomic_write_bytes(out, data, "save the batch results")


def _inert(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, quoted so that it stays text."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _csv(job: Job, items: list[Item]) -> bytes:
    header, table = rows(job, items)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[_inert(cell) for cell in row] for row in table])
    return buffer.getvalue().encode("utf-8-sig")


def _jsonl(job: Job, items: list[Item]) -> bytes:
    lines = []
    for item in items:
        record = {
            "item": item.label,
            "source": item.source,
            "status": item.status,
            "result": item.result_json if job.schema else item.result_text,
            "constrained": item.constrained,
            "error": item.error,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _xlsx(job: Job, items: list[Item]) -> bytes:
    import xlsxwriter

    header, table = rows(job, items)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Results")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    for r, row in enumerate(table, start=1):
        sheet.write_row(r, 0, row)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
