"""历史职称数据 over HTTP (issue 18; S 1.2.8.2; J1–J4, J6): the template, every validation rule with a bad row,
bad files, failures (export, delete, correct), 提交审核 up the path, 退回 and resubmission, 人员名单校验, the
历史评审机构 rules, the command line, and an import that fails half way leaving nothing behind."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
import xlsxwriter
from committee_helpers import Tree, build_tree, file_committee
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Committee,
    HistoricalBody,
    HistoryBatch,
    HistoryRecord,
    HumanTask,
    HumanTaskCandidate,
    Issuance,
)
from services.history import records as history_records
from services.history import upload
from tests.helpers import valid_id_number

DOC = "川人社职〔2020〕60号"
HEADERS = [h for h, _, _, _ in history_records.COLUMNS]


def person(committee: Committee, **changes: Any) -> dict[str, Any]:
    """A row that passes every rule for the committee's series (工程技术人员, 中级); `seq` picks the person."""
    seq = changes.pop("seq", 1)
    row = {"姓名": "张三", "性别": "男", "证件类型": "居民身份证",
           "证件号码": valid_id_number(birth=f"1980{1 + seq // 450:02d}01", sequence=(seq % 450) * 2 + 1),
           "工作单位": "乐山师范学院", "职称系列": "工程技术人员", "职称专业": "建筑施工", "职称级别": "中级",
           "职称名称": "工程师", "评审机构": committee.name, "评审时间": "2020-05-10", "批准时间": "2020-06-30",
           "职称文件文号": DOC, "证书编号": ""}
    row.update(changes)
    return row


def workbook(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    headers = headers or HEADERS
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, header in enumerate(headers):
            value = row.get(header, "")
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), dates)
            else:
                sheet.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


class World:
    def __init__(self, tree: Tree, committee: Committee, reviewer: Any) -> None:
        self.tree, self.committee, self.reviewer = tree, committee, reviewer


@pytest.fixture
def world(make_unit, make_user):
    tree = build_tree(make_unit, make_user, levels_at_authorizing=1)
    committee = file_committee(tree)
    reviewer = make_user(tree.competent, permissions=["history.review", "inbox.view"], name="教育局审核")
    db.session.commit()  # a refused request rolls back to here, as a real one does to its start
    return World(tree, committee, reviewer)


def post_upload(client, content: bytes, method: str = "review", doc_no: str = DOC):
    return client.post("/history/upload", content_type="multipart/form-data",
                       data={"method": method, "doc_no": doc_no, "file": (io.BytesIO(content), "历史数据.xlsx")})


def uploaded(client, content: bytes, **kwargs: Any) -> HistoryBatch:
    response = post_upload(client, content, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    batch_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    db.session.expire_all()
    batch = db.session.get(HistoryBatch, batch_id)
    assert batch.status == "draft"  # the check job ran (eagerly in tests)
    return batch


def errors_of(batch: HistoryBatch) -> dict[int, dict[str, str]]:
    return {r.row_no: r.errors for r in db.session.scalars(select(HistoryRecord).where(
        HistoryRecord.batch_id == batch.id, HistoryRecord.status == "failed"))}


def test_the_template_has_the_columns_in_order_with_notes_and_lists(client, login, world):
    login(world.tree.forming_admin)
    response = client.get("/history/template?method=initial")
    assert response.status_code == 200
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0).to_python()
    assert [h.lstrip("*") for h in sheet[0]] == HEADERS
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        comments = archive.read(next(n for n in names if "comments" in n)).decode()
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "GB 11643" in comments and "〔" in comments
    assert sheet_xml.count("<dataValidation ") >= 5  # 性别, 证件类型, 系列, 级别, 职称名称 (+ 评审机构 “初定”)


def test_every_rule_refuses_its_bad_row_and_names_the_field(client, login, world, make_unit):
    c = world.committee
    other = make_unit(parent=world.tree.city, unit_type="self_review", region="511102", name="另一学院")
    rows = [
        person(c, seq=1),                                                     # 2: passes
        person(c, seq=2, 姓名=""),                                             # 3: required
        person(c, seq=3, 性别="女"),                                            # 4: sex differs from the ID
        person(c, 证件号码="511102198001010010"),                                # 5: check character
        person(c, seq=5, 职称系列="不存在系列"),                                   # 6: series
        person(c, seq=6, 职称名称="高级工程师"),                                   # 7: name not at the level
        person(c, seq=7, 职称名称="教授级高级工程师", 职称级别="正高级", 批准时间="2020-06-30"),  # 8: renamed in 2019
        person(c, seq=8, 评审机构=f"{other.name}评委会"),                           # 9: not a body of this unit
        person(c, seq=9, 评审时间="2020-07-01"),                                   # 10: after approval
        person(c, seq=10, 职称文件文号="川人社职[2020]60号"),                          # 11: brackets
        person(c, seq=11, 职称文件文号="川人社职〔2019〕60号"),                         # 12: year ≠ approval year
        person(c, seq=12, 职称文件文号="川人社职〔2020〕61号"),                         # 13: not the batch's 文号
        person(c, seq=1),                                                      # 14: same person & title as row 2
        person(c, seq=14, 批准时间="2020/06/30"),                                  # 15: date format
        person(c, seq=15, 评审时间=date(2020, 5, 1), 批准时间=date(2020, 6, 30)),    # 16: Excel dates: passes
        person(c, seq=16, 职称专业="不存在专业"),                                   # 17: specialty
        person(c, seq=17, 证件类型="护照"),                                        # 18: id type
    ]
    login(world.tree.forming_admin)
    batch = uploaded(client, workbook(rows))
    found = errors_of(batch)
    assert set(found) == set(range(3, 16)) - {16} | {17, 18}, found
    assert found[3] == {"姓名": "必填"}
    assert found[4] == {"性别": "与证件号码中的性别（男）不一致"}
    assert "校验位" in found[5]["证件号码"]
    assert "系列名称" in found[6]["职称系列"]
    assert "与职称级别不符" in found[7]["职称名称"]
    assert "2020-06-30 不是有效的职称名称" in found[8]["职称名称"] and "2019-02-01" in found[8]["职称名称"]
    assert "本单位已备案的评委会" in found[9]["评审机构"]
    assert found[10] == {"评审时间": "评审时间须早于批准时间"}
    assert "六角括号" in found[11]["职称文件文号"]
    assert "年份须与批准时间年份一致" in found[12]["职称文件文号"]
    assert "与本批次的职称文件文号" in found[13]["职称文件文号"]
    assert found[14] == {"证件号码": "与第 2 行重复（同一人员、同一职称名称）"}
    assert "YYYY-MM-DD" in found[15]["批准时间"]
    assert "职称专业" in found[17] and "证件类型" in found[18]
    assert (batch.ok_count, batch.failed_count) == (2, 15)
    page = client.get(f"/history/batches/{batch.id}?show=failed").get_data(as_text=True)
    assert "检验成功 2 条，检验失败 15 条" in page and "与证件号码中的性别（男）不一致" in page

    # A second batch: the person already holds 工程师 from the first one.
    held = uploaded(client, workbook([person(c, seq=1, 职称文件文号="川人社职〔2020〕70号")]),
                    doc_no="川人社职〔2020〕70号")
    assert "该人员已有职称「工程师」的记录" in errors_of(held)[2]["证件号码"]


def test_an_old_title_name_is_valid_before_its_end_and_initial_bodies_must_read_so(client, login, world, make_user):
    login(make_user(world.tree.city, admin=True, name="人社局管理员"))
    rows = [person(world.committee, seq=1, 职称名称="教授级高级工程师", 职称级别="正高级", 评审机构="初定",
                   评审时间="2010-05-10", 批准时间="2010-06-30", 职称文件文号="川人社职〔2010〕5号"),
            person(world.committee, seq=2, 评审机构="乐山市评委会", 评审时间="2010-05-10", 批准时间="2010-06-30",
                   职称文件文号="川人社职〔2010〕5号")]
    batch = uploaded(client, workbook(rows), method="initial", doc_no="川人社职〔2010〕5号")
    assert errors_of(batch) == {3: {"评审机构": "初定类证书的评审机构只能填写“初定”"}}


def test_bad_files_are_refused_whole_and_nothing_is_kept(client, login, world):
    login(world.tree.forming_admin)
    before_id = db.session.scalar(select(func.coalesce(func.max(HistoryBatch.id), 0)))
    not_xlsx = post_upload(client, b"%PDF-1.4 not a sheet")
    assert not_xlsx.status_code == 400 and "不是有效的 xlsx 文件" in not_xlsx.get_data(as_text=True)
    empty = post_upload(client, b"")
    assert empty.status_code == 400 and "请选择要上传的文件" in empty.get_data(as_text=True)
    # Headers and rows need the sheet parsed: the check job refuses the file, the batch says why.
    for content, reason in ((workbook([person(world.committee)], headers=HEADERS[:-2]), "缺少列「职称文件文号」「证书编号」"),
                            (workbook([]), "没有数据行")):
        response = post_upload(client, content)
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert 'data-testid="file-refused"' in page and reason in page
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (120 * 1024 * 1024) + b">")
    started = datetime.now()
    refused = post_upload(client, bomb.getvalue())
    assert refused.status_code == 400 and "压缩炸弹" in refused.get_data(as_text=True)
    assert (datetime.now() - started).total_seconds() < 5
    bad_doc = post_upload(client, workbook([person(world.committee)]), doc_no="川人社职(2020)60号")
    assert bad_doc.status_code == 400 and "职称文件文号：文号须使用六角括号〔〕" in bad_doc.get_data(as_text=True)
    db.session.expire_all()
    failed = list(db.session.scalars(select(HistoryBatch).where(HistoryBatch.id > before_id)))
    assert [b.status for b in failed] == ["failed", "failed"]  # only the two files refused by their job
    assert db.session.scalar(select(func.count()).select_from(HistoryRecord).where(
        HistoryRecord.batch_id.in_([b.id for b in failed]))) == 0


def test_failures_export_delete_and_correct(client, login, world):
    c = world.committee
    login(world.tree.forming_admin)
    batch = uploaded(client, workbook([person(c, seq=1), person(c, seq=2, 性别="女"), person(c, seq=3, 姓名=""),
                                       person(c, seq=4, 批准时间="2020-13-01")]))
    export = client.get(f"/history/batches/{batch.id}/failures.xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(export.data)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "行号" and rows[0][-1] == "错误原因" and [r[0] for r in rows[1:]] == [3, 4, 5]
    with zipfile.ZipFile(io.BytesIO(export.data)) as archive:
        assert "FFE0E0" in archive.read("xl/styles.xml").decode().upper()  # the bad cells' red fill
    records = {r.row_no: r for r in db.session.scalars(select(HistoryRecord).where(HistoryRecord.batch_id == batch.id))}
    # 修改: the page shows the reason on top and the bad field red; saving re-checks it.
    edit_url = f"/history/batches/{batch.id}/records/{records[3].id}"
    page = client.get(edit_url).get_data(as_text=True)
    assert "与证件号码中的性别（男）不一致" in page and 'data-testid="bad-field"' in page
    form = {name: getattr(records[3], name) for name in history_records.FIELDS}
    still_bad = client.post(edit_url, data={**form, "gender": "女", "review_date": "2021-01-01"})
    assert still_bad.status_code == 400 and "评审时间须早于批准时间" in still_bad.get_data(as_text=True)
    fixed = client.post(edit_url, data={**form, "gender": "男"})
    assert fixed.status_code == 302
    db.session.expire_all()
    assert db.session.get(HistoryRecord, records[3].id).status == "ok"
    assert client.post(f"/history/batches/{batch.id}/delete-failed",
                       data={"record_ids": [str(records[4].id)]}).status_code == 302
    assert client.post(f"/history/batches/{batch.id}/delete-failed", data={"all": "1"}).status_code == 302
    db.session.expire_all()
    batch = db.session.get(HistoryBatch, batch.id)
    assert (batch.ok_count, batch.failed_count) == (2, 0)


def open_task_of(batch: HistoryBatch, user: Any) -> HumanTask:
    task = db.session.scalar(select(HumanTask).join(HumanTaskCandidate).where(
        HumanTask.business_type == "historical_upload", HumanTask.business_id == batch.id,
        HumanTask.status == "open", HumanTaskCandidate.user_id == user.id))
    assert task is not None
    return task


def test_submit_up_the_path_return_resubmit_and_check_names(client, login, make_user, world):
    c, tree = world.committee, world.tree
    issuer = make_user(tree.competent, permissions=["certificate.issue"], name="教育局发证")
    login(tree.forming_admin)
    batch = uploaded(client, workbook([person(c, seq=1, 姓名="张三"), person(c, seq=2, 姓名="李四")]))
    page = client.get(f"/history/batches/{batch.id}").get_data(as_text=True)
    assert f"本次审核需经过以下几级单位：{tree.competent.name}" in page
    no_file = client.post(f"/history/batches/{batch.id}/submit", data={"issuer_id": str(tree.competent.id)})
    assert no_file.status_code == 400 and "请上传任职资格文件" in no_file.get_data(as_text=True)
    pdf = (io.BytesIO(b"%PDF-1.4\n%%EOF"), "任职资格文件.pdf")
    submitted = client.post(f"/history/batches/{batch.id}/submit", content_type="multipart/form-data",
                            data={"issuer_id": str(tree.competent.id), "qualification_file": pdf})
    assert submitted.status_code == 302
    db.session.expire_all()
    assert db.session.get(HistoryBatch, batch.id).status == "reviewing"

    client.post("/logout")
    login(world.reviewer)
    listing = client.get("/history/review").get_data(as_text=True)
    assert DOC in listing
    names = client.post(f"/history/review/{batch.id}", data={"names": "张三 王五"}).get_data(as_text=True)
    assert "存在 1 人，不存在 1 人" in names
    task = open_task_of(batch, world.reviewer)
    assert client.post(f"/inbox/tasks/{task.id}", data={"decision": "return", "opinion": "缺少李四的任职资格文件"}
                       ).status_code == 302
    db.session.expire_all()
    batch = db.session.get(HistoryBatch, batch.id)
    assert batch.status == "returned"

    client.post("/logout")
    login(tree.forming_admin)
    page = client.get(f"/history/batches/{batch.id}").get_data(as_text=True)
    assert "审核退回：缺少李四的任职资格文件" in page
    again = client.post(f"/history/batches/{batch.id}/submit", data={"issuer_id": str(tree.competent.id)})
    assert again.status_code == 302  # the file uploaded before stands

    client.post("/logout")
    login(world.reviewer)
    task = open_task_of(batch, world.reviewer)
    assert client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass", "opinion": "同意"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(HistoryBatch, batch.id).status == "approved"

    # 历史证书生成 (J5): the 发证机构 hands the batch's people to the certificate queue in one job.
    client.post("/logout")
    login(issuer)
    listing = client.get("/history/issue").get_data(as_text=True)
    assert DOC in listing and "批量发证" in listing
    people = client.get(f"/history/review/{batch.id}").get_data(as_text=True)  # its 证书列表
    assert "张三" in people and "李四" in people
    started = client.post(f"/history/issue/{batch.id}")
    assert started.status_code == 302
    db.session.expire_all()
    assert db.session.get(HistoryBatch, batch.id).status == "issued"
    queued = db.session.scalars(select(Issuance).where(Issuance.source == "history")).all()
    assert sorted(i.name for i in queued) == ["张三", "李四"] and {i.issuer_unit_id for i in queued} == {tree.competent.id}
    assert {i.approval_no for i in queued} == {DOC}
    assert client.post(f"/history/issue/{batch.id}").status_code == 409  # once only


def test_historical_bodies_decide_who_collects_what(client, login, world, make_user):
    tree = world.tree
    hr = make_user(tree.city, permissions=["history.bodies", "history.collect"], name="人社局")
    login(hr)
    bad = client.post("/history/bodies/new", data={"name": "", "series_codes": [], "level_codes": ["x"],
                                                   "collector_ids": [str(tree.other_city.id)]})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "评审机构名称：必填" in text and "至少选择一个有效的系列" in text
    assert client.post("/history/bodies/new", data={
        "name": "乐山地区教师职称改革领导小组", "series_codes": ["primary_secondary_teacher"],
        "level_codes": ["intermediate"], "collector_ids": [str(tree.child.id)]}).status_code == 302
    body = db.session.scalar(select(HistoricalBody).where(HistoricalBody.name == "乐山地区教师职称改革领导小组"))

    client.post("/logout")
    login(tree.child_admin)
    row = {"姓名": "王老师", "性别": "男", "证件类型": "居民身份证", "证件号码": valid_id_number(sequence=11),
           "工作单位": "附中", "职称系列": "中小学教师", "职称专业": "", "职称级别": "中级", "职称名称": "中学一级教师",
           "评审机构": body.name, "评审时间": "2012-05-10", "批准时间": "2012-06-30", "职称文件文号": "乐教职〔2012〕3号"}
    senior = {**row, "证件号码": valid_id_number(sequence=13), "职称级别": "副高级", "职称名称": "中学高级教师"}
    row["职称专业"] = senior["职称专业"] = "语文"
    batch = uploaded(client, workbook([row, senior]), doc_no="乐教职〔2012〕3号")
    assert errors_of(batch) == {3: {"评审机构": f"「{body.name}」不能评审副高级"}}

    client.post("/logout")
    login(hr)
    assert client.post(f"/history/bodies/{body.id}/delete").status_code == 409  # titles were collected under it
    assert client.post(f"/history/bodies/{body.id}/toggle").status_code == 302
    db.session.expire_all()
    assert upload.methods_for_unit(tree.child) == {}  # disabled: the unit collects nothing any more


def test_the_command_line_checks_exactly_as_the_page(app, world, tmp_path):
    c = world.committee
    path = tmp_path / "history.xlsx"
    path.write_bytes(workbook([person(c, seq=1), person(c, seq=2, 性别="女")]))
    runner = app.test_cli_runner()
    unit = world.tree.forming.credit_code
    result = runner.invoke(args=["history", "check", str(path), "--method", "职称评审", "--unit", unit, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report == {"rows": 2, "ok": 1, "failed": 1,
                      "failures": [{"row": 3, "field": "性别", "rule": "与证件号码中的性别（男）不一致"}]}
    path.write_bytes(workbook([person(c, seq=1)]))
    assert runner.invoke(args=["history", "check", str(path), "--method", "职称评审", "--unit", unit]).exit_code == 0
    path.write_bytes(b"not a workbook")
    unreadable = runner.invoke(args=["history", "check", str(path), "--method", "职称评审", "--unit", unit])
    assert unreadable.exit_code == 2 and "不是有效的 xlsx 文件" in unreadable.output
    path.write_bytes(workbook([person(c, seq=1)]))
    stored = runner.invoke(args=["history", "import", str(path), "--method", "职称评审", "--unit", unit])
    assert stored.exit_code == 0 and "已保存为批次" in stored.output, stored.output
    batch_id = int(re.search(r"批次 (\d+)", stored.output).group(1))
    assert db.session.get(HistoryBatch, batch_id).ok_count == 1


def test_an_import_that_fails_half_way_leaves_no_row(client, login, world, monkeypatch):
    c = world.committee
    login(world.tree.forming_admin)
    rows = [person(c, seq=n) for n in range(1, upload.CHUNK + 50)]
    original = history_records.Rules.check

    def dying(self, row_no, raw):  # the worker dies after the first chunk was checked
        if row_no == upload.CHUNK + 10:
            raise RuntimeError("worker killed")
        return original(self, row_no, raw)

    monkeypatch.setattr(history_records.Rules, "check", dying)
    response = post_upload(client, workbook(rows))
    batch_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    db.session.expire_all()
    batch = db.session.get(HistoryBatch, batch_id)
    assert batch.status == "checking"
    assert db.session.scalar(select(func.count()).select_from(HistoryRecord)
                             .where(HistoryRecord.batch_id == batch_id)) == 0
    monkeypatch.setattr(history_records.Rules, "check", original)
    from services.jobs import retry_job

    retry_job(world.tree.forming_admin, db.session.get(__import__("app.models", fromlist=["Job"]).Job, batch.job_id))
    db.session.expire_all()
    batch = db.session.get(HistoryBatch, batch_id)
    assert (batch.status, batch.ok_count, batch.failed_count) == ("draft", len(rows), 0)


def flag_even_rows(rows):
    """A stand-in social-insurance check (HISTORY_RISK_CHECK): every even row number is high-risk."""
    return {row.row_no: "社保缴费单位与工作单位不一致" for row in rows if row.row_no % 2 == 0}


def test_the_social_insurance_check_marks_rows_without_refusing_them(app, client, login, world, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_RISK_CHECK", "tests.web.test_history:flag_even_rows")
    login(world.tree.forming_admin)
    batch = uploaded(client, workbook([person(world.committee, seq=n) for n in (1, 2, 3)]))
    assert (batch.ok_count, batch.failed_count, batch.risk_count) == (3, 0, 2)
    risky = db.session.scalars(select(HistoryRecord.row_no).where(HistoryRecord.batch_id == batch.id,
                                                                  HistoryRecord.high_risk != ""))
    assert sorted(risky) == [2, 4]
    page = client.get(f"/history/batches/{batch.id}").get_data(as_text=True)
    assert "社保校验高风险 2 条" in page and "高风险" in page


def test_the_batch_list_costs_the_same_statements_for_one_batch_as_for_five(client, login, make_user, world):
    from tests.web.test_message_list_queries import statements_for

    tree = world.tree
    collector = tree.forming_admin

    def add_batch(n: int) -> None:
        db.session.add(HistoryBatch(method="review", doc_no=f"川人社职〔2020〕{n}号", collector_unit_id=tree.forming.id,
                                    collected_by_id=make_user(tree.forming, name=f"采集人{n}").id,
                                    issuer_unit_id=(tree.competent, tree.city, tree.province)[n % 3].id,
                                    status="draft", path=[], qualification_file={}, opinion=""))
        db.session.commit()

    login(collector)
    add_batch(1)
    one = statements_for(client, "/history/")
    for n in range(2, 6):
        add_batch(n)
    assert statements_for(client, "/history/") == one  # collectors and issuers are read with the page
