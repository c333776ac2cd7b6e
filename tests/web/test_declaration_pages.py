"""职称申报, the applicant's pages (Hunan guide 二 (一); manual S 1.2.4.1.1–8; FEATURES F1) over HTTP.

暂存申报, 任职以来考核信息, 业绩成果 in a template with attachments, 申报材料上传, 提交 into the review chain, 重新提交 after
a 退回; refusals name the field, answer 400 / 403 / 404 / 409 and write nothing.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from declaration_helpers import PDF, build_world, open_task, ready_declaration
from review_path_helpers import LEVEL
from sqlalchemy import func, select

from app.extensions import db
from app.models import ActivityExceptionalCondition, BlacklistEntry, Declaration, DeclarationAchievement
from services.applications import application_review, declarations
from services.applications.application_review import ReviewInput
from services.common import file_store

PNG = b"\x89PNG\r\n\x1a\n" + "申报材料页面测试".encode()  # content no other test stores
PAPER = {"template_code": "paper", "paper_name": "初中函数教学研究", "published_on": "2022-03-01", "category": "论文",
         "journal": "中学数学", "journal_number": "CN51-1234/G4", "author_rank": "独著", "words_thousands": "5"}


@pytest.fixture
def world(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    db.session.commit()  # a refused request rolls back to the last commit, as a real request would
    return world


@pytest.fixture
def applicant_client(client, login_applicant, world):
    return login_applicant(world.applicant)


def base(declaration: Declaration) -> str:
    return f"/applicant/declarations/{declaration.id}"


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def own_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Declaration)) or 0


def draft(world) -> Declaration:
    declaration = declarations.start_declaration(world.applicant, world.activity.id, {"level_code": LEVEL},
                                                 datetime.now())
    db.session.commit()
    return declaration


def submitted(world) -> Declaration:
    declaration = ready_declaration(world)
    declarations.submit(world.applicant, declaration, datetime.now())
    db.session.commit()
    return declaration


def upload(content: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content), name


# ---------------------------------------------------------------- 我的申报 and 暂存申报


def test_the_list_shows_the_open_activity_and_the_home_page_links_to_it(applicant_client, world):
    assert 'href="/applicant/declarations/"' in text_of(applicant_client.get("/applicant/"))

    html = text_of(applicant_client.get("/applicant/declarations/"))

    assert world.activity.name in html and world.chain.committee.name in html
    assert f"/applicant/declarations/new?activity_id={world.activity.id}" in html
    assert "尚未申报" in html


def test_the_new_page_offers_the_activity_levels_and_no_exceptional_track_unless_allowed(applicant_client, world):
    html = text_of(applicant_client.get(f"/applicant/declarations/new?activity_id={world.activity.id}"))

    assert "申报层级" in html and "暂存申报" in html and 'value="intermediate"' in html
    assert "破格条件" not in html and "本次评审活动不进行破格评议" in html


def test_create_fill_and_submit_sends_the_declaration_to_the_school(applicant_client, world):
    response = applicant_client.post(f"/applicant/declarations/new?activity_id={world.activity.id}",
                                     data={"level_code": LEVEL, "evaluation_method": "normal"})
    assert response.status_code == 302, text_of(response)[:500]
    declaration = db.session.scalar(select(Declaration).where(Declaration.applicant_id == world.applicant.id))
    assert declaration.status == "draft" and response.headers["Location"].endswith(base(declaration))

    page = text_of(applicant_client.get(base(declaration)))
    assert "任职以来考核信息：至少填写一条" in page and "身份证明：必传" in page  # submission_problems
    assert "审核路径完整" in page and world.chain.school.name in page

    response = applicant_client.post(f"{base(declaration)}/assessments", data={
        "assessments-1-year": str(date.today().year - 1), "assessments-1-result": "合格",
        "assessments-1-unit": "乐山第一中学校", "assessments-2-year": "", "assessments-2-result": ""})
    assert response.status_code == 302
    item = world.activity.achievements[0]
    form = text_of(applicant_client.get(f"{base(declaration)}/items/{item.id}/achievements/new?template=paper"))
    assert "新增论文著作" in form and 'data-count-for="f-paper_name">0</span> / 100' in form and "千字" in form and "应填写取得当前职称后的成果" in form
    response = applicant_client.post(f"{base(declaration)}/items/{item.id}/achievements/new", data={
        **PAPER, "attachments": upload(PDF, "论文首页.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)[:800]
    requirement = world.activity.material_requirements[0]
    response = applicant_client.post(f"{base(declaration)}/materials/{requirement.id}",
                                     data={"file": upload(PDF, "身份证.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302

    db.session.refresh(declaration)
    assert declaration.assessments == [{"year": date.today().year - 1, "result": "合格", "unit": "乐山第一中学校"}]
    assert declaration.achievements[0].attachments[0]["filename"] == "论文首页.pdf"
    assert declaration.materials[str(requirement.id)][0]["filename"] == "身份证.pdf"
    page = text_of(applicant_client.get(base(declaration)))
    assert "提交前还需完善" not in page and "论文首页.pdf" in page and "data-confirm=" in page

    response = applicant_client.post(f"{base(declaration)}/submit")

    assert response.status_code == 302, text_of(response)[:800]
    db.session.refresh(declaration)
    assert declaration.status == "reviewing" and declaration.current_unit_id == world.chain.school.id
    assert open_task(declaration, world.school_reviewers[0]) is not None
    page = text_of(applicant_client.get(base(declaration)))
    assert "审核中" in page and 'data-testid="trail"' in page
    assert 'data-testid="submit-form"' not in page and 'data-testid="assessment-form"' not in page
    listed = text_of(applicant_client.get("/applicant/declarations/"))
    assert f"{world.chain.school.name} 审核中" in listed


def test_the_own_files_download_and_no_other_hash(applicant_client, world):
    declaration = ready_declaration(world)
    db.session.commit()
    sha = declaration.materials[str(world.activity.material_requirements[0].id)][0]["sha256"]

    response = applicant_client.get(f"{base(declaration)}/files/{sha}")

    assert response.status_code == 200 and response.data == PDF
    # A PDF opens in the browser under its real name (RFC 6266 filename*), with a policy under which nothing runs.
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert "filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert applicant_client.get(f"{base(declaration)}/files/{'0' * 64}").status_code == 404
    assert applicant_client.get(f"{base(declaration)}/files/../../etc").status_code == 404


# ---------------------------------------------------------------- refused input: 400, the field named, nothing written


def test_an_unknown_level_is_refused_and_nothing_is_created(applicant_client, world):
    before = own_count()

    response = applicant_client.post(f"/applicant/declarations/new?activity_id={world.activity.id}",
                                     data={"level_code": "senior", "evaluation_method": "normal"})

    assert response.status_code == 400
    assert "申报层级：请选择本次评审活动开设的级别" in text_of(response)
    assert own_count() == before


def test_the_exceptional_track_is_refused_when_the_activity_does_not_hold_it(applicant_client, world):
    response = applicant_client.post(f"/applicant/declarations/new?activity_id={world.activity.id}",
                                     data={"level_code": LEVEL, "evaluation_method": "exceptional"})

    assert response.status_code == 400 and "本次评审活动不进行破格评议" in text_of(response)


def achievements_of(declaration: Declaration) -> int:
    return db.session.scalar(select(func.count()).select_from(DeclarationAchievement).where(
        DeclarationAchievement.declaration_id == declaration.id)) or 0


def test_a_too_long_template_field_is_refused_beside_the_field(applicant_client, world):
    declaration = draft(world)
    item = world.activity.achievements[0]

    response = applicant_client.post(f"{base(declaration)}/items/{item.id}/achievements/new", data={
        **PAPER, "paper_name": "长" * 101, "attachments": upload(PDF, "a.pdf")}, content_type="multipart/form-data")

    html = text_of(response)
    assert response.status_code == 400 and "名称：不能超过 100 个字" in html
    assert 'id="f-paper_name"' in html and "is-invalid" in html and "中学数学" in html  # the form comes back filled
    assert achievements_of(declaration) == 0


def test_an_unknown_template_field_is_refused(applicant_client, world):
    declaration = draft(world)
    item = world.activity.achievements[0]

    response = applicant_client.post(f"{base(declaration)}/items/{item.id}/achievements/new",
                                     data={**PAPER, "secret": "x"})

    assert response.status_code == 400 and "未知字段：secret" in text_of(response)
    assert achievements_of(declaration) == 0


def test_a_wrong_attachment_type_is_refused(applicant_client, world):
    declaration = draft(world)
    item = world.activity.achievements[0]

    response = applicant_client.post(f"{base(declaration)}/items/{item.id}/achievements/new", data={
        **PAPER, "attachments": upload(b"MZ\x90\x00not a document", "论文.pdf")}, content_type="multipart/form-data")

    assert response.status_code == 400 and "附件信息：文件类型须为 pdf/jpg/png，实际为 未知" in text_of(response)
    assert achievements_of(declaration) == 0


def test_more_than_five_attachments_are_refused(applicant_client, world):
    declaration = draft(world)
    item = world.activity.achievements[0]

    response = applicant_client.post(f"{base(declaration)}/items/{item.id}/achievements/new", data={
        **PAPER, "attachments": [upload(PDF + bytes([n]), f"{n}.pdf") for n in range(6)]},
        content_type="multipart/form-data")

    assert response.status_code == 400 and "附件信息：每条业绩成果最多 5 个附件" in text_of(response)
    assert achievements_of(declaration) == 0


def test_an_item_past_its_max_count_is_refused(applicant_client, world):
    declaration = draft(world)
    item = world.activity.achievements[0]
    item.max_count = 1
    db.session.commit()
    url = f"{base(declaration)}/items/{item.id}/achievements/new"
    assert applicant_client.post(url, data=PAPER).status_code == 302

    response = applicant_client.post(url, data={**PAPER, "paper_name": "第二篇"})

    assert response.status_code == 400 and "论文论著：最多填写 1 条" in text_of(response)
    assert achievements_of(declaration) == 1
    assert "新增论文著作" not in text_of(applicant_client.get(base(declaration)))  # no 新增 button at the maximum


def test_a_material_of_the_wrong_type_is_refused_and_not_stored(applicant_client, world):
    declaration = draft(world)
    requirement = world.activity.material_requirements[0]

    response = applicant_client.post(f"{base(declaration)}/materials/{requirement.id}",
                                     data={"file": upload(PNG, "身份证.png")}, content_type="multipart/form-data")

    assert response.status_code == 400 and "身份证明：文件类型须为 pdf，实际为 png" in text_of(response)
    db.session.refresh(declaration)
    assert declaration.materials == {}
    assert not file_store.path_for(hashlib.sha256(PNG).hexdigest()).exists()


def test_materials_past_their_count_are_refused(applicant_client, world):
    declaration = draft(world)
    requirement = world.activity.material_requirements[0]  # 最多 2 份
    url = f"{base(declaration)}/materials/{requirement.id}"
    for n in range(2):
        assert applicant_client.post(url, data={"file": upload(PDF + bytes([n]), f"{n}.pdf")},
                                     content_type="multipart/form-data").status_code == 302

    response = applicant_client.post(url, data={"file": upload(PDF + b"3", "3.pdf")},
                                     content_type="multipart/form-data")

    assert response.status_code == 400 and "身份证明：最多上传 2 份" in text_of(response)
    db.session.refresh(declaration)
    assert len(declaration.materials[str(requirement.id)]) == 2


def test_a_material_is_deleted(applicant_client, world):
    declaration = ready_declaration(world)
    db.session.commit()
    requirement = world.activity.material_requirements[0]
    sha = declaration.materials[str(requirement.id)][0]["sha256"]

    response = applicant_client.post(f"{base(declaration)}/materials/{requirement.id}/{sha}/delete")

    assert response.status_code == 302
    db.session.refresh(declaration)
    assert declaration.materials[str(requirement.id)] == []


def test_a_bad_assessment_year_is_refused_beside_its_row(applicant_client, world):
    declaration = draft(world)

    response = applicant_client.post(f"{base(declaration)}/assessments", data={
        "assessments-1-year": "1900", "assessments-1-result": "合格", "assessments-1-unit": ""})

    assert response.status_code == 400
    assert "任职以来考核信息第 1 条：考核年度须为 1950 至" in text_of(response)
    db.session.refresh(declaration)
    assert declaration.assessments == []


def test_an_achievement_is_edited_and_deleted(applicant_client, world):
    declaration = ready_declaration(world)
    db.session.commit()
    row = declaration.achievements[0]
    url = f"{base(declaration)}/achievements/{row.id}"
    assert "初中函数教学研究" in text_of(applicant_client.get(f"{url}/edit"))

    assert applicant_client.post(f"{url}/edit", data={**PAPER, "paper_name": "改后的题目"}).status_code == 302
    db.session.refresh(row)
    assert row.fields["paper_name"] == "改后的题目"
    assert applicant_client.post(f"{url}/delete").status_code == 302
    assert achievements_of(declaration) == 0


# ---------------------------------------------------------------- who may: 404 / 403


def test_another_applicants_declaration_is_404(client, login_applicant, make_applicant, world):
    declaration = ready_declaration(world)
    db.session.commit()
    sha = next(iter(declaration.materials.values()))[0]["sha256"]
    login_applicant(make_applicant(world.chain.school, name="李老师"))

    for path in ("", f"/achievements/{declaration.achievements[0].id}/edit", f"/files/{sha}"):
        assert client.get(base(declaration) + path).status_code == 404
    assert client.post(f"{base(declaration)}/submit").status_code == 404
    db.session.refresh(declaration)
    assert declaration.status == "draft"


def test_staff_are_refused(client, login, world):
    declaration = draft(world)
    login(world.school_reviewers[0])

    assert client.get("/applicant/declarations/").status_code == 403
    assert client.get(base(declaration)).status_code == 403


def test_a_blacklisted_applicant_sees_the_reason_and_cannot_declare(applicant_client, world):
    db.session.add(BlacklistEntry(id_number=world.applicant.id_number, name=world.applicant.name, reason="学术造假",
                                  start_date=date.today() - timedelta(days=1),
                                  end_date=date.today() + timedelta(days=900), unit_id=world.chain.city.id,
                                  created_by_id=world.city_reviewers[0].id))
    db.session.commit()

    html = text_of(applicant_client.get("/applicant/declarations/"))
    assert "学术造假" in html and "黑名单期限内不能申报" in html
    assert f"new?activity_id={world.activity.id}" not in html
    assert applicant_client.get(f"/applicant/declarations/new?activity_id={world.activity.id}").status_code == 403
    response = applicant_client.post(f"/applicant/declarations/new?activity_id={world.activity.id}",
                                     data={"level_code": LEVEL, "evaluation_method": "normal"})

    assert response.status_code == 403 and "学术造假" in text_of(response)
    assert own_count() == 0


# ---------------------------------------------------------------- conflicts: 409


def test_submission_after_the_first_deadline_is_409(applicant_client, world):
    declaration = ready_declaration(world)
    world.activity.first_submit_deadline = datetime.now() - timedelta(minutes=1)
    db.session.commit()

    response = applicant_client.post(f"{base(declaration)}/submit")

    assert response.status_code == 409 and "个人初次提交截止时间" in text_of(response)
    db.session.refresh(declaration)
    assert declaration.status == "draft"


def test_a_second_declaration_on_the_same_activity_is_409(applicant_client, world):
    declaration = draft(world)
    url = f"/applicant/declarations/new?activity_id={world.activity.id}"
    assert applicant_client.get(url).headers["Location"].endswith(base(declaration))

    response = applicant_client.post(url, data={"level_code": LEVEL, "evaluation_method": "normal"})

    assert response.status_code == 409 and "每个评审活动只能申报一次" in text_of(response)
    assert own_count() == 1


def test_a_submitted_declaration_cannot_be_changed(applicant_client, world):
    declaration = submitted(world)

    response = applicant_client.post(f"{base(declaration)}/assessments", data={
        "assessments-1-year": "2020", "assessments-1-result": "优秀"})

    assert response.status_code == 409 and "不能修改" in text_of(response)


# ---------------------------------------------------------------- 退回 and 重新提交


def test_after_a_return_the_page_shows_the_opinion_and_resubmission_goes_back_to_the_school(applicant_client, world):
    declaration = submitted(world)
    reviewer = world.school_reviewers[0]
    application_review.review(reviewer, declaration, open_task(declaration, reviewer).id,
                              ReviewInput("return", "请补充年度考核材料", return_to="applicant"))
    db.session.commit()

    page = text_of(applicant_client.get(base(declaration)))
    assert "请补充年度考核材料" in page and "重新提交" in page and world.chain.school.name in page
    assert "已退回：请补充年度考核材料" in text_of(applicant_client.get("/applicant/declarations/"))
    response = applicant_client.post(f"{base(declaration)}/submit", data={"note": ""})
    assert response.status_code == 400 and "修改说明：必填" in text_of(response)
    db.session.refresh(declaration)
    assert declaration.status == "returned"

    response = applicant_client.post(f"{base(declaration)}/submit", data={"note": "已补充考核材料"})

    assert response.status_code == 302, text_of(response)[:800]
    db.session.refresh(declaration)
    assert declaration.status == "reviewing" and declaration.current_unit_id == world.chain.school.id
    assert open_task(declaration, reviewer) is not None


def test_an_incomplete_declaration_is_not_submitted(applicant_client, world):
    declaration = draft(world)

    response = applicant_client.post(f"{base(declaration)}/submit")

    assert response.status_code == 400 and "任职以来考核信息：至少填写一条" in text_of(response)
    db.session.refresh(declaration)
    assert declaration.status == "draft" and declaration.snapshot == {}


def test_the_exceptional_track_and_its_conditions_show_when_the_activity_holds_it(applicant_client, world):
    world.activity.exceptional_review = True
    world.activity.exceptional_conditions = [ActivityExceptionalCondition(position=1, title="获省部级以上奖励")]
    db.session.commit()
    url = f"/applicant/declarations/new?activity_id={world.activity.id}"
    assert "获省部级以上奖励（各级别）" in text_of(applicant_client.get(url))

    response = applicant_client.post(url, data={"level_code": LEVEL, "evaluation_method": "exceptional"})
    assert response.status_code == 400 and "破格条件：请选择本次评审活动该级别的破格条件" in text_of(response)

    condition = world.activity.exceptional_conditions[0]
    response = applicant_client.post(url, data={"level_code": LEVEL, "evaluation_method": "exceptional",
                                                 "exceptional_condition_id": str(condition.id)})
    assert response.status_code == 302
    declaration = db.session.scalar(select(Declaration).where(Declaration.applicant_id == world.applicant.id))
    assert (declaration.evaluation_method, declaration.exceptional_condition_id) == ("exceptional", condition.id)


def test_an_achievement_attachment_can_be_removed(client, login_applicant, world):
    declaration = ready_declaration(world)
    item = world.activity.achievements[0]
    row = declaration.achievements[0]
    checked = file_store.check(declarations.achievement_file_field(), "证明.pdf", PDF)
    declarations.save_achievement(world.applicant, declaration, item.id, row.template_code, row.fields,
                                  uploads=[(checked, PDF)], achievement_id=row.id)
    db.session.flush()
    login_applicant(world.applicant)
    base = f"/applicant/declarations/{declaration.id}"
    assert client.get(f"{base}/files/{checked.sha256}").data == PDF
    assert client.post(f"{base}/achievements/{row.id}/files/{'0' * 64}/delete").status_code == 404
    assert client.post(f"{base}/achievements/{row.id}/files/{checked.sha256}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(DeclarationAchievement, row.id).attachments == []
