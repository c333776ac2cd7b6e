"""Input schemas for an applicant's 职称申报 (Hunan guide 二; FEATURES F1).

Shape only (length, unknown fields); the choices of the activity (申报层级, 申报专业, 破格条件), the assessment
rules and each 业绩成果 template's fields are checked in services/applications/declarations.py, which knows the activity.
任职以来考核信息 rows arrive as `assessments-<n>-<field>`; a row left wholly blank is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.schemas import ChineseSchema, load_or_400, text
from services.common.errors import InvalidInput

ASSESSMENT_KEY = re.compile(r"^assessments-(?P<index>\d{1,3})-(?P<field>year|result|unit)$")


class DeclarationInfoSchema(ChineseSchema):
    """个人职称申报信息."""

    level_code = text("申报层级", 20, required=False)
    specialty_id = text("申报专业", 12, required=False)
    evaluation_method = text("评价方式", 20, required=False)
    exceptional_condition_id = text("破格条件", 12, required=False)


class SubmitSchema(ChineseSchema):
    note = text("修改说明", 500, required=False)  # 退回后重新提交


def load_info(form: Mapping[str, Any]) -> dict[str, Any]:
    return load_or_400(DeclarationInfoSchema(), form)


def load_note(form: Mapping[str, Any]) -> str:
    return str(load_or_400(SubmitSchema(), form).get("note") or "")


def load_assessments(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The posted rows in row order; any other field is refused by name."""
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        if key == "csrf_token":
            continue
        match = ASSESSMENT_KEY.match(key)
        if match is None:
            raise InvalidInput(f"未知字段：{key}", field=key)
        rows.setdefault(int(match["index"]), {})[match["field"]] = str(form.get(key) or "").strip()
    return [rows[n] for n in sorted(rows) if any(rows[n].values())]
