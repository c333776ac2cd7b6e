"""marshmallow schemas for request input, with Chinese messages that name the field and the rule.

Shape (required, length, format, check characters) is validated here; rules that need the database
(uniqueness, grants, hierarchy) live in the services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from services.common.errors import InvalidInput
from services.reference.validation import InvalidValue


class ChineseSchema(Schema):
    """Strips text, treats blank as missing, refuses unknown fields, and speaks Chinese."""

    error_messages = {"unknown": "未知字段，已拒绝", "type": "输入格式不正确"}

    class Meta:
        unknown = RAISE

    @pre_load
    def _strip(self, data: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    value = None
            cleaned[key] = value
        return cleaned


def _messages(label: str) -> dict[str, str]:
    return {
        "required": f"{label}：必填",
        "null": f"{label}：必填",
        "invalid": f"{label}：格式不正确",
    }


def text(label: str, max_length: int, required: bool = True, **kwargs: Any) -> fields.String:
    validators = [validate.Length(max=max_length, error=f"{label}：不能超过 {max_length} 个字")]
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validators,
        error_messages=_messages(label),
        metadata={"label": label},
        **kwargs,
    )


def choice(label: str, choices: list[str] | None = None, required: bool = True) -> fields.String:
    validators = [validate.OneOf(choices, error=f"{label}：请选择有效的选项")] if choices is not None else []
    return fields.String(required=required, allow_none=not required, validate=validators,
                         error_messages=_messages(label), metadata={"label": label})


def integer_list(label: str) -> fields.List:
    return fields.List(fields.Integer(error_messages=_messages(label)), load_default=list,
                       error_messages=_messages(label), metadata={"label": label})


def checked(label: str, normalizer: Callable[[str], str], max_length: int, required: bool = True) -> fields.Field:
    """A text field normalised by a validator from services.reference.validation (credit code, ID, phone …)."""

    class Normalized(fields.String):
        def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
            raw = super()._deserialize(value, attr, data, **kwargs)
            if len(raw) > max_length * 2:
                raise ValidationError(f"{label}：不能超过 {max_length} 个字符")
            try:
                return normalizer(raw)
            except InvalidValue as exc:
                message = exc.message
                raise ValidationError(message if message.startswith(label) else f"{label}：{message}") from exc

    return Normalized(required=required, allow_none=not required, error_messages=_messages(label),
                      metadata={"label": label})


def load_or_400(
    schema: Schema, data: Mapping[str, Any], ignore: tuple[str, ...] = ("csrf_token",), prefix: str = ""
) -> dict[str, Any]:
    """Validate form or JSON input; raise InvalidInput carrying every field's messages.

    `prefix` names the form fields of a sub-form (handler_name ↔ name) so messages land beside them.
    """
    payload = {k[len(prefix):]: v for k, v in data.items() if k not in ignore and k.startswith(prefix)}
    try:
        result: dict[str, Any] = schema.load(payload)
    except ValidationError as exc:
        errors = {f"{prefix}{k}": v for k, v in _flatten(exc.messages).items()}
        first = next(iter(errors.values()))[0] if errors else "输入有误"
        raise InvalidInput(first, errors=errors) from exc
    return result


def _flatten(messages: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(value, dict):
                for sub in _flatten(value).values():
                    flat.setdefault(str(key), []).extend(sub)
            elif isinstance(value, list):
                texts = [v if isinstance(v, str) else str(v) for v in value]
                if texts and texts[0] == "未知字段，已拒绝":
                    texts = [f"未知字段：{key}"]
                flat.setdefault(str(key), []).extend(texts)
            else:
                flat.setdefault(str(key), []).append(str(value))
    return flat


__all__ = ["EXCLUDE", "ChineseSchema", "checked", "choice", "integer_list", "load_or_400", "text"]
