"""Checking an upload before anything is stored: its size and its real type by content (DESIGN §5 "Uploads").

A file field of a YAML form (services/workflow/forms.FieldDefinition) is one kind of ``UploadSpec``.
Zip containers (xlsx, docx) are inflated only after ``check_archive``: a 413 KB xlsx can hold a 400 MB sheet
(a "zip bomb"), so every reader — imports, form uploads, future ones — first checks the members' declared
sizes and then their actual inflated bytes against a limit, before any parser sees the file.
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


# Inflated size a zip upload may reach: a 100,000-row import sheet is well below it.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 2000
_CHUNK = 1024 * 1024


def check_archive(content: bytes, label: str, field: str, limit: int | None = None) -> None:
    """Refuse a zip whose members would inflate past `limit` bytes in all: first by the sizes its directory
    declares (nothing inflated), then by inflating in bounded chunks (a lying header stops at the limit or
    fails its CRC). Call before handing the bytes to any parser."""
    limit = MAX_UNZIPPED_BYTES if limit is None else limit
    refusal = f"{label}：文件解压后超过 {limit // 1024 // 1024} MB，可能是压缩炸弹，已拒绝；请检查文件内容后重新上传"
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise UploadInvalid(f"{label}：压缩包内文件超过 {MAX_ARCHIVE_MEMBERS} 个，已拒绝", field=field)
            if sum(member.file_size for member in members) > limit:
                raise UploadInvalid(refusal, field=field)
            inflated = 0
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        inflated += len(chunk)
                        if inflated > limit:
                            raise UploadInvalid(refusal, field=field)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise UploadInvalid(f"{label}：文件已损坏或不是有效的压缩文件", field=field) from exc


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
    if detected in ("xlsx", "docx"):
        check_archive(content, label, spec.name)
    return detected
