"""Uploaded files, stored once under their content hash (DESIGN §5 "Uploads").

The size and real type are checked before anything is stored (services/common/uploads.check_upload); the file's
own name is kept by the record that owns it and never becomes part of a path. Files are served only through
views that check access to that record.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from services.common.errors import NotFound
from services.common.uploads import UploadSpec, check_upload

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    filename: str
    size: int
    file_type: str


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    if not _SHA256.match(sha256):
        raise NotFound("文件不存在")
    return _root() / sha256[:2] / sha256


def clean_filename(filename: str) -> str:
    """The name to show and offer on download: its last path part, without control characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "附件"


def check(spec: UploadSpec, filename: str, content: bytes) -> StoredFile:
    """Check an upload against its form field without storing it (so a refused request writes nothing)."""
    file_type = check_upload(spec, filename, content)
    return StoredFile(hashlib.sha256(content).hexdigest(), clean_filename(filename), len(content), file_type)


def store(checked: StoredFile, content: bytes) -> Path:
    """Write the content under its hash; the same content is stored only once."""
    target = path_for(checked.sha256)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
