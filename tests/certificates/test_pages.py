"""The issuer's pages: queues with filters and counts, bulk clearing as a job, 生成证书 by batch, 汇总表, 证书查询,
撤销 (the public page says 已撤销 at once), 报送人社部, 发证单位编码, the I6 import (refused whole, row/field/rule)."""

from __future__ import annotations

import io
import re

import xlsxwriter
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate, CertificateReport, HumanTask, Issuance


def open_ids(bpmn_id: str) -> list[int]:
    return list(db.session.scalars(select(HumanTask.id).where(
        HumanTask.business_type == "certificate_issuance", HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id)
        .order_by(HumanTask.id)))


def issued_certificates(issuer, people, count=3):
    from services.certificates import bulk, issuance

    issuance.queue(issuer, "review", people(count, approval_no="乐人社〔2026〕30号", approved_on="2026-12-01"))
    bulk.start_clearing(issuer, "pass", open_ids("review_issuance"))
    bulk.start_clearing(issuer, "issue", open_ids("issue_certificate"))
    return list(db.session.scalars(select(Certificate).order_by(Certificate.id)))


def test_initial_queue_batch_generate_and_issue_through_the_pages(login, issuer, people):
    from services.certificates import issuance

    issuance.queue(issuer, "initial", people(4))
    client = login(issuer)
    page = client.get("/certificates/queue?source=initial&tab=pending")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "未发放" in html and 'data-testid="count-pending">4<' in html and "张1" in html
    assert client.get("/certificates/queue?source=initial&tab=pending&name=张2").get_data(as_text=True).count("data-task-id") == 1
    response = client.post("/certificates/batches", data={"name": "2026第一批", "source": "initial"})
    assert response.status_code == 302
    batch_id = db.session.scalar(select(func.max(Issuance.id)))  # any id: replaced below
    from app.models import IssuanceBatch

    batch_id = db.session.scalar(select(IssuanceBatch.id).where(IssuanceBatch.name == "2026第一批"))
    ids = open_ids("review_issuance")
    response = client.post("/certificates/queue/clear", data={"tab": "pending", "action": "pass", "scope": "checked",
                                                               "task_ids": [str(i) for i in ids[:3]],
                                                               "target_batch_id": str(batch_id)})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert len(open_ids("issue_certificate")) == 3
    bad = client.post(f"/certificates/batches/{batch_id}/approval", data={"approval_no": "乐人社[2026]1号",
                                                                         "approved_on": "2026-12-01"})
    assert bad.status_code == 400 and "职称文件文号" in bad.get_data(as_text=True)
    ok = client.post(f"/certificates/batches/{batch_id}/approval", data={"approval_no": "乐人社〔2026〕12号",
                                                                        "approved_on": "2026-12-01"})
    assert ok.status_code == 302
    summary = client.get(f"/certificates/batches/{batch_id}/summary.xlsx")
    assert summary.status_code == 200 and summary.data.startswith(b"PK")
    stamped = client.post(f"/certificates/batches/{batch_id}/stamped",
                          data={"stamped": (io.BytesIO(b"%PDF-1.4\n%stamped\n"), "汇总表.pdf")},
                          content_type="multipart/form-data")
    assert stamped.status_code == 302
    waiting = client.get(f"/certificates/queue?source=initial&tab=waiting&batch_id={batch_id}").get_data(as_text=True)
    assert "乐人社〔2026〕12号" in waiting and waiting.count("data-task-id") == 3
    # 全部按查询条件处理: every task of the batch filter.
    response = client.post("/certificates/queue/clear", data={"tab": "waiting", "action": "issue", "scope": "filter",
                                                               "source": "initial", "batch_id": str(batch_id)})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.status == "valid")) == 3
    issued = client.get("/certificates/queue?source=initial&tab=issued").get_data(as_text=True)
    assert issued.count("证书详情") == 3


def test_return_without_reason_is_refused_naming_the_field(login, issuer, people):
    from services.certificates import issuance

    issuance.queue(issuer, "review", people(1, approval_no="乐人社〔2026〕31号"))
    response = login(issuer).post("/certificates/queue/clear", data={
        "tab": "pending", "action": "return", "scope": "checked", "task_ids": [str(open_ids("review_issuance")[0])]})
    assert response.status_code == 400 and "意见：退回时必须填写原因" in response.get_data(as_text=True)


def test_query_detail_pdf_revoke_and_the_public_page(login, issuer, people, app):
    certificates = issued_certificates(issuer, people)
    client = login(issuer)
    listing = client.get("/certificates/?name=张2").get_data(as_text=True)
    assert certificates[1].number in listing and certificates[0].number not in listing
    detail = client.get(f"/certificates/{certificates[0].id}").get_data(as_text=True)
    full_id = certificates[0].issuance.id_number
    assert certificates[0].verify_code in detail and full_id[:6] in detail and full_id not in detail
    pdf = client.get(f"/certificates/{certificates[0].id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    client.post("/logout")
    public = app.test_client()
    page = public.get(f"/verify/{certificates[0].verify_code}").get_data(as_text=True)
    assert "证书有效" in page and certificates[0].issuance.name in page and certificates[0].issuance.id_number not in page
    assert public.get("/verify/not-a-code").status_code == 404
    client = login(issuer)
    refused = client.post(f"/certificates/{certificates[0].id}/revoke", data={"reason": " "})
    assert refused.status_code == 400 and "撤销原因：必填" in refused.get_data(as_text=True)
    assert client.post(f"/certificates/{certificates[0].id}/revoke", data={"reason": "弄虚作假"}).status_code == 302
    client.post("/logout")  # the app context (and flask-login's cached user in g) is shared by the test clients
    assert "证书已撤销" in public.get(f"/verify/{certificates[0].verify_code}").get_data(as_text=True)


def test_another_units_certificate_is_not_found(login, issuer, people, make_unit, make_user):
    certificates = issued_certificates(issuer, people, 1)
    other = make_user(make_unit(unit_type="hr", region="510100"), permissions=["certificate.query", "certificate.issue"])
    client = login(other)
    assert client.get(f"/certificates/{certificates[0].id}").status_code == 404
    assert certificates[0].number not in client.get("/certificates/").get_data(as_text=True)


def test_report_to_the_ministry_records_what_was_sent(login, issuer, people):
    certificates = issued_certificates(issuer, people)
    client = login(issuer)
    assert client.post("/certificates/reports", data={"scope": "checked",
                                                      "certificate_ids": [str(certificates[0].id)]}).status_code == 302
    assert client.post("/certificates/reports", data={"scope": "all"}).status_code == 302
    reports = list(db.session.scalars(select(CertificateReport).order_by(CertificateReport.id)))
    assert [r.count for r in reports] == [1, 2]
    again = client.post("/certificates/reports", data={"scope": "all"})
    assert again.status_code == 409 and "没有待上报的证书" in again.get_data(as_text=True)
    file = client.get(f"/certificates/reports/{reports[0].id}/file")
    assert file.status_code == 200 and file.data.startswith(b"PK")


def test_issuer_code_and_pattern_are_configurable_and_checked(login, issuer):
    client = login(issuer)
    page = client.get("/certificates/issuer").get_data(as_text=True)
    assert "1100" in page
    bad = client.post("/certificates/issuer", data={"code": "1100", "pattern": "{issuer}{seq}", "block_size": "100"})
    assert bad.status_code == 400 and "编号规则：必须包含 {year}" in bad.get_data(as_text=True)
    ok = client.post("/certificates/issuer", data={"code": "LS01", "pattern": "{issuer}-{year}-{level}-{seq:05d}",
                                                   "block_size": "100"})
    assert ok.status_code == 302


def _xlsx(rows: list[list[str]]) -> bytes:
    from services.certificates.imports import COLUMNS

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for col, (label, _, required) in enumerate(COLUMNS):
        sheet.write_string(0, col, ("*" if required else "") + label)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            sheet.write_string(r, col, value)
    book.close()
    return buffer.getvalue()


def _row(item: dict) -> list[str]:
    from services.certificates.imports import COLUMNS

    return [str(item.get(key, "")) for _, key, _ in COLUMNS]


def test_import_refuses_the_whole_file_naming_row_field_and_rule(login, issuer, people):
    client = login(issuer)
    template = client.get("/certificates/import/template.xlsx")
    assert template.status_code == 200 and template.data.startswith(b"PK")
    good = people(2, approval_no="乐人社〔2026〕40号", approved_on="2026-12-01")
    bad = dict(good[1], level_name="特级")
    response = client.post("/certificates/import", data={"file": (io.BytesIO(_xlsx([_row(good[0]), _row(bad)])), "名单.xlsx")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "第 3 行：级别：应为" in html and "整个文件未导入" in html
    assert db.session.scalar(select(func.count()).select_from(Issuance)) == 0
    no_number = dict(good[1], approval_no="")
    response = client.post("/certificates/import", data={"file": (io.BytesIO(_xlsx([_row(no_number)])), "名单.xlsx")},
                           content_type="multipart/form-data")
    assert "第 2 行：批准文号：必填" in response.get_data(as_text=True)
    response = client.post("/certificates/import", data={"file": (io.BytesIO(_xlsx([_row(i) for i in good])), "名单.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Issuance).where(Issuance.source == "review")) == 2
    assert re.search(r"/jobs/\d+", response.headers["Location"])


def test_an_initial_list_is_imported_without_approval_numbers(login, issuer, people):
    client = login(issuer)
    rows = [_row(i) for i in people(2)]  # no 批准文号 / 批准时间: set at 生成证书
    response = client.post("/certificates/import", data={"source": "initial",
                                                         "file": (io.BytesIO(_xlsx(rows)), "名单.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Issuance).where(Issuance.source == "initial")) == 2


def test_queue_and_query_pages_cost_the_same_queries_for_2_rows_as_for_12(login, issuer, people):
    from sqlalchemy import event

    from services.certificates import bulk, issuance

    client = login(issuer)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def queries(url: str) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    pages = ("/certificates/queue?source=review&tab=pending", "/certificates/queue?source=review&tab=waiting",
             "/certificates/queue?source=review&tab=issued", "/certificates/", "/certificates/reports")

    def grow(count_: int, start: int) -> None:
        issuance.queue(issuer, "review", people(count_, start=start, approval_no="乐人社〔2026〕50号"))
        ids = open_ids("review_issuance")
        bulk.start_clearing(issuer, "pass", ids[: 2 * count_ // 3])
        bulk.start_clearing(issuer, "issue", open_ids("issue_certificate")[: count_ // 3])

    grow(3, 1)
    few = [queries(url) for url in pages]
    grow(18, 10)
    assert [queries(url) for url in pages] == few
