"""专家批量新增 (S 1.2.2.3; DESIGN §5): a crafted workbook, every row reported with its number and reason."""

from __future__ import annotations

import io
from typing import Any

import pytest
import xlsxwriter
from committee_helpers import Tree, build_tree, create_committee, expert_form
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import CommitteeExpert, Expert
from services.common.errors import InvalidInput
from services.experts import expert_import, experts
from services.reference.validation import id_number_check_char

HEADERS = [header for header, _, _ in expert_import.COLUMNS]


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    return build_tree(make_unit, make_user, levels_at_authorizing=1)


def row(**changes: Any) -> list[Any]:
    form = expert_form(**{k: v for k, v in changes.items() if k in ("role", "birth")})
    values = {"country": "中国", "name": form["name"], "id_type": "居民身份证", "id_number": form["id_number"],
              "gender": "男", "birth_month": form["birth_month"], "retired": "否", "work_unit": form["work_unit"],
              "competent_unit": "", "admin_post": "总工程师", "admin_post_level": "无", "phone1": "13912345678",
              "phone2": "", "honors": "四川省技术能手", "series_name": "工程技术人员", "specialty": "建筑施工",
              "title_name": "工程师", "role_name": "委员"}
    values.update({k: v for k, v in changes.items() if k in values})
    return [values[name] for _, name, _ in expert_import.COLUMNS]


def workbook(rows: list[list[Any]], formulas: dict[tuple[int, int], str] | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    for index, values in enumerate(rows, start=1):
        for col, value in enumerate(values):
            if value is not None:
                sheet.write(index, col, value)
    for (r, c), formula in (formulas or {}).items():
        sheet.write_formula(r, c, formula, None, "13912345678")
    book.close()
    return buffer.getvalue()


def wrong_check(number: str) -> str:
    right = id_number_check_char(number[:17])
    return number[:17] + ("0" if right != "0" else "1")


def test_a_crafted_file_reports_each_bad_row_and_imports_only_the_good_ones(tree):
    committee = create_committee(tree)
    existing = expert_form()
    experts.add_expert(tree.forming_admin, committee, existing)
    good = [row(role_name="主任委员"), row()]
    duplicate = list(good[1])
    rows = [
        good[0],                                                        # 2 ok
        row(id_number=wrong_check(row()[3])),                           # 3 wrong check character
        row(birth_month="198001"),                                      # 4 birth disagrees with the ID
        row(name="一二三四五六七八九十十一"),                              # 5 name over 10
        row(honors="荣" * 301),                                          # 6 honours over 300
        row(series_name="不存在的系列"),                                  # 7 unknown series
        row(title_name="首席科学家"),                                     # 8 unknown title
        good[1],                                                        # 9 ok
        duplicate,                                                      # 10 duplicate inside the file
        row(id_number=existing["id_number"]),                           # 11 already in the committee's list
        [None] * len(HEADERS),                                          # 12 blank
        row(),                                                          # 13 formula in 联系电话1 (below)
        row(gender="女"),                                                # 14 gender disagrees with the ID
        row(title_name="助理工程师"),                                     # 15 title below the committee's grade
        row(name="=SUM(A1)"),                                           # 16 text that would run as a formula
    ]
    content = workbook(rows, formulas={(12, 11): "=13900000000+1"})

    report = expert_import.check_upload(tree.forming_admin, committee, content)

    reasons = {r.row_no: "；".join(r.reasons) for r in report.failed}
    assert [r.row_no for r in report.valid] == [2, 9]
    assert report.skipped == [12]
    assert "证件号码：证件号码校验位错误" in reasons[3]
    assert "出生日期：与证件号码中的出生年月不一致" in reasons[4]
    assert "姓名：不能超过 10 个字" in reasons[5]
    assert "所获荣誉、称号：不能超过 300 个字" in reasons[6]
    assert "现专业技术系列：「不存在的系列」不在职称系列中" in reasons[7]
    assert "现职称：「首席科学家」不在「工程技术人员」系列中" in reasons[8]
    assert "证件号码：与第 9 行重复" in reasons[10]
    assert "该专家已在本评委会专家库名单中" in reasons[11]
    assert "单元格 L13 含公式" in reasons[13]
    assert "性别：与证件号码不一致" in reasons[14]
    assert "现职称须为中级及以上" in reasons[15]
    assert "姓名：不能以 = + - @ 开头" in reasons[16]
    # Nothing is stored by the check.
    assert db.session.scalar(select(func.count()).select_from(CommitteeExpert)) == 1

    imported = expert_import.confirm_import(tree.forming_admin, committee, report.token)

    assert imported == 2
    members = list(db.session.scalars(select(CommitteeExpert).where(CommitteeExpert.committee_id == committee.id)
                                      .order_by(CommitteeExpert.id)))
    assert [(m.status, m.role) for m in members[1:]] == [("draft", "chair"), ("draft", "member")]
    # The failures export carries the row numbers and reasons, formula-escaped.
    failures = CalamineWorkbook.from_filelike(io.BytesIO(expert_import.failures_xlsx(report)))
    sheet = failures.get_sheet_by_index(0).to_python()
    assert [int(r[0]) for r in sheet[1:]] == sorted(reasons)
    assert sheet[-1][1] == "=SUM(A1)"


def test_a_non_xlsx_file_renamed_is_refused_as_a_whole(tree):
    committee = create_committee(tree)
    for content in (b"%PDF-1.4 not a workbook", b"PK\x03\x04broken zip", "姓名,证件号码\n".encode()):
        with pytest.raises(InvalidInput, match="不是有效的 xlsx 文件"):
            expert_import.check_upload(tree.forming_admin, committee, content)


def test_a_sheet_without_the_template_headers_is_refused(tree):
    committee = create_committee(tree)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    book.add_worksheet().write_row(0, 0, ["名字", "身份证"])
    book.close()
    with pytest.raises(InvalidInput, match="缺少列"):
        expert_import.check_upload(tree.forming_admin, committee, buffer.getvalue())


def test_the_import_is_all_or_nothing(tree, monkeypatch):
    committee = create_committee(tree)
    report = expert_import.check_upload(tree.forming_admin, committee, workbook([row(), row()]))
    before = db.session.scalar(select(func.count()).select_from(Expert))
    original = db.session.execute

    def failing(statement: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if "committee_expert" in str(statement) and "INSERT" in str(statement):
            raise RuntimeError("disk full")
        return original(statement, params, *args, **kwargs)

    savepoint = db.session.begin_nested()
    monkeypatch.setattr(db.session, "execute", failing)
    with pytest.raises(RuntimeError):
        expert_import.confirm_import(tree.forming_admin, committee, report.token)
    monkeypatch.undo()
    savepoint.rollback()
    assert db.session.scalar(select(func.count()).select_from(Expert)) == before


def test_the_template_has_drop_down_lists(tree):
    content = expert_import.template_xlsx()
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<dataValidation ") == 7
    header = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()[0]
    assert header[:4] == ["国别", "*姓名", "证件类型", "*证件号码"]


def test_a_subordinate_imports_as_recommendations(tree):
    committee = create_committee(tree)
    report = expert_import.check_upload(tree.child_admin, committee, workbook([row()]))
    expert_import.confirm_import(tree.child_admin, committee, report.token)
    member = db.session.scalar(select(CommitteeExpert).where(CommitteeExpert.committee_id == committee.id))
    assert (member.status, member.source_unit_id) == ("recommended", tree.child.id)
