"""Input schemas for sign-in, staff and roles (S 1.2.9.1.3, 1.2.9.1.4)."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas import ChineseSchema, checked, integer_list, text
from services.reference.validation import normalize_id_number, normalize_mobile


class LoginSchema(ChineseSchema):
    username = text("用户名", 30)
    password = text("密码", 64)
    next = text("跳转地址", 200, required=False)


class ChangePasswordSchema(ChineseSchema):
    old_password = text("原密码", 64)
    new_password = text("新密码", 64)
    confirm_password = text("确认新密码", 64)


def username_field() -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=3, max=30, error="登录账号：长度须为 3–30 位"),
            validate.Regexp(r"^[A-Za-z0-9_.@-]+$", error="登录账号：只能包含字母、数字和 _ . @ -"),
        ],
        error_messages={"required": "登录账号：必填", "null": "登录账号：必填"},
    )


class StaffSchema(ChineseSchema):
    username = username_field()
    name = text("姓名", 10)
    phone = checked("联系电话", normalize_mobile, 11)
    id_number = checked("证件号码", normalize_id_number, 18, required=False)
    password = text("初始密码", 64, required=False)
    role_ids = integer_list("角色")


class RoleSchema(ChineseSchema):
    name = text("角色名称", 30)
    description = text("角色说明", 200, required=False)
    permissions = fields.List(fields.String(), load_default=list,
                              error_messages={"invalid": "权限：格式不正确"})
