"""Spreadsheet exports with xlsxwriter (DESIGN §5).

Text cells that start with = + - @ are written as strings carrying Excel's quote prefix, so that a value
a person typed never runs as a formula in the reader's spreadsheet (formula injection), even after the
reader edits the cell.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import xlsxwriter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_STARTS)


def write_table(sheet_name: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One sheet, a bold header row, frozen panes, sensible widths; constant memory for big lists."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(sheet_name[:31])
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    quoted = workbook.add_format({"quote_prefix": True})
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, max(10, len(header) * 2 + 2))
    sheet.freeze_panes(1, 0)
    for row_index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if looks_like_formula(value):
                sheet.write_string(row_index, col, str(value), quoted)
            elif isinstance(value, str):
                sheet.write_string(row_index, col, value)
            else:
                sheet.write(row_index, col, value)
    workbook.close()
    return buffer.getvalue()
