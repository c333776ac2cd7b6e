"""The meeting's spreadsheets (manual S 1.2.5.5 "开启专家投票", "评委会计票"; FEATURES G6, G7, G9): 人员再排序模板,
报评人员名册, 申报人员汇总表, 参评专家信息 and 表决票结果. ID numbers are masked except in the 再排序 template (it is
the key staff fill the order against); 表决票结果 holds counts only (无记名)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.models import ExpertDraw, ReviewMeeting
from app.models.meeting import RESULT_LABELS
from services.common.errors import NotFound
from services.common.excel.export import write_table
from services.meetings import assignment, draws, voting
from services.reference.validation import mask_id_number

REORDER_COLUMNS = ("排序号", "姓名", "身份证号", "工作单位")
SHEETS = {"roster": "报评人员名册", "summary": "申报人员汇总表", "experts": "参评专家信息", "ballots": "表决票结果"}


def reorder_template(meeting: ReviewMeeting) -> bytes:
    rows = [(a.position, a.declaration.applicant.name, a.declaration.applicant.id_number, a.declaration.unit.name)
            for a in assignment.applicants_of(meeting, ("waiting",))]
    return write_table("人员再排序", REORDER_COLUMNS, rows)


def draw_record_xlsx(meeting: ReviewMeeting, record: ExpertDraw) -> bytes:
    """抽选记录 for auditors: the seed and rules on top, then every pool expert with the result and the reason."""
    headers = ("专家ID", "姓名", "工作单位", "从事专业", "评委会职务", "近三年参会", "曾任主任委员年份", "抽选小组", "结果", "原因",
               "回避")
    head = [("随机种子", record.seed), ("抽选倍数", f"{record.multiplier_tenths / 10:g} 倍"), ("年度", record.year),
            ("类型", "补抽" if record.kind == "replacement" else "抽选"), ("操作人", record.created_by_name)]
    rows: list[Sequence[object]] = [(label, value, "", "", "", "", "", "", "", "", "") for label, value in head]
    rows += [(r["expert_id"], r["name"], r["unit"], r["specialty"], r["role"], "、".join(map(str, r["attended_years"])),
              "、".join(map(str, r["chair_years"])), r["group"], "抽中" if r["drawn"] else "未抽中", r["reason"],
              r["recused"]) for r in draws.draw_record_rows(record, draws.recusals(meeting))]
    return write_table("抽选记录", headers, rows)


def build(meeting: ReviewMeeting, kind: str) -> bytes:
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    if kind == "roster":
        headers = ("排序号", "姓名", "性别", "身份证号", "工作单位", "申报层级", "评价方式", "来源")
        rows = [(a.position, a.declaration.applicant.name, a.declaration.applicant.gender,
                 mask_id_number(a.declaration.applicant.id_number), a.declaration.unit.name,
                 a.declaration.level.name, a.declaration.evaluation_method_label,
                 "破格评议通过" if a.source == "exceptional" else "参评资格审核通过")
                for a in assignment.applicants_of(meeting)]
    elif kind == "summary":
        headers = ("排序号", "姓名", "工作单位", "申报专业", "笔试成绩", "答辩日期", "答辩序号", "状态")
        rows = [(a.position, a.declaration.applicant.name, a.declaration.unit.name,
                 a.declaration.specialty.name if a.declaration.specialty else "", a.exam_score,
                 a.interview.get("date", ""), a.interview.get("sequence", ""), a.status_label)
                for a in assignment.applicants_of(meeting)]
    elif kind == "experts":
        headers = ("序号", "姓名", "工作单位", "从事专业", "现职称", "抽选小组", "主任委员备选", "执行主任", "专业组", "组长",
                   "状态", "缺席")
        rows = [(n, m.expert.name, m.expert.work_unit, m.expert.specialty, m.expert.title.name, m.group.specialty,
                 "是" if m.chair else "否", "是" if m.executive_chair else "否", m.specialty_group,
                 "是" if m.group_leader else "否", m.status_label, "是" if m.absent else "否")
                for n, m in enumerate(draws.meeting_experts(meeting), start=1)]
    elif kind == "ballots":
        headers = ("轮次", "专业组", "排序号", "姓名", "工作单位", "应到专家数", "到会专家数", "通过", "不通过", "弃权", "计票结果")
        applicants = {a.id: a for a in assignment.applicants_of(meeting)}
        counted = voting.round_results(meeting)
        if counted:
            rows = [(r.round_no, r.specialty_group, applicants[r.meeting_applicant_id].position,
                     applicants[r.meeting_applicant_id].declaration.applicant.name,
                     applicants[r.meeting_applicant_id].declaration.unit.name, r.members, r.present, r.votes_pass,
                     r.votes_fail, r.votes_abstain, r.result_label) for r in counted]
        else:
            rows = []
        if meeting.voting_open:  # the round being counted, before 计票完成
            rows += [(meeting.current_round, a.specialty_group if meeting.group_voting else "", a.position,
                      a.declaration.applicant.name, a.declaration.unit.name, t.members, t.present, t.votes_pass,
                      t.votes_fail, t.votes_abstain, f"{RESULT_LABELS[t.result]}（未计票完成）")
                     for a, t in voting.applicant_tallies(meeting)]
    else:
        raise NotFound("导出类型不存在")
    return write_table(SHEETS[kind], headers, rows)
