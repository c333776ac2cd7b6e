"""Input schemas for units and their handlers (S 1.1.2.1 three steps, S 1.2.15 用户权限申请)."""

from __future__ import annotations

from app.schemas import ChineseSchema, checked, choice, text
from app.schemas.accounts import username_field
from services.reference.validation import (
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
    normalize_phone,
)


class UnitBasicSchema(ChineseSchema):
    """Step 1 维护基本信息."""

    credit_code = checked("统一社会信用代码", normalize_credit_code, 18)
    name = text("单位名称", 50)
    unit_type_code = choice("单位类型")
    nature_code = choice("单位性质")
    region_code = choice("职称业务归属地")
    contact_name = text("联系人", 10, required=False)
    phone = checked("联系电话", normalize_phone, 20)
    address = text("通讯地址", 100, required=False)


class OwnUnitSchema(UnitBasicSchema):
    """本级单位基本信息维护: the type is granted by the superior and is not edited here."""

    class Meta(ChineseSchema.Meta):
        exclude = ("unit_type_code",)


class LegalPersonSchema(ChineseSchema):
    """Step 2 维护法人信息 (non-人社 units)."""

    legal_person_name = text("法定代表人姓名", 10)
    legal_person_id_number = checked("法定代表人证件号码", normalize_id_number, 18)
    legal_person_phone = checked("法定代表人联系电话", normalize_mobile, 11)


class HandlerSchema(ChineseSchema):
    """Step 3 添加经办人员: becomes the subordinate's 超级管理员."""

    name = text("经办人姓名", 10)
    id_number = checked("经办人证件号码", normalize_id_number, 18, required=False)
    phone = checked("经办人联系电话", normalize_mobile, 11)
    username = username_field()
