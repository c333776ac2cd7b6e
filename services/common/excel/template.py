"""Import templates (DESIGN §5): one sheet of headers (* = 必填) with an optional note and example per column, and
drop-down lists fed from a hidden 选项 sheet for the columns whose values come from a list."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name


@dataclass(frozen=True)
class TemplateColumn:
    header: str
    required: bool = False
    note: str = ""  # shown as the header cell's comment
    choices: Sequence[str] = ()  # a drop-down list when given
    example: str = ""  # written on the second row when any column has one


def template_xlsx(sheet_name: str, columns: Sequence[TemplateColumn], max_rows: int) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(sheet_name[:31])
    lists = book.add_worksheet("选项")
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    examples = any(column.example for column in columns)
    for col, column in enumerate(columns):
        sheet.write_string(0, col, ("*" if column.required else "") + column.header, bold)
        if column.note:
            sheet.write_comment(0, col, column.note, {"x_scale": 2})
        if examples:
            sheet.write_string(1, col, column.example)
        sheet.set_column(col, col, 16, text)
        if column.choices:
            for row, value in enumerate(column.choices):
                lists.write_string(row, col, value)
            letter = xl_col_to_name(col)
            sheet.data_validation(1, col, max_rows, col, {
                "validate": "list", "source": f"='选项'!${letter}$1:${letter}${len(column.choices)}",
                "error_message": f"{column.header}：请从下拉列表中选择"})
    sheet.freeze_panes(1, 0)
    lists.hide()
    book.close()
    return buffer.getvalue()
