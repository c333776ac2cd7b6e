"""Input schemas for 职称树管理 and 职称专业管理 (H 1.1, 1.2); uniqueness and mappings are checked in services."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas import ChineseSchema, choice, text
from services.reference.dictionary import STAT_CATEGORIES


def _code(label: str, max_length: int, pattern: str, rule: str) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(max=max_length, error=f"{label}：不能超过 {max_length} 个字符"),
            validate.Regexp(pattern, error=f"{label}：{rule}"),
        ],
        error_messages={"required": f"{label}：必填", "null": f"{label}：必填"},
    )


def _date(label: str) -> fields.Date:
    return fields.Date(required=False, allow_none=True,
                       error_messages={"invalid": f"{label}：日期格式不正确，应为 YYYY-MM-DD"})


class SeriesSchema(ChineseSchema):
    code = _code("系列编码", 50, r"^[a-z][a-z0-9_]*$", "只能使用小写英文字母、数字和下划线，以字母开头")
    name = text("系列名称", 30)
    category = choice("统计类别", list(STAT_CATEGORIES))


class SeriesEditSchema(SeriesSchema):
    """The code is the series' key and is not edited."""

    class Meta(ChineseSchema.Meta):
        exclude = ("code",)


class TitleSchema(ChineseSchema):
    name = text("职称名称", 30)
    level_code = choice("职称级别")
    line = text("专业线", 10, required=False)
    valid_from = _date("有效期起")
    valid_to = _date("有效期止")
    current_id = fields.Integer(required=False, allow_none=True, strict=False,
                                error_messages={"invalid": "对应现职称：请选择有效的职称"})


class SpecialtySchema(ChineseSchema):
    code = _code("专业编码", 30, r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", "只能使用英文字母、数字和 - _ .")
    name = text("专业名称", 50)


class SpecialtyNameSchema(ChineseSchema):
    name = text("专业名称", 50)
