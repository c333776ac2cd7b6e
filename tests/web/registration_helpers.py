"""Shared pieces of the registration and change-of-superior web tests: small real licence files, forms, review."""

from __future__ import annotations

import io
import re
import struct
import zlib
from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient
from helpers import PASSWORD, valid_credit_code, valid_id_number
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, HumanTask, ProcessInstance, Unit, UnitRegistration, User, WorkflowEvent

# A one-page PDF and a 1×1 PNG: the type check reads the content, so these must be the real thing.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def application_form(superior: Unit, **changes: Any) -> dict[str, Any]:
    """用户权限申请 of a 申报单位 (事业单位) in 乐山市市中区; a change of None leaves the field out."""
    form: dict[str, Any] = {
        "superior_id": str(superior.id), "credit_code": valid_credit_code("12", "511100"),
        "name": "乐山市市中区人民医院", "unit_type_code": "declaring", "nature_code": "institution",
        "region_code": "511102", "contact_name": "张联系", "phone": "0833-2123456", "address": "嘉定北路 1 号",
        "legal_person_name": "李法人", "legal_person_id_number": valid_id_number(region="511102"),
        "legal_person_phone": "13912345678", "handler_name": "王经办",
        "handler_id_number": valid_id_number(region="511102"), "handler_phone": "13812345678",
        "handler_username": "szqrmyy_admin",
    }
    for key, value in changes.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def with_file(form: dict[str, Any], content: bytes = PDF, filename: str = "营业执照.pdf") -> dict[str, Any]:
    return {**form, "business_licence": (io.BytesIO(content), filename)}


def token_of(page: str) -> str:
    link = re.search(r'value="[^"]*\?token=([^"&]+)"[^>]*data-testid="status-link"', page)
    assert link, "the submitted page shows no status link"
    return link.group(1)


def submit(client: FlaskClient, form: dict[str, Any], content: bytes = PDF, filename: str = "营业执照.pdf") -> str:
    response = client.post("/register", data=with_file(form, content, filename), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return token_of(response.get_data(as_text=True))


def open_task(business_type: str, business_id: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == business_type, HumanTask.business_id == business_id, HumanTask.status == "open"))
    assert task is not None, f"no open task for {business_type} {business_id}"
    return task


def inbox_review(app: Flask, reviewer: User, task: HumanTask, decision: str, opinion: str) -> str:
    """A reviewer acts on the task page of 待办事项 (app/blueprints/workflow/inbox.py): POST decision and opinion."""
    reviewer_client = app.test_client()
    signed_in = reviewer_client.post("/login", data={"username": reviewer.username, "password": PASSWORD})
    assert signed_in.status_code == 302
    vars(g).clear()
    db.session.expire_all()
    page = reviewer_client.get(f"/inbox/tasks/{task.id}")
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    vars(g).clear()
    db.session.expire_all()
    response = reviewer_client.post(f"/inbox/tasks/{task.id}", data={"decision": decision, "opinion": opinion})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    vars(g).clear()
    db.session.expire_all()
    return page.get_data(as_text=True)


def registration(token_hash_of: str) -> UnitRegistration:
    from services.org.registration import load_by_token

    return load_by_token(token_hash_of)


def committed_counts() -> dict[str, int]:
    """Row counts as committed: a refused request commits nothing, and its end rolls back what it flushed."""
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Unit, User, UnitRegistration, ProcessInstance, HumanTask, WorkflowEvent, AuditLog)}


def review(app: Flask, reviewer: User, task: HumanTask, decision: str, opinion: str) -> str:
    """The reviewer opens the task in 待办事项 and completes it there; returns the task page as it was shown."""
    return inbox_review(app, reviewer, task, decision, opinion)
