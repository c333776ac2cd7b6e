"""The issuance flow end to end without HTTP: queue → 审核 (添加批次) → 生成证书 → 发放 as a job, the refusals, 退回
and 取消发证 paths, and the certificate PDF's text (pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate, HumanTask, HumanTaskCandidate, Issuance, JobItem
from services.certificates import bulk, issuance
from services.common.errors import Conflict, InvalidInput
from services.common.file_store import path_for


def open_tasks(bpmn_id: str) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.business_type == "certificate_issuance", HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id)
        .order_by(HumanTask.id)))


def pdf_text(sha256: str) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path_for(sha256)), "-"], capture_output=True, check=True)
    # Noto CJK maps some ideographs to their Kangxi-radical code points in the PDF's text layer; NFKC folds them.
    return unicodedata.normalize("NFKC", out.stdout.decode())


def test_queued_people_wait_in_the_issuers_queue(issuer, people):
    queued = issuance.queue(issuer, "initial", people(3))
    assert [i.status for i in queued] == ["pending"] * 3
    tasks = open_tasks("review_issuance")
    assert len(tasks) == 3 and tasks[0].unit_id == issuer.unit_id and tasks[0].applicant_name == "张1"
    candidates = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == tasks[0].id)))
    assert issuer.id in candidates
    assert queued[0].gender == "男" or queued[0].gender == "女"
    assert queued[0].birth_month == "1985-03"


@pytest.mark.parametrize("override, message", [
    ({"name": ""}, "姓名：必填"),
    ({"id_number": "511102198503150018"}, "证件号码：证件号码校验位错误"),
    ({"level_name": "特级"}, "级别：应为"),
    ({"series_name": "不存在系列"}, "系列："),
    ({"qualified_on": "2026-13-01"}, "取得资格时间：应为日期"),
    ({"approval_no": "乐人社[2026]3号"}, "批准文号："),
])
def test_a_bad_item_is_refused_naming_the_field_and_nothing_is_queued(issuer, people, override, message):
    items = people(2)
    items[1].update(override)
    with pytest.raises(InvalidInput) as refused:
        issuance.queue(issuer, "initial", items)
    assert message in refused.value.message


def test_initial_issuance_batch_approval_and_bulk_issue_give_one_numbered_pdf_each(issuer, people):
    issuance.queue(issuer, "initial", people(3))
    batch = issuance.create_batch(issuer, "initial", "2026第一批")
    job = bulk.start_clearing(issuer, "pass", [t.id for t in open_tasks("review_issuance")], batch_id=batch.id)
    assert (job.state, job.done) == ("done", 3)
    issue_ids = [t.id for t in open_tasks("issue_certificate")]
    # 发放 before 生成证书 (批准时间 / 文号) is refused per person, with the reason.
    refused = bulk.start_clearing(issuer, "issue", issue_ids)
    assert (refused.state, refused.done, refused.refused) == ("done", 0, 3)
    reason = db.session.scalar(select(JobItem.message).where(JobItem.job_id == refused.id))
    assert "请先生成证书" in reason
    issuance.set_batch_approval(issuer, batch, "乐人社〔2026〕12号", date(2026, 12, 1))
    job = bulk.start_clearing(issuer, "issue", issue_ids)
    assert (job.state, job.done, job.refused) == ("done", 3, 0)
    certificates = list(db.session.scalars(select(Certificate).order_by(Certificate.number)))
    assert [c.number for c in certificates] == ["110020263000001", "110020263000002", "110020263000003"]
    assert all(c.status == "valid" and c.pdf_sha256 and len(c.verify_code) >= 20 for c in certificates)
    assert {i.status for i in db.session.scalars(select(Issuance))} == {"issued"}
    text = pdf_text(certificates[0].pdf_sha256)
    owner = certificates[0].issuance
    for expected in (owner.name, "一级教师", certificates[0].number, "发证日期", certificates[0].issued_on.isoformat(),
                     "乐人社〔2026〕12号", "乐山市人力资源和社会保障局"):
        assert expected in text, expected


def test_review_source_is_grouped_by_approval_number_and_issues_without_a_batch_step(issuer, people):
    issuance.queue(issuer, "review", people(2, approval_no="乐人社〔2026〕20号", approved_on="2026-12-01"))
    for task in open_tasks("review_issuance"):
        issuance.complete_task(issuer, task.id, "pass")
    batches = {i.batch.name for i in db.session.scalars(select(Issuance))}
    assert batches == {"乐人社〔2026〕20号"}
    job = bulk.start_clearing(issuer, "issue", [t.id for t in open_tasks("issue_certificate")])
    assert job.done == 2


def test_return_and_cancel_need_a_reason_and_end_or_go_back(issuer, people):
    first, second = issuance.queue(issuer, "review", people(2, approval_no="乐人社〔2026〕21号"))
    review = open_tasks("review_issuance")
    with pytest.raises(InvalidInput, match="意见：退回时必须填写原因"):
        issuance.complete_task(issuer, review[0].id, "return")
    issuance.complete_task(issuer, review[0].id, "return", "证件号码与原件不符")
    assert first.status == "returned" and first.reason == "证件号码与原件不符"
    issuance.complete_task(issuer, review[1].id, "pass")
    issuance.complete_task(issuer, open_tasks("issue_certificate")[0].id, "return", "文号待核实")
    assert second.status == "pending" and len(open_tasks("review_issuance")) == 1  # 待发放 → back to 待处理
    issuance.complete_task(issuer, open_tasks("review_issuance")[0].id, "cancel", "本人放弃")
    assert second.status == "cancelled" and not open_tasks("review_issuance")


def test_an_issued_task_cannot_be_cleared_again(issuer, people):
    issuance.queue(issuer, "review", people(1, approval_no="乐人社〔2026〕22号"))
    issuance.complete_task(issuer, open_tasks("review_issuance")[0].id, "pass")
    task_id = open_tasks("issue_certificate")[0].id
    bulk.start_clearing(issuer, "issue", [task_id])
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.status == "valid")) == 1
    again = bulk.start_clearing(issuer, "issue", [task_id])
    assert (again.done, again.refused) == (0, 1)
    with pytest.raises(Conflict):
        issuance.complete_task(issuer, task_id, "cancel", "x")


def test_the_seal_is_uploaded_by_the_units_administrator_and_printed(issuer, issuing_unit, make_user, people):
    from seal_image import seal_png

    from services.certificates import numbering
    from services.common.errors import Forbidden

    with pytest.raises(Forbidden):
        numbering.upload_seal(issuer, issuing_unit, "seal.png", seal_png(60))
    admin = make_user(issuing_unit, admin=True)
    with pytest.raises(InvalidInput, match="文件类型须为 png/jpg"):
        numbering.upload_seal(admin, issuing_unit, "seal.png", b"GIF89a....")
    numbering.upload_seal(admin, issuing_unit, "seal.png", seal_png(60))
    issuance.queue(issuer, "review", people(1, approval_no="乐人社〔2026〕23号"))
    issuance.complete_task(issuer, open_tasks("review_issuance")[0].id, "pass")
    bulk.start_clearing(issuer, "issue", [t.id for t in open_tasks("issue_certificate")])
    certificate = db.session.scalar(select(Certificate))
    images = subprocess.run(["pdfimages", "-list", str(path_for(certificate.pdf_sha256))], capture_output=True,
                            check=True).stdout.decode().splitlines()[2:]
    assert len(images) >= 2  # the QR code and the seal (with its alpha mask)


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbar-tools is not installed")
def test_the_qr_code_on_the_pdf_reads_as_the_verification_address(issuer, people, tmp_path):
    issuance.queue(issuer, "review", people(1, approval_no="乐人社〔2026〕24号"))
    issuance.complete_task(issuer, open_tasks("review_issuance")[0].id, "pass")
    bulk.start_clearing(issuer, "issue", [t.id for t in open_tasks("issue_certificate")])
    certificate = db.session.scalar(select(Certificate))
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(path_for(certificate.pdf_sha256)),
                    str(tmp_path / "page")], check=True)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")], capture_output=True).stdout
    assert decoded.decode().strip() == bulk.verify_url(certificate.verify_code)
