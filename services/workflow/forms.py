"""Form definitions (``forms/<area>/<name>.yaml``) and the server-side validation they drive.

DESIGN §2 "Forms": a user task names its form and its post with spiff extension properties; this module is the
only reader of those properties (:func:`task_properties`, :func:`form_variable`). One YAML definition drives the
rendered page and the marshmallow validator, so the two cannot disagree. Messages name the field's Chinese label
and the rule ("审核意见：不能超过 500 个字"). Uploaded files are checked by size and by their real type (magic
bytes), never by the file name (DESIGN §5 "Uploads").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields
from marshmallow import validate as rules

from services.common.errors import InvalidInput
from services.common.uploads import UploadInvalid, check_upload, sniff_file_type

__all__ = [
    "FIELD_TYPES",
    "FORMS_ROOT",
    "Choice",
    "FieldDefinition",
    "FormDefinition",
    "FormDefinitionError",
    "FormInvalid",
    "UploadInvalid",
    "build_schema",
    "check_upload",
    "form_exists",
    "form_variable",
    "list_form_keys",
    "load_form",
    "sniff_file_type",
    "task_properties",
    "validate",
]

FORMS_ROOT = Path(__file__).resolve().parents[2] / "forms"
FIELD_TYPES = frozenset({"text", "textarea", "choice", "multichoice", "date", "integer", "file", "boolean"})
FILE_TYPES = frozenset({"pdf", "jpg", "png", "xlsx", "docx"})
_FILE_TYPE_ALIASES = {"jpeg": "jpg"}
_FILE_REFERENCE_MAX = 128  # a file field's value is the stored upload's reference, not its content
_KEY = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")
_FIELD_KEYS = frozenset({
    "name", "label", "type", "required", "max_length", "choices", "max_size_mb", "accept", "pattern",
    "pattern_message", "help",
})


class FormDefinitionError(ValueError):
    """A YAML form definition that does not follow the format (a deployment error, not a user error)."""


class FormInvalid(InvalidInput):
    """Submitted data broke the form's rules; ``errors`` maps field name → Chinese messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.values()), ["表单数据有误"])[0]
        super().__init__(first, errors=errors)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FieldDefinition:
    name: str
    label: str
    type: str
    required: bool = False
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    max_size_mb: float | None = None
    accept: tuple[str, ...] = ()
    pattern: str | None = None
    pattern_message: str | None = None
    help: str | None = None


@dataclass(frozen=True)
class FormDefinition:
    key: str
    title: str
    fields: tuple[FieldDefinition, ...]

    def field(self, name: str) -> FieldDefinition:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


# --- task properties (the one reader) ---------------------------------------------------------------------

def task_properties(task_spec: Any) -> dict[str, str]:
    """The ``spiffworkflow:properties`` of a task spec (formKey, post, …) as a fresh dict."""
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties") or {}
    return {str(name): str(value) for name, value in properties.items()}


def form_variable(task_spec: Any) -> str | None:
    """``spiffworkflow:variableName``: the task-data key that receives the submitted form, if any."""
    variable = getattr(task_spec, "variable", None)
    return str(variable) if variable else None


# --- loading definitions ----------------------------------------------------------------------------------

def _path_for(key: str, root: Path) -> Path:
    if not _KEY.match(key):
        raise FormDefinitionError(f"表单标识 {key!r} 格式错误（小写字母、数字、下划线，以 / 分隔）")
    return root / f"{key}.yaml"


def form_exists(key: str, root: Path | None = None) -> bool:
    try:
        return _path_for(key, root or FORMS_ROOT).is_file()
    except FormDefinitionError:
        return False


def list_form_keys(root: Path | None = None) -> list[str]:
    base = root or FORMS_ROOT
    return sorted(path.relative_to(base).with_suffix("").as_posix() for path in base.rglob("*.yaml"))


def load_form(key: str, root: Path | None = None) -> FormDefinition:
    """The definition addressed by ``key`` (``review/unit_opinion`` ↔ ``forms/review/unit_opinion.yaml``)."""
    return _load_form(key, root or FORMS_ROOT)


@lru_cache(maxsize=256)
def _load_form(key: str, root: Path) -> FormDefinition:
    path = _path_for(key, root)
    if not path.is_file():
        raise FormDefinitionError(f"表单 {key} 不存在")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _definition_from_dict(key, raw)


def _definition_from_dict(key: str, raw: Any) -> FormDefinition:
    if not isinstance(raw, dict) or not isinstance(raw.get("title"), str) or not isinstance(raw.get("fields"), list):
        raise FormDefinitionError(f"表单 {key}：需要 title 和 fields 列表")
    unknown = set(raw) - {"title", "fields"}
    if unknown:
        raise FormDefinitionError(f"表单 {key}：未知属性 {', '.join(sorted(unknown))}")
    parsed = tuple(_field_from_dict(key, item) for item in raw["fields"])
    names = [item.name for item in parsed]
    if len(set(names)) != len(names):
        raise FormDefinitionError(f"表单 {key}：字段名重复")
    return FormDefinition(key=key, title=raw["title"], fields=parsed)


def _field_from_dict(key: str, raw: Any) -> FieldDefinition:
    if not isinstance(raw, dict):
        raise FormDefinitionError(f"表单 {key}：字段定义必须是映射")
    where = f"表单 {key} 字段 {raw.get('name')!r}"
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise FormDefinitionError(f"{where}：未知属性 {', '.join(sorted(unknown))}")
    name, label, kind = raw.get("name"), raw.get("label"), raw.get("type")
    if not isinstance(name, str) or not name.isidentifier() or name == "typename":
        raise FormDefinitionError(f"{where}：name 必须是标识符")
    if not isinstance(label, str) or not label:
        raise FormDefinitionError(f"{where}：缺少 label")
    if kind not in FIELD_TYPES:
        raise FormDefinitionError(f"{where}：type 必须是 {'/'.join(sorted(FIELD_TYPES))}")
    choices = tuple(Choice(str(c["value"]), str(c["label"])) for c in raw.get("choices") or ())
    if kind in {"choice", "multichoice"} and not choices:
        raise FormDefinitionError(f"{where}：选择字段需要 choices")
    accept = tuple(_FILE_TYPE_ALIASES.get(str(a).lower(), str(a).lower()) for a in raw.get("accept") or ())
    if kind == "file" and (not accept or not set(accept) <= FILE_TYPES or not raw.get("max_size_mb")):
        raise FormDefinitionError(f"{where}：文件字段需要 accept（{'/'.join(sorted(FILE_TYPES))}）和 max_size_mb")
    if not isinstance(raw.get("max_length", 0), int) or not isinstance(raw.get("max_size_mb", 0), int | float):
        raise FormDefinitionError(f"{where}：max_length / max_size_mb 必须是数字")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as err:
            raise FormDefinitionError(f"{where}：pattern 无效（{err}）") from None
    return FieldDefinition(
        name=name, label=label, type=kind, required=bool(raw.get("required", False)),
        max_length=raw.get("max_length"), choices=choices, max_size_mb=raw.get("max_size_mb"), accept=accept,
        pattern=pattern, pattern_message=raw.get("pattern_message"), help=raw.get("help"),
    )


# --- validation -------------------------------------------------------------------------------------------

class _Text(fields.String):
    """Trimmed text; blank counts as missing, so a required field cannot be satisfied by spaces.

    Length, pattern and choice rules are checked here rather than with marshmallow validators, which would
    also run on the ``None`` an optional blank field becomes.
    """

    def __init__(self, *, max_length: int | None = None, pattern: str | None = None,
                 choices: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if "\x00" in text:  # PostgreSQL refuses NUL in text: refuse it here as bad input, not later as a 500
            raise self.make_error("invalid")
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        if self.max_length is not None and len(text) > self.max_length:
            raise self.make_error("too_long")
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise self.make_error("pattern")
        if self.choices and text not in self.choices:
            raise self.make_error("invalid")
        return text


class _IsoDate(_Text):
    """A date validated as YYYY-MM-DD but kept as a string: task data may not hold ``date`` (DESIGN §2)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise self.make_error("invalid") from None


def _schema_field(spec: FieldDefinition) -> fields.Field[Any]:
    label = spec.label
    if spec.type in {"choice", "multichoice", "boolean"}:
        required_message = f"{label}：必须选择"
    elif spec.type == "file":
        required_message = f"{label}：必须上传"
    else:
        required_message = f"{label}：必须填写"
    messages = {"required": required_message, "null": required_message,
                "too_long": f"{label}：不能超过 {spec.max_length} 个字",
                "pattern": spec.pattern_message or f"{label}：格式不正确"}
    common: dict[str, Any] = {"required": spec.required, "allow_none": not spec.required}
    values = tuple(choice.value for choice in spec.choices)
    if spec.type in {"text", "textarea"}:
        return _Text(max_length=spec.max_length, pattern=spec.pattern,
                     error_messages={**messages, "invalid": f"{label}：必须是文字"}, **common)
    if spec.type == "file":
        # The value is the stored upload's reference; the content was checked by check_upload.
        messages["too_long"] = f"{label}：文件标识无效"
        return _Text(max_length=_FILE_REFERENCE_MAX, error_messages={**messages, "invalid": f"{label}：文件标识无效"},
                     **common)
    if spec.type == "choice":
        return _Text(choices=values, error_messages={**messages, "invalid": f"{label}：选项无效"}, **common)
    if spec.type == "multichoice":
        item = _Text(choices=values, required=True,
                     error_messages={"invalid": f"{label}：选项无效", "required": f"{label}：选项无效"})
        non_empty = [rules.Length(min=1, error=required_message)] if spec.required else []
        return fields.List(item, validate=non_empty, error_messages={**messages, "invalid": f"{label}：选项无效"},
                           **common)
    if spec.type == "date":
        return _IsoDate(error_messages={**messages, "invalid": f"{label}：日期格式应为 YYYY-MM-DD"}, **common)
    if spec.type == "integer":
        return fields.Integer(strict=False, error_messages={**messages, "invalid": f"{label}：必须是整数"},
                              **common)
    return fields.Boolean(error_messages={**messages, "invalid": f"{label}：必须选择是或否"}, **common)


def build_schema(defn: FormDefinition) -> Schema:
    """A marshmallow schema for the definition; unknown fields are refused."""
    return _schema_class(defn)()


@lru_cache(maxsize=256)
def _schema(defn: FormDefinition) -> Schema:
    """The definition's schema instance, shared: ``load`` keeps no state between calls (one per request)."""
    return build_schema(defn)


@lru_cache(maxsize=256)
def _schema_class(defn: FormDefinition) -> type[Schema]:
    schema_fields: dict[str, fields.Field[Any]] = {spec.name: _schema_field(spec) for spec in defn.fields}
    return Schema.from_dict(schema_fields, name=f"Form_{defn.key.replace('/', '_')}")


def validate(defn: FormDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, normalized form data, or :class:`FormInvalid` with Chinese messages per field."""
    if not isinstance(data, Mapping):
        raise FormInvalid({"_form": ["表单数据格式错误"]})
    try:
        loaded: dict[str, Any] = _schema(defn).load(dict(data))
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise FormInvalid(_errors_in_chinese(defn, messages)) from None
    return {name: value for name, value in loaded.items() if value is not None}


def _errors_in_chinese(defn: FormDefinition, messages: Mapping[str, Any]) -> dict[str, list[str]]:
    known = {spec.name for spec in defn.fields}
    errors: dict[str, list[str]] = {}
    for name, detail in messages.items():
        if name not in known:
            # marshmallow's own "Unknown field." does not name the field.
            errors[name] = [f"未知字段：{name}" if name != "_schema" else "表单数据格式错误"]
        else:
            errors[name] = _flatten(detail)
    return errors


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, str):
        return [detail]
    if isinstance(detail, Mapping):  # list items: {index: [messages]}
        return sorted({message for item in detail.values() for message in _flatten(item)})
    return [message for item in detail for message in _flatten(item)]
