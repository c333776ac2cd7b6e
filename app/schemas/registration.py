"""Input of 用户权限申请 (S 1.1.2.2): 单位基本信息, 法人信息, 经办人信息 and the chosen 上级单位.

The parts reuse the unit schemas (the same shape rules as 新增下级单位), and every part's messages are reported
together so the applicant sees all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema

from app.schemas import load_or_400
from app.schemas.org import HandlerSchema, LegalPersonSchema, UnitBasicSchema
from services.common.errors import InvalidInput
from services.org.registration import Application

BASIC_FIELDS = ("credit_code", "name", "unit_type_code", "nature_code", "region_code", "contact_name", "phone",
                "address")
LEGAL_FIELDS = ("legal_person_name", "legal_person_id_number", "legal_person_phone")
HANDLER_FIELDS = ("handler_name", "handler_id_number", "handler_phone", "handler_username")


def _part(schema: Schema, form: Mapping[str, Any], names: tuple[str, ...], errors: dict[str, list[str]],
          prefix: str = "") -> dict[str, Any]:
    try:
        return load_or_400(schema, {name: form.get(name, "") for name in names}, prefix=prefix)
    except InvalidInput as exc:
        errors.update(exc.errors)
        return {}


def record_id(raw: Any) -> int | None:
    """A posted row id (a picker's choice), or None for anything that cannot be one: blank, text, "²", or a
    number past the database's integer range (which SQLite would refuse with an error rather than "not found")."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 0 < int(text) < 2**31:
        return None
    return int(text)


def load_application(form: Mapping[str, Any], superior_id: int | None = None) -> Application:
    """The application from a submitted form; `superior_id` fixes the superior (a correction keeps it)."""
    errors: dict[str, list[str]] = {}
    basic = _part(UnitBasicSchema(), form, BASIC_FIELDS, errors)
    # 法人信息 is asked of non-人社 types; whether it is required is the service's rule, so an empty part is None.
    legal_given = any(str(form.get(name, "")).strip() for name in LEGAL_FIELDS)
    legal = _part(LegalPersonSchema(), form, LEGAL_FIELDS, errors) if legal_given else None
    handler = _part(HandlerSchema(), form, HANDLER_FIELDS, errors, prefix="handler_")
    if superior_id is None:
        superior_id = record_id(form.get("superior_id"))
        if superior_id is None:
            errors["superior_id"] = ["上级单位：请从列表中选择"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    return Application(superior_id=superior_id or 0, basic=basic, legal=legal, handler=handler)
