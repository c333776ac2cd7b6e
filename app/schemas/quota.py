"""Input schemas for 职数申报 (H 1.5.1; FEATURES F8): the declaration's header and its rows.

Rows arrive as `rows-<n>-<field>` (one table row per 系列 × 等级); a row left wholly blank is ignored. Messages
name the row and the field (`第 2 行：申报职数 不能小于 0`); rules that need the database (系列 and 等级 exist,
one row per 系列 × 等级, 现有人数 ≤ 岗位总数, one declaration per unit and year) live in services/activities/quotas.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import fields, validate

from app.schemas import ChineseSchema, checked, choice, load_or_400, text
from services.common.errors import InvalidInput
from services.reference.validation import normalize_phone

ROW_KEY = re.compile(r"^rows-(?P<index>\d{1,3})-(?P<field>[a-z_]+)$")
MAX_COUNT = 99_999
ROW_FIELDS = ("series_code", "level_code", "post_total", "current_count", "requested_count", "remark")


def count(label: str) -> fields.Integer:
    """A whole number of people or posts, 0 … 99999."""
    return fields.Integer(
        required=True, allow_none=False, strict=False,
        validate=validate.Range(min=0, max=MAX_COUNT, error=f"{label}：应为 0 到 {MAX_COUNT} 之间的整数"),
        error_messages={"required": f"{label}：必填", "null": f"{label}：必填", "invalid": f"{label}：应为整数"},
        metadata={"label": label})


class QuotaHeaderSchema(ChineseSchema):
    year = fields.Integer(required=True, strict=False,
                          error_messages={"required": "申报年度：必填", "null": "申报年度：必填",
                                          "invalid": "申报年度：应为四位年份"})
    contact_name = text("联系人", 10)
    contact_phone = checked("联系电话", normalize_phone, 20)
    note = text("申报说明", 500, required=False)
    change_note = text("修改说明", 500, required=False)  # 退回后重新提交
    action = choice("操作", ["save", "submit"], required=False)


class QuotaRowSchema(ChineseSchema):
    series_code = text("系列", 50)
    level_code = text("等级", 20)
    post_total = count("岗位总数")
    current_count = count("现有人数")
    requested_count = count("申报职数")
    remark = text("备注", 200, required=False)


def _rows(form: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        match = ROW_KEY.match(key)
        if match and match["field"] in ROW_FIELDS:
            rows.setdefault(int(match["index"]), {})[match["field"]] = form.get(key)
    return {n: rows[n] for n in sorted(rows) if any(str(v or "").strip() for v in rows[n].values())}


def load_declaration(form: Mapping[str, Any]) -> dict[str, Any]:
    """The header and the non-blank rows, numbered from 1 in table order; InvalidInput names every bad field."""
    header_form = {k: v for k, v in form.items() if not k.startswith("rows-")}
    errors: dict[str, list[str]] = {}
    try:
        header = load_or_400(QuotaHeaderSchema(), header_form)
    except InvalidInput as exc:
        header, errors = {}, dict(exc.errors)
    rows = []
    for number, (index, raw) in enumerate(_rows(form).items(), start=1):
        try:
            rows.append(load_or_400(QuotaRowSchema(), raw))
        except InvalidInput as exc:
            for name, messages in exc.errors.items():
                errors[f"rows-{index}-{name}"] = [f"第 {number} 行：{m}" for m in messages]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    header["rows"] = rows
    return header
