"""Stored files (issue 13 "smaller"): PDFs and images open inline, other files download, both under the real name
(RFC 6266 filename*)."""

from __future__ import annotations

import hashlib

import pytest

from app.web import send_stored
from services.common import file_store


@pytest.mark.parametrize(("file_type", "filename", "disposition"), [
    ("pdf", "公示证明.pdf", "inline"), ("png", "照片.png", "inline"), ("jpg", "扫描件.jpg", "inline"),
    ("docx", "推荐意见.docx", "attachment"), ("xlsx", "岗位情况表.xlsx", "attachment")])
def test_pdfs_and_images_open_inline_other_files_download(app, file_type, filename, disposition):
    content = f"content of {filename}".encode()
    sha = hashlib.sha256(content).hexdigest()
    with app.test_request_context():
        path = file_store.path_for(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        response = send_stored({"sha256": sha, "filename": filename, "file_type": file_type})
        response.direct_passthrough = False

        header = response.headers["Content-Disposition"]
        assert header.startswith(f"{disposition};")
        assert "filename*=UTF-8''" in header and filename.split(".")[-1] in header
        assert response.get_data() == content
