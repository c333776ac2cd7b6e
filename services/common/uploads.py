"""Checking an upload before anything is stored: its size and its real type by content (DESIGN §5 "Uploads").

A file field of a YAML form (services/workflow/forms.FieldDefinition) is one kind of ``UploadSpec``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Collection
from typing import Protocol

from services.common.errors import InvalidInput


class UploadSpec(Protocol):
    """What an upload is checked against: a file field's name, label, size limit and accepted types."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def max_size_mb(self) -> float | None: ...
    @property
    def accept(self) -> Collection[str]: ...


class UploadInvalid(InvalidInput):
    """An uploaded file of the wrong size or real type."""


def sniff_file_type(content: bytes) -> str | None:
    """The real type of an upload from its first bytes (and, for Office files, the zip's part names)."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names:
            if any(name.startswith("xl/") for name in names):
                return "xlsx"
            if any(name.startswith("word/") for name in names):
                return "docx"
    return None


def check_upload(spec: UploadSpec, filename: str, content: bytes) -> str:
    """Check an upload against a file field; returns the detected type (pdf, jpg, …)."""
    label = spec.label
    if spec.type != "file":
        raise UploadInvalid(f"{label}：不是文件字段", field=spec.name)
    if not content:
        raise UploadInvalid(f"{label}：文件 {filename} 为空", field=spec.name)
    if spec.max_size_mb is not None and len(content) > spec.max_size_mb * 1024 * 1024:
        raise UploadInvalid(f"{label}：文件不能超过 {spec.max_size_mb:g} MB", field=spec.name)
    detected = sniff_file_type(content)
    if detected is None or detected not in spec.accept:
        raise UploadInvalid(
            f"{label}：文件类型须为 {'/'.join(spec.accept)}，实际为 {detected or '未知'}", field=spec.name)
    return detected
