"""职数申报, 职数审核 and 职数申报查询 through the services (H 1.5.1, 1.5.2, 1.22; FEATURES F8)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, HumanTask, QuotaDeclaration, QuotaItem, Unit, User
from services.activities import quota_review, quotas
from services.authz import audit_chain
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.workflow import instances

TODAY = date.today()


@dataclass
class Tree:
    city: Unit
    superior: Unit
    declaring: Unit
    sibling: Unit
    other_city: Unit
    declarer: User
    reviewers: list[User]


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    city = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    superior = make_unit(parent=city, unit_type="competent", region="511100B", name="乐山市卫生健康委员会")
    declaring = make_unit(parent=superior, region="511102", name="乐山市人民医院")
    sibling = make_unit(parent=superior, region="511102", name="乐山市中医医院")
    other_city = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    declarer = make_user(declaring, permissions=["quota.declare", "quota.query"], name="职数经办")
    reviewers = [make_user(superior, permissions=["quota.review", "inbox.view"], name=f"职数审核{n}") for n in (1, 2)]
    return Tree(city, superior, declaring, sibling, other_city, declarer, reviewers)


def row(series: str = "health_technician", level: str = "senior_deputy", total: int = 10, current: int = 6,
        requested: int = 3, remark: str = "") -> dict[str, Any]:
    return {"series_code": series, "level_code": level, "post_total": total, "current_count": current,
            "requested_count": requested, "remark": remark}


def data(*rows: dict[str, Any], year: int = TODAY.year) -> dict[str, Any]:
    return {"year": year, "contact_name": "王经办", "contact_phone": "0833-2123456", "note": "",
            "rows": list(rows) or [row(), row(level="intermediate", total=30, current=20, requested=8)]}


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(QuotaDeclaration)) or 0


def open_task(declaration: QuotaDeclaration) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == "quota_declaration", HumanTask.business_id == declaration.id,
        HumanTask.status == "open"))
    assert task is not None
    return task


def decide(declaration: QuotaDeclaration, user: User, decision: str, opinion: str = "") -> None:
    instances.complete_human_task(user, open_task(declaration).id,
                                  {"decision": decision, "opinion": opinion or f"{decision}意见"})


def test_a_draft_keeps_its_rows_and_the_vacancy(tree):
    declaration = quotas.create_declaration(tree.declarer, data(), TODAY)

    assert declaration.status == "draft" and declaration.unit_id == tree.declaring.id
    assert [(i.level_code, i.vacancy, i.requested_count) for i in declaration.items] == [
        ("senior_deputy", 4, 3), ("intermediate", 10, 8)]
    assert declaration.total_requested == 11


@pytest.mark.parametrize(("rows", "year", "message"), [
    ([row(current=11)], TODAY.year, "第 1 行：现有人数：不能超过岗位总数"),
    ([row(total=10, current=6, requested=5)], TODAY.year, "第 1 行：申报职数：不能超过空缺职数 4"),
    ([row(), row()], TODAY.year, "第 2 行：等级：卫生技术人员副高级已填写"),
    ([row(series="no_such_series")], TODAY.year, "第 1 行：系列：请选择有效的系列"),
    ([row(level="no_such_level")], TODAY.year, "第 1 行：等级：请选择有效的等级"),
    ([], TODAY.year, "职数明细：至少填写一行"),
    ([row()], TODAY.year - 2, "申报年度：只能申报"),
    ([row()], TODAY.year + 2, "申报年度：只能申报"),
])
def test_bad_input_names_the_field_and_writes_nothing(tree, rows, year, message):
    payload = data(year=year)
    payload["rows"] = rows

    with pytest.raises(InvalidInput) as caught:
        quotas.create_declaration(tree.declarer, payload, TODAY)

    assert message in caught.value.message
    assert count() == 0


def test_one_declaration_per_unit_and_year_unless_the_earlier_was_rejected(tree):
    first = quotas.create_declaration(tree.declarer, data(), TODAY)
    with pytest.raises(Conflict, match="申报年度：本单位 .* 年度已有职数申报"):
        quotas.create_declaration(tree.declarer, data(), TODAY)
    quotas.create_declaration(tree.declarer, data(year=TODAY.year + 1), TODAY)  # another year is fine

    quota_review.submit_declaration(tree.declarer, first)
    decide(first, tree.reviewers[0], "reject", "岗位设置不符")
    assert first.status == "rejected" and first.opinion == "岗位设置不符"

    again = quotas.create_declaration(tree.declarer, data(), TODAY)
    assert again.status == "draft"


def test_submission_goes_to_the_superior_through_its_configured_levels(tree, make_user):
    admin = make_user(tree.superior, admin=True, name="卫健委管理员")
    audit_chain.save_levels(admin, tree.superior, "quota_review",
                            [{"name": f"第{n}级", "user_ids": [u.id]} for n, u in enumerate(tree.reviewers, 1)])
    declaration = quotas.create_declaration(tree.declarer, data(), TODAY)

    quota_review.submit_declaration(tree.declarer, declaration)

    assert declaration.status == "pending" and declaration.reviewing_unit_id == tree.superior.id
    task = open_task(declaration)
    assert (task.unit_id, task.level_no) == (tree.superior.id, 1)
    assert instances.is_candidate(task, tree.reviewers[0]) and not instances.is_candidate(task, tree.reviewers[1])
    assert quota_review.review_counts(tree.reviewers[0])["todo"] == 1
    decide(declaration, tree.reviewers[0], "pass")
    assert declaration.status == "pending"  # the first level's pass does not approve
    decide(declaration, tree.reviewers[1], "pass", "同意核准")
    assert declaration.status == "approved" and declaration.opinion == "同意核准" and declaration.decided_at
    assert quota_review.review_counts(tree.reviewers[0])["pass"] == 1
    with pytest.raises(Conflict):
        quotas.update_declaration(tree.declarer, declaration, data(), TODAY)


def test_return_then_correct_and_resubmit_then_pass(tree):
    declaration = quotas.create_declaration(tree.declarer, data(), TODAY)
    quota_review.submit_declaration(tree.declarer, declaration)
    decide(declaration, tree.reviewers[0], "return", "中级申报职数过多")
    assert declaration.status == "returned" and declaration.opinion == "中级申报职数过多"
    assert quota_review.review_counts(tree.reviewers[0])["return"] == 1

    with pytest.raises(InvalidInput, match="申报年度：退回修改时不能变更申报年度"):
        quotas.update_declaration(tree.declarer, declaration, data(year=TODAY.year + 1), TODAY)
    quotas.update_declaration(tree.declarer, declaration, data(row(requested=2)), TODAY)
    assert [i.requested_count for i in declaration.items] == [2]
    with pytest.raises(InvalidInput, match="修改说明：必填"):
        quota_review.submit_declaration(tree.declarer, declaration, "")
    # The declarer is no administrator: holding quota.declare is enough to resubmit.
    quota_review.submit_declaration(tree.declarer, declaration, "已核减")
    assert declaration.status == "pending"
    decide(declaration, tree.reviewers[1], "pass")
    assert declaration.status == "approved"
    actions = [e.action for e in quota_review.trail_of(declaration)]
    assert actions == ["start", "return", "submit", "pass", "completed"]


def test_a_unit_without_a_superior_cannot_submit(make_unit, make_user):
    root = make_unit(unit_type="hr", region="510000B", name="独立单位")
    declaration = quotas.create_declaration(make_user(root, admin=True), data(), TODAY)

    with pytest.raises(InvalidInput, match="上级单位"):
        quota_review.submit_declaration(make_user(root, admin=True), declaration)
    assert declaration.status == "draft"


def test_another_unit_cannot_load_change_or_submit(tree, make_user):
    declaration = quotas.create_declaration(tree.declarer, data(), TODAY)
    stranger = make_user(tree.sibling, admin=True)

    with pytest.raises(NotFound):
        quotas.load_own_declaration(stranger, declaration.id)
    with pytest.raises(Forbidden):
        quota_review.submit_declaration(stranger, declaration)
    with pytest.raises(Forbidden):
        quotas.update_declaration(stranger, declaration, data(), TODAY)


def test_query_shows_the_subtree_without_other_units_drafts(tree, make_user):
    submitted = quotas.create_declaration(tree.declarer, data(), TODAY)
    quota_review.submit_declaration(tree.declarer, submitted)
    sibling_draft = quotas.create_declaration(make_user(tree.sibling, admin=True), data(), TODAY)
    city_viewer = make_user(tree.city, permissions=["quota.query"])

    def seen(user: User, **filters: Any) -> list[int]:
        return list(db.session.scalars(quotas.query_declarations(user, quotas.Filters(**filters)).with_only_columns(
            QuotaDeclaration.id)))

    assert seen(city_viewer) == [submitted.id]  # the sibling's draft is its own business
    assert seen(make_user(tree.sibling, admin=True)) == [sibling_draft.id]
    assert seen(make_user(tree.other_city, admin=True)) == []
    assert seen(city_viewer, unit_name="人民医院", status="pending", year=TODAY.year) == [submitted.id]
    assert seen(city_viewer, status="approved") == []
    with pytest.raises(NotFound):
        quotas.load_declaration_for_query(city_viewer, sibling_draft.id)
    with pytest.raises(NotFound):
        quotas.load_declaration_for_query(make_user(tree.other_city, admin=True), submitted.id)


def test_export_writes_one_line_per_row_and_is_audited(tree):
    quotas.create_declaration(tree.declarer, data(), TODAY)

    content = quotas.export_declarations(tree.declarer, quotas.Filters())

    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert sheet[0][:6] == ["序号", "申报单位", "申报年度", "状态", "系列", "等级"]
    assert [(line[1], line[4], line[5], line[9]) for line in sheet[1:]] == [
        ("乐山市人民医院", "卫生技术人员", "副高级", 3), ("乐山市人民医院", "卫生技术人员", "中级", 8)]
    assert db.session.scalar(select(func.count()).select_from(QuotaItem)) == 2
    assert db.session.scalar(select(AuditLog.summary).where(AuditLog.action == "quota.export")) == "导出职数申报 2 行"
