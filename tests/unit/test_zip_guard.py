"""Zip bombs (issue 13 "Hardening"): every xlsx / zip reader checks the members' declared and actual inflated sizes
against a limit before parsing — the expert import, the committee import and form uploads — with a clear message."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
import xlsxwriter

from services.committees import committee_admin
from services.common import uploads
from services.common.errors import InvalidInput
from services.experts import expert_import
from services.workflow.forms import FieldDefinition

LIMIT = 1024 * 1024


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UNZIPPED_BYTES", LIMIT)


def xlsx(padding: int = 0) -> bytes:
    """A real workbook whose first sheet carries `padding` bytes of blanks (compressing ~1000:1)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet().write_row(0, 0, ["姓名", "证件号码"])
    book.close()
    if not padding:
        return buffer.getvalue()
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * padding)
            bomb.writestr(info.filename, data)
    return out.getvalue()


def lying(content: bytes, member: str, declared: int) -> bytes:
    """The archive with `member`'s uncompressed size rewritten to `declared` in its local and central headers."""
    data = bytearray(content)
    name = member.encode()
    local = data.find(b"PK\x03\x04" + b"\x00" * 0)
    while local != -1:
        name_len = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30:local + 30 + name_len] == name:
            struct.pack_into("<I", data, local + 22, declared)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == name:
            struct.pack_into("<I", data, central + 24, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def test_a_small_file_that_inflates_past_the_limit_is_refused_before_parsing():
    bomb = xlsx(padding=2 * LIMIT)
    assert len(bomb) < LIMIT // 20  # small on the wire

    with pytest.raises(InvalidInput) as refused:
        uploads.check_archive(bomb, "导入文件", "file")

    assert "解压后超过 1 MB" in refused.value.message and refused.value.field == "file"


def test_a_header_that_understates_the_size_is_caught_while_inflating():
    bomb = lying(xlsx(padding=2 * LIMIT), "xl/worksheets/sheet1.xml", 1000)

    with pytest.raises(InvalidInput) as refused:
        uploads.check_archive(bomb, "导入文件", "file")

    assert refused.value.field == "file"


def test_an_honest_workbook_passes():
    uploads.check_archive(xlsx(), "导入文件", "file")


def test_the_expert_import_refuses_a_bomb(monkeypatch):
    parsed = []
    from services.common.excel import reader

    monkeypatch.setattr(reader, "CalamineWorkbook", type("Spy", (), {
        "from_filelike": staticmethod(lambda f: parsed.append(f))}))
    with pytest.raises(InvalidInput, match="压缩炸弹"):
        expert_import._read_rows(xlsx(padding=2 * LIMIT))
    assert parsed == []  # the parser never saw it


def test_the_committee_import_refuses_a_bomb():
    with pytest.raises(InvalidInput, match="压缩炸弹"):
        committee_admin.check_import(xlsx(padding=2 * LIMIT))


def test_a_form_upload_refuses_a_bomb():
    field = FieldDefinition("table", "岗位情况表", "file", max_size_mb=10, accept=("xlsx",))

    with pytest.raises(InvalidInput, match="岗位情况表：文件解压后超过"):
        uploads.check_upload(field, "表.xlsx", xlsx(padding=2 * LIMIT))
    assert uploads.check_upload(field, "表.xlsx", xlsx()) == "xlsx"
