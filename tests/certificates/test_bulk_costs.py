"""What one task of a bulk job costs (issue 17): its statements, counted; and the certificate document split into
one PDF per page by copying each page's objects, page for page the same as pypdf's split."""

from __future__ import annotations

import io
import subprocess
import unicodedata

from pypdf import PdfReader
from sqlalchemy import event, select

from app.extensions import db
from app.models import HumanTask
from services.certificates import bulk, documents, issuance, pdf_pages

# Per task: lock the instance and read the task with the candidate check (2), the task done and its candidates'
# copies (2), the trail (1), the state (1), the new task, its candidates and their notification (3), the issuance
# (1), the job's item and counter (2). The 文号's batch and the issuers are read once per chunk (shared_reads).
PASS_STATEMENTS_PER_TASK = 12


def _open_ids(bpmn_id: str) -> list[int]:
    return list(db.session.scalars(select(HumanTask.id).where(
        HumanTask.business_type == "certificate_issuance", HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id)
        .order_by(HumanTask.id)))


def _statements_of_pass_job(issuer, task_ids: list[int]) -> int:  # noqa: ANN001
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement != "BEGIN" and "SAVEPOINT" not in statement:  # the suite's transactions stand for commits
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        job = bulk.start_clearing(issuer, "pass", task_ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert (job.state, job.done) == ("done", len(task_ids))
    return len(statements)


def test_a_bulk_pass_costs_a_fixed_number_of_statements_per_task(issuer, people):
    issuance.queue(issuer, "review", people(22, approval_no="乐人社〔2026〕60号"))
    ids = _open_ids("review_issuance")
    _statements_of_pass_job(issuer, ids[:2])  # the first job makes the 文号's batch and loads the starter's roles
    few = _statements_of_pass_job(issuer, ids[2:7])
    many = _statements_of_pass_job(issuer, ids[7:])
    assert (many - few) / 10 <= PASS_STATEMENTS_PER_TASK


def test_the_document_splits_into_one_pdf_per_certificate_as_pypdf_would(issuer, people):
    issuance.queue(issuer, "review", people(3, approval_no="乐人社〔2026〕61号"))
    for task_id in _open_ids("review_issuance"):
        issuance.complete_task(issuer, task_id, "pass")
    people_ = bulk._issuances_of_tasks(_open_ids("issue_certificate"))
    bulk.number_certificates(people_)
    pages = [bulk.page_for(i.certificate, i, "") for i in people_]
    document = documents.render_document(documents.document_html(pages))
    copied = pdf_pages.split(document)
    assert copied is not None and len(copied) == 3
    reader = PdfReader(io.BytesIO(document))
    for part, page, original in zip(copied, pages, reader.pages, strict=True):
        single = PdfReader(io.BytesIO(part), strict=True)
        assert len(single.pages) == 1
        assert single.pages[0].extract_text() == original.extract_text()
        text = subprocess.run(["pdftotext", "-", "-"], input=part, capture_output=True, check=True).stdout.decode()
        assert page.number in text and page.name in text and "发证日期" in unicodedata.normalize("NFKC", text)


def test_a_pdf_of_another_form_is_left_to_pypdf():
    assert pdf_pages.split(b"%PDF-1.5\n1 0 obj\n<< /Type /XRef >>\nendobj\nstartxref\n9\n%%EOF\n") is None
    assert pdf_pages.split(b"not a pdf") is None
