"""Input schemas for applicants' registration, sign-in and profile (H 一; FEATURES A8).

Choices that live in admin_config/applicants.yaml (民族, 政治面貌, 学历 …) and rules that need the database
(uniqueness, the 工作单位, dates against the birth date) are checked in services.applications.applicants.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from app.schemas import ChineseSchema, checked, text
from services.reference.validation import normalize_id_number, normalize_mobile


def day(label: str, required: bool = True) -> fields.Date:
    """A date from <input type="date"> (YYYY-MM-DD)."""
    return fields.Date(required=required, allow_none=not required, format="%Y-%m-%d",
                       error_messages={"required": f"{label}：必填", "null": f"{label}：必填",
                                       "invalid": f"{label}：日期格式应为 年-月-日"},
                       metadata={"label": label})


def record_id(label: str, required: bool = True) -> fields.Integer:
    return fields.Integer(required=required, allow_none=not required, strict=False,
                          error_messages={"required": f"{label}：请选择", "null": f"{label}：请选择",
                                          "invalid": f"{label}：请从列表中选择"})


class Email(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        local, at, domain = raw.partition("@")
        if len(raw) > 60:
            raise ValidationError("电子邮箱：不能超过 60 个字符")
        if not at or not local or "." not in domain or " " in raw or domain.startswith(".") or domain.endswith("."):
            raise ValidationError("电子邮箱：格式不正确，如 name@example.com")
        return raw


class RegisterSchema(ChineseSchema):
    name = text("姓名", 20)
    id_type = text("证件类型", 20)
    id_number = checked("证件号码", normalize_id_number, 18)
    phone = checked("手机号码", normalize_mobile, 11)
    unit_id = record_id("工作单位")
    password = text("密码", 64)
    confirm_password = text("确认密码", 64)
    q = text("单位查询", 50, required=False)  # the picker's search box comes along with the form


class ApplicantLoginSchema(ChineseSchema):
    account = text("证件号码或手机号码", 36)
    password = text("密码", 64)
    next = text("跳转地址", 200, required=False)


class ApplicantPasswordSchema(ChineseSchema):
    old_password = text("原密码", 64)
    new_password = text("新密码", 64)
    confirm_password = text("确认新密码", 64)


class BasicInfoSchema(ChineseSchema):
    phone = checked("手机号码", normalize_mobile, 11)
    email = Email(required=False, allow_none=True, error_messages={"invalid": "电子邮箱：格式不正确"})
    ethnicity = text("民族", 20, required=False)
    political_status = text("政治面貌", 20, required=False)
    unit_id = record_id("工作单位")
    work_start_date = day("参加工作时间", required=False)
    specialty = text("现从事专业", 30, required=False)
    q = text("单位查询", 50, required=False)


class EducationSchema(ChineseSchema):
    education = text("学历", 20)
    degree = text("学位", 20)
    school = text("毕业学校", 50)
    major = text("所学专业", 50)
    start_date = day("入学时间")
    end_date = day("毕业时间", required=False)
    certificate_no = text("毕业证书编号", 50, required=False)


class WorkSchema(ChineseSchema):
    start_date = day("开始时间")
    end_date = day("结束时间", required=False)
    unit_name = text("工作单位", 50)
    position = text("职务/岗位", 30)


class TitleSchema(ChineseSchema):
    title_id = record_id("职称名称", required=False)
    title_obtained_on = day("取得时间", required=False)
    title_method = text("取得方式", 20, required=False)
    title_certificate_no = text("证书编号", 50, required=False)
