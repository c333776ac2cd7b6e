"""会议准备 (manual S 1.2.5.2 设置评分标准, S 1.2.5.3 导入答辩安排, S 1.2.5.4 导入笔试成绩; FEATURES G2–G4).

Rules owned here:
- 评分标准 (at most 5000 characters) is shown to the experts on their side.
- 导入答辩安排: the template lists the meeting's applicants (姓名, 身份证号, 工作单位) with the columns staff fill
  (答辩日期, 答辩到会时间, 答辩地址, 答辩签到处, 答辩序号, 答辩会议室). Every row is checked (the person on the
  meeting, a real date, a HH:MM time, the address, a positive 序号 unique in the file); one bad row refuses the
  whole file and nothing is kept. Accepted rows become each applicant's 答辩通知, shown to the applicant and to the
  units on the declaration's path.
- 导入笔试成绩: 身份证号, 笔试成绩, 是否通过 (通过 / 不通过) per applicant; all or nothing likewise. A 不通过 ends the
  applicant's declaration for this activity as 笔试不通过 (S 1.2.5.4); passers stay on the 待分配 list.
- 会议准备 is done when, if the activity organises 全体面试答辩 / 全体参加笔试, every applicant has an arrangement /
  a score.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from app.extensions import db
from app.models import MeetingApplicant, ReviewMeeting, User
from services.common import uploads
from services.common.errors import InvalidInput
from services.common.excel.export import write_table
from services.meetings.assignment import applicants_of
from services.meetings.meetings import check_invalid, record, register_step_check, require_step

MAX_BYTES = 5 * 1024 * 1024
INTERVIEW_COLUMNS = ("姓名", "身份证号", "工作单位", "答辩日期", "答辩到会时间", "答辩地址", "答辩签到处", "答辩序号",
                     "答辩会议室")
EXAM_COLUMNS = ("姓名", "身份证号", "工作单位", "笔试成绩", "是否通过")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def save_scoring_standard(actor: User, meeting: ReviewMeeting, text: str) -> None:
    require_step(meeting, "prepare_meeting", "draw_experts", "confirm_experts", "group_experts", "assign_applicants",
                 "open_voting")
    text = (text or "").strip()
    if len(text) > 5000:
        raise InvalidInput("评分标准：不能超过 5000 个字", field="scoring_standard")
    meeting.scoring_standard = text
    record(meeting, actor.name, "scoring_standard", "设置评分标准")


def _template(meeting: ReviewMeeting, columns: Sequence[str], sheet: str) -> bytes:
    rows = [(a.declaration.applicant.name, a.declaration.applicant.id_number, a.declaration.unit.name)
            for a in applicants_of(meeting, ("waiting",))]
    return write_table(sheet, columns, rows)


def interview_template(meeting: ReviewMeeting) -> bytes:
    return _template(meeting, INTERVIEW_COLUMNS, "答辩安排")


def exam_template(meeting: ReviewMeeting) -> bytes:
    return _template(meeting, EXAM_COLUMNS, "笔试成绩")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_sheet(content: bytes, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """(row number, {header: text}) for every non-blank data row of a real xlsx with the template's headers."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"导入文件：不能超过 {MAX_BYTES // 1024 // 1024} MB", field="file")
    if not content.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(content)):
        raise InvalidInput("导入文件：不是有效的 xlsx 文件，请使用下载的模板填写后上传", field="file")
    uploads.check_archive(content, "导入文件", "file")
    try:
        rows: list[list[Any]] = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0) \
            .to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInput("导入文件：不是有效的 xlsx 文件，请使用下载的模板填写后上传", field="file") from exc
    if not rows:
        raise InvalidInput("导入文件：没有数据", field="file")
    header = {_cell(h).lstrip("*"): i for i, h in enumerate(rows[0])}
    missing = [c for c in columns if c not in header]
    if missing:
        raise InvalidInput(f"导入文件：缺少列「{'」「'.join(missing)}」，请使用下载的模板", field="file")
    found = []
    for number, row in enumerate(rows[1:], start=2):
        values = {c: _cell(row[header[c]]) if header[c] < len(row) else "" for c in columns}
        if any(values.values()):
            found.append((number, values))
    if not found:
        raise InvalidInput("导入文件：没有数据行", field="file")
    return found


def _match(meeting: ReviewMeeting, rows: list[tuple[int, dict[str, str]]], problems: list[str]
           ) -> list[tuple[int, dict[str, str], MeetingApplicant]]:
    by_number = {a.declaration.applicant.id_number: a for a in applicants_of(meeting, ("waiting",))}
    seen: set[str] = set()
    matched = []
    for number, values in rows:
        id_number = values["身份证号"].upper()
        applicant = by_number.get(id_number)
        if applicant is None:
            problems.append(f"第 {number} 行：身份证号 {id_number or '（空）'} 不是本会议待评审的参评人员")
            continue
        if id_number in seen:
            problems.append(f"第 {number} 行：身份证号 {id_number} 在文件中重复")
            continue
        seen.add(id_number)
        matched.append((number, values, applicant))
    return matched


def import_interviews(actor: User, meeting: ReviewMeeting, content: bytes, today: date | None = None) -> int:
    """导入答辩安排 → 答辩通知; all rows or none."""
    require_step(meeting, "prepare_meeting")
    today = today or date.today()
    problems: list[str] = []
    matched = _match(meeting, read_sheet(content, INTERVIEW_COLUMNS), problems)
    sequences: dict[str, int] = {}
    arrangements = []
    for number, values, applicant in matched:
        try:
            day: date | None = date.fromisoformat(values["答辩日期"][:10])
        except ValueError:
            day = None
            problems.append(f"第 {number} 行：答辩日期 须为 YYYY-MM-DD 格式的日期")
        if day is not None and day < today:
            problems.append(f"第 {number} 行：答辩日期 不能早于今天")
        if not _TIME.match(values["答辩到会时间"]):
            problems.append(f"第 {number} 行：答辩到会时间 须为 HH:MM 格式")
        for column, limit in (("答辩地址", 100), ("答辩签到处", 50), ("答辩会议室", 50)):
            if not values[column]:
                problems.append(f"第 {number} 行：{column} 必填")
            elif len(values[column]) > limit:
                problems.append(f"第 {number} 行：{column} 不能超过 {limit} 个字")
        sequence = values["答辩序号"]
        if not sequence.isdigit() or int(sequence) < 1:
            problems.append(f"第 {number} 行：答辩序号 须为正整数")
        elif sequence in sequences:
            problems.append(f"第 {number} 行：答辩序号 {sequence} 与第 {sequences[sequence]} 行重复")
        else:
            sequences[sequence] = number
        arrangements.append((applicant, {"date": day.isoformat() if day else "", "arrive": values["答辩到会时间"],
                                         "address": values["答辩地址"], "checkin": values["答辩签到处"],
                                         "sequence": sequence, "room": values["答辩会议室"]}))
    check_invalid(problems, "file")
    now = datetime.now()
    for applicant, arrangement in arrangements:
        applicant.interview, applicant.notice_at = arrangement, now
    record(meeting, actor.name, "import.interviews", f"导入答辩安排 {len(arrangements)} 人，生成答辩通知")
    return len(arrangements)


def import_exam_scores(actor: User, meeting: ReviewMeeting, content: bytes) -> tuple[int, int]:
    """导入笔试成绩: (passed, failed); 不通过 ends the declaration as 笔试不通过. All rows or none."""
    require_step(meeting, "prepare_meeting")
    problems: list[str] = []
    matched = _match(meeting, read_sheet(content, EXAM_COLUMNS), problems)
    results = []
    for number, values, applicant in matched:
        score = values["笔试成绩"]
        if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", score) or float(score) > 100:
            problems.append(f"第 {number} 行：笔试成绩 须为 0–100 的数字（最多两位小数）")
        if values["是否通过"] not in ("通过", "不通过"):
            problems.append(f"第 {number} 行：是否通过 只能填写“通过”或“不通过”")
        results.append((applicant, score, values["是否通过"] == "通过"))
    check_invalid(problems, "file")
    failed = 0
    for applicant, score, passed in results:
        applicant.exam_score = score
        if not passed:
            failed += 1
            applicant.status = "exam_failed"
            applicant.declaration.status, applicant.declaration.opinion = "rejected", "笔试不通过"
    record(meeting, actor.name, "import.exam", f"导入笔试成绩 {len(results)} 人：通过 {len(results) - failed} 人，"
           f"不通过 {failed} 人")
    return len(results) - failed, failed


def notices_for_declaration(declaration_id: int) -> list[MeetingApplicant]:
    """答辩通知 of a declaration (the applicant's and the path units' pages read it)."""
    from sqlalchemy import select

    return [a for a in db.session.scalars(select(MeetingApplicant).where(
        MeetingApplicant.declaration_id == declaration_id, MeetingApplicant.notice_at.is_not(None)))]


def _check_prepared(meeting: ReviewMeeting) -> None:
    rows = applicants_of(meeting, ("waiting",))
    problems = []
    if meeting.activity.interview == "all":
        problems += [f"{a.declaration.applicant.name}：未导入答辩安排（全体面试答辩）" for a in rows if not a.interview]
    if meeting.activity.written_exam == "all" and meeting.kind == "ordinary":
        problems += [f"{a.declaration.applicant.name}：未导入笔试成绩（全体参加笔试）" for a in rows if not a.exam_score]
    check_invalid(problems, "prepare")


register_step_check("prepare_meeting", _check_prepared)
