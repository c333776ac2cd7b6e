"""Reading an uploaded xlsx (DESIGN §5): the checks of the file as a whole, then python-calamine.

`open_sheet` refuses a file over the size limit, one that is not a real xlsx whatever its name, and a zip bomb
(services.common.uploads.check_archive) before calamine parses anything; it returns the first sheet, whose
`iter_rows()` yields one row at a time (an import of 100,000 rows never holds them all as Python objects).
"""

from __future__ import annotations

import io
import zipfile

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from services.common import uploads
from services.common.errors import InvalidInput

NOT_XLSX = "不是有效的 xlsx 文件，请使用下载的模板填写后上传"


def open_sheet(content: bytes, max_bytes: int, label: str = "导入文件", field: str = "file") -> CalamineSheet:
    """The first sheet of an uploaded workbook, or InvalidInput naming the field and the rule."""
    if not content:
        raise InvalidInput(f"{label}：请选择要上传的文件", field=field)
    if len(content) > max_bytes:
        raise InvalidInput(f"{label}：不能超过 {max_bytes // 1024 // 1024} MB", field=field)
    if not content.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(content)):
        raise InvalidInput(f"{label}：{NOT_XLSX}", field=field)
    uploads.check_archive(content, label, field)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError, IndexError) as exc:
        raise InvalidInput(f"{label}：{NOT_XLSX}", field=field) from exc
