"""services/workflow/forms.py: YAML definitions, Chinese validation messages, and upload sniffing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from services.workflow.forms import (
    FieldDefinition,
    FormDefinitionError,
    FormInvalid,
    UploadInvalid,
    check_upload,
    list_form_keys,
    load_form,
    task_properties,
    validate,
)

PDF = b"%PDF-1.7\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
JPG = b"\xff\xd8\xff\xe0" + b"\0" * 16


def office_file(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in parts:
            archive.writestr(part, "<x/>")
    return buffer.getvalue()


def errors_of(key: str, data: dict[str, object]) -> dict[str, list[str]]:
    with pytest.raises(FormInvalid) as caught:
        validate(load_form(key), data)
    return caught.value.errors


def test_every_shipped_form_loads() -> None:
    keys = list_form_keys()
    assert {"review/unit_opinion", "registration/unit_application", "registration/correction",
            "superior_change/correction"} <= set(keys)
    for key in keys:
        assert load_form(key).key == key


def test_load_form_is_cached() -> None:
    assert load_form("review/unit_opinion") is load_form("review/unit_opinion")


def test_a_valid_opinion_is_normalized() -> None:
    data = validate(load_form("review/unit_opinion"), {"decision": "pass", "opinion": "  同意  ", "return_to": ""})
    assert data == {"decision": "pass", "opinion": "同意"}


def test_unknown_field_is_refused() -> None:
    assert errors_of("review/unit_opinion", {"decision": "pass", "opinion": "好", "foo": 1}) == {
        "foo": ["未知字段：foo"]}


def test_too_long_text_is_refused() -> None:
    assert errors_of("review/unit_opinion", {"decision": "pass", "opinion": "字" * 501}) == {
        "opinion": ["审核意见：不能超过 500 个字"]}


def test_required_fields_missing_or_blank() -> None:
    assert errors_of("review/unit_opinion", {"opinion": "   "}) == {
        "decision": ["审核结果：必须选择"], "opinion": ["审核意见：必须填写"]}


def test_bad_choice_is_refused() -> None:
    assert errors_of("review/unit_opinion", {"decision": "maybe", "opinion": "嗯"}) == {
        "decision": ["审核结果：选项无效"]}


def test_non_mapping_input_is_refused() -> None:
    with pytest.raises(FormInvalid) as caught:
        validate(load_form("review/unit_opinion"), ["pass"])  # type: ignore[arg-type]
    assert caught.value.errors == {"_form": ["表单数据格式错误"]}


def test_patterns_and_lengths_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f.yaml").write_text(
        "title: 测试\nfields:\n"
        "  - {name: unit_name, label: 单位名称, type: text, required: true, max_length: 50}\n"
        "  - {name: credit_code, label: 统一社会信用代码, type: text, required: true, max_length: 18,\n"
        "     pattern: '[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}',\n"
        "     pattern_message: 统一社会信用代码：应为 18 位数字或大写字母}\n", encoding="utf-8")
    with pytest.raises(FormInvalid) as caught:
        validate(load_form("t/f", tmp_path), {"unit_name": "某" * 51, "credit_code": "91510100MA6CA5QX1"})
    assert caught.value.errors == {
        "unit_name": ["单位名称：不能超过 50 个字"],
        "credit_code": ["统一社会信用代码：应为 18 位数字或大写字母"],
    }


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("integer", "12", 12), ("date", "2024-05-01", "2024-05-01"), ("boolean", "true", True),
])
def test_typed_fields_keep_task_data_plain(tmp_path: Path, kind: str, value: str, expected: object) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f.yaml").write_text(
        f"title: 测试\nfields:\n  - {{name: v, label: 值, type: {kind}, required: true}}\n", encoding="utf-8")
    assert validate(load_form("t/f", tmp_path), {"v": value}) == {"v": expected}
    with pytest.raises(FormInvalid):
        validate(load_form("t/f", tmp_path), {"v": "不是值"})


def test_malformed_definitions_are_deployment_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("title: x\nfields:\n  - {name: a, label: A, type: colour}\n", "utf-8")
    with pytest.raises(FormDefinitionError, match="type 必须是"):
        load_form("bad", tmp_path)
    with pytest.raises(FormDefinitionError, match="格式错误"):
        load_form("../etc/passwd", tmp_path)


LICENCE = FieldDefinition(name="business_licence", label="营业执照", type="file", required=True,
                          accept=("pdf", "jpg", "png"), max_size_mb=10)


@pytest.mark.parametrize(("content", "detected"), [(PDF, "pdf"), (PNG, "png"), (JPG, "jpg")])
def test_upload_accepted_by_content(content: bytes, detected: str) -> None:
    assert check_upload(LICENCE, "执照.bin", content) == detected


@pytest.mark.parametrize(("content", "actual"), [
    (b"MZ\x90\x00 an executable", "未知"),
    (office_file("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
    (office_file("[Content_Types].xml", "word/document.xml"), "docx"),
    (office_file("readme.txt"), "未知"),
    (b"PK\x03\x04 not really a zip", "未知"),
])
def test_upload_type_is_sniffed_not_taken_from_the_name(content: bytes, actual: str) -> None:
    with pytest.raises(UploadInvalid) as caught:
        check_upload(LICENCE, "执照.pdf", content)
    assert caught.value.message == f"营业执照：文件类型须为 pdf/jpg/png，实际为 {actual}"


def test_spreadsheet_field_accepts_xlsx() -> None:
    field = FieldDefinition(name="roster", label="人员名单", type="file", accept=("xlsx",), max_size_mb=1)
    assert check_upload(field, "名单.xlsx", office_file("[Content_Types].xml", "xl/workbook.xml")) == "xlsx"


def test_upload_size_limit() -> None:
    small = FieldDefinition(name="photo", label="照片", type="file", accept=("jpg",), max_size_mb=0.001)
    with pytest.raises(UploadInvalid, match="照片：文件不能超过 0.001 MB"):
        check_upload(small, "a.jpg", JPG + b"\0" * 2000)
    with pytest.raises(UploadInvalid, match="为空"):
        check_upload(LICENCE, "empty.pdf", b"")


def test_task_properties_reads_spiff_properties(parsed) -> None:  # type: ignore[no-untyped-def]
    spec = parsed("unit_review").spec.task_specs["review_by_level [child]"]
    assert task_properties(spec) == {"formKey": "review/unit_opinion", "post": "unit_reviewer"}
    assert task_properties(object()) == {}
