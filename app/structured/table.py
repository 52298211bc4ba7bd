"""A structured answer as a table: a header, rows of cells, and the CSV a spreadsheet reads.

An object is one row with a column per field; a list of objects is a row each (the
columns in the order they first appear); anything else is one "value" cell. Lists in a
cell are joined with "; ", yes/no is written as such, as in the batch exports.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula


def cell(value: Any) -> str:
    """One value as the text of a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def table(value: Any) -> tuple[list[str], list[list[str]]]:
    """The header and rows that show `value`."""
    if isinstance(value, dict):
        return list(value), [[cell(v) for v in value.values()]]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        header: list[str] = []
        for row in value:
            header += [key for key in row if key not in header]
        return header, [[cell(row.get(key)) for key in header] for row in value]
    return ["value"], [[cell(value)]]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV of the table; a cell a spreadsheet would run as a formula is quoted to stay text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["'" + c if c[:1] in FORMULA_STARTS else c for c in row] for row in rows])
    return buffer.getvalue()
