"""下载评审表 (S 1.2.8.1 已发放): the 评审表 of a certificate holds the declaration, every review level's opinion with
who and when, the committee's count and the confirmation; the ID number is masked as on every staff page; one
per certificate, several as one PDF (a background job past a handful); another unit's staff get 404."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from datetime import date, datetime, timedelta

import pytest
from certificates.conftest import person_item
from declaration_helpers import OPINION, pass_unit, publicity_input, submitted_declaration
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Certificate,
    HumanTask,
    Job,
    MeetingApplicant,
    ResultEntry,
    ResultPublicity,
    ReviewMeeting,
    RoundResult,
)

ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# Radicals-supplement forms NFKC leaves alone (Noto CJK's text layer maps 齐 见 民 门 to them).
RADICALS = str.maketrans({"⻬": "齐", "⻅": "见", "⺠": "民", "⻔": "门"})


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def pdf_text(content: bytes) -> str:
    # NFKC: Noto CJK's PDF text maps some characters to Kangxi radicals (⼈ for 人).
    out = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout
    return nfkc(out.decode()).translate(RADICALS)


def open_ids(bpmn_id: str) -> list[int]:
    return list(db.session.scalars(select(HumanTask.id).where(
        HumanTask.business_type == "certificate_issuance", HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id)
        .order_by(HumanTask.id)))


APPROVED = {"approval_no": "乐人社〔2026〕30号", "approved_on": "2026-12-01"}


def issue(issuer, items, refs=None) -> list[Certificate]:
    from services.certificates import bulk, issuance

    issuance.queue(issuer, "review", items, source_refs=refs)
    bulk.start_clearing(issuer, "pass", open_ids("review_issuance"))
    bulk.start_clearing(issuer, "issue", open_ids("issue_certificate"))
    return list(db.session.scalars(select(Certificate).order_by(Certificate.id)))


def reviewed_and_counted(world):
    """A declaration passed by the school (two levels), the 教育局 and the 人社局 (two levels), counted at the
    committee's meeting (7 同意, 1 不同意, 1 弃权) and confirmed with its 文号."""
    declaration = submitted_declaration(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    pass_unit(world, declaration, world.chain.competent)
    pass_unit(world, declaration, world.chain.city)
    committee = world.chain.committee
    meeting = ReviewMeeting(activity_id=world.activity.id, committee_id=committee.id,
                            unit_id=committee.forming_unit_id, kind="ordinary", name="2026年度中小学教师中级评审会",
                            year=world.activity.year)
    db.session.add(meeting)
    db.session.flush()
    applicant = MeetingApplicant(meeting_id=meeting.id, declaration_id=declaration.id)
    db.session.add(applicant)
    db.session.flush()
    db.session.add(RoundResult(meeting_id=meeting.id, meeting_applicant_id=applicant.id, round_no=1, members=9,
                               present=9, votes_pass=7, votes_fail=1, votes_abstain=1, result="passed"))
    today = date.today()
    publicity = ResultPublicity(meeting_id=meeting.id, committee_id=committee.id, unit_id=committee.forming_unit_id,
                                title="评审结果公示", start_on=today, end_on=today + timedelta(days=7), working_days=5,
                                contact_name="周老师", contact_phone="0833-2276000")
    db.session.add(publicity)
    db.session.flush()
    entry = ResultEntry(publicity_id=publicity.id, declaration_id=declaration.id, committee_id=committee.id,
                        committee_unit_id=committee.forming_unit_id, confirming_unit_id=world.chain.competent.id,
                        name=world.applicant.name, work_unit=world.chain.school.name, title_name="一级教师",
                        status="confirmed", opinion="经核实，同意确认", doc_no=f"乐教职〔{today.year}〕7号",
                        approved_on=today, decided_at=datetime.now())
    db.session.add(entry)
    db.session.flush()
    return declaration, entry


def test_the_review_form_holds_the_declaration_every_opinion_and_the_votes(world, issuer, login):
    declaration, entry = reviewed_and_counted(world)
    item = person_item(1, name=world.applicant.name, id_number=world.applicant.id_number, title_name="一级教师",
                       approval_no=entry.doc_no, approved_on=date.today().isoformat())
    [certificate] = issue(issuer, [item], refs=[f"result:{entry.id}"])
    client = login(issuer)

    response = client.get(f"/certificates/{certificate.id}/review-form.pdf")

    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = pdf_text(response.data)
    compact = re.sub(r"\s+", "", text)
    assert "专业技术职务任职资格评审表" in compact and world.applicant.name in compact and "一级教师" in compact
    assert certificate.number in compact
    assert "四川师范大学" in compact and "初中函数教学研究" in compact  # 学历 and 业绩成果 as declared
    for reviewer in (*world.school_reviewers, world.competent_reviewer, *world.city_reviewers):
        assert reviewer.name in compact, reviewer.name
    assert compact.count(nfkc(OPINION)) >= 5  # each level's 审核意见
    assert "申报单位第一级审核" in compact and "主管部门审核" in compact
    assert "同意7票" in compact and "不同意1票" in compact and "弃权1票" in compact and "通过" in compact
    assert nfkc("经核实，同意确认") in compact and nfkc(entry.doc_no) in compact
    assert "发证员" in compact  # the issuance's own steps
    # Masked as on every staff page: no full ID number (the applicant's, nor any other).
    # (an 18-digit 统一社会信用代码 inside the 电子证照标识 has the same shape)
    assert set(ID_NUMBER.findall(compact)) <= {issuer.unit.credit_code}
    assert world.applicant.id_number not in compact and world.applicant.id_number[-4:] in compact
    assert declaration.id


def test_a_certificate_without_a_declaration_says_so(issuer, people, login):
    [certificate] = issue(issuer, people(1, **APPROVED))

    text = re.sub(r"\s+", "", pdf_text(login(issuer).get(f"/certificates/{certificate.id}/review-form.pdf").data))

    assert "张1" in text and "平台内无申报、审核与评审会议记录" in text


def test_several_review_forms_are_one_pdf_and_many_a_job(issuer, people, login):
    certificates = issue(issuer, people(7, **APPROVED))
    client = login(issuer)
    ids = [str(c.id) for c in certificates]

    few = client.post("/certificates/review-forms", data={"certificate_ids": ids[:2]})
    many = client.post("/certificates/review-forms", data={"certificate_ids": ids})

    assert few.status_code == 200 and few.mimetype == "application/pdf"
    assert all(name in pdf_text(few.data) for name in ("张1", "张2"))
    assert many.status_code == 302 and "/jobs/" in many.headers["Location"]
    job = db.session.scalars(select(Job).where(Job.kind == "certificates.review_forms")).one()
    assert job.state == "done" and job.result_filename.endswith(".pdf")
    file = client.get(f"/jobs/{job.id}/file")
    assert file.status_code == 200 and all(f"张{n}" in pdf_text(file.data) for n in range(1, 8))


@pytest.mark.parametrize(("ids", "message"), [([], "请至少选择一条证书"), (["x"], "证书选择有误")])
def test_bad_selection_is_a_400_naming_the_field(issuer, login, ids, message):
    response = login(issuer).post("/certificates/review-forms", data={"certificate_ids": ids})

    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_another_units_staff_get_404(issuer, people, login, make_unit, make_user):
    [certificate] = issue(issuer, people(1, **APPROVED))
    other = make_user(make_unit(unit_type="hr", region="511000", name="内江市人社局"),
                      permissions=["certificate.query", "certificate.issue"])
    client = login(other)

    assert client.get(f"/certificates/{certificate.id}/review-form.pdf").status_code == 404
    assert client.post("/certificates/review-forms", data={"certificate_ids": [str(certificate.id)]}).status_code == 404
