"""The school's 审核通过 form (issue 13 "Review pages"): every problem at once, each shown once beside its field, and
the chosen files kept as the task's pending attachments across a refused submit."""

from __future__ import annotations

import io
from datetime import date, timedelta

from declaration_helpers import PDF, submitted_declaration
from sqlalchemy import select

from app.extensions import db
from app.models import DeclarationStep

submitted = submitted_declaration


def test_all_problems_at_once_each_beside_its_field_and_the_files_are_kept(client, login, world):
    declaration = submitted(world)
    login(world.school_reviewers[0])
    url = f"/application-review/applications/{declaration.id}"

    refused = client.post(url, content_type="multipart/form-data", data={
        "decision": "pass", "opinion": "",
        "publicity_proof": (io.BytesIO(PDF), "公示证明.pdf"), "recommendation": (io.BytesIO(PDF), "推荐意见.pdf")})

    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'data-error-field="publicity_start">公示时间：请填写本单位申报公示的开始和结束日期' in page
    assert 'data-error-field="opinion">审核意见：必填' in page
    for message in ("公示时间：请填写本单位申报公示的开始和结束日期", "审核意见：必填"):
        assert page.count(message) == 1, message  # once, beside its field: no second copy in a flash or box
    assert 'data-testid="pending-publicity_proof">公示证明.pdf' in page
    assert 'data-testid="pending-recommendation">推荐意见.pdf' in page

    today = date.today()
    done = client.post(url, content_type="multipart/form-data", data={
        "decision": "pass", "opinion": "同意推荐", "publicity_start": (today - timedelta(days=14)).isoformat(),
        "publicity_end": (today - timedelta(days=3)).isoformat()})

    assert done.status_code == 302
    db.session.expire_all()
    step = db.session.scalar(select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id))
    assert step.attachments["publicity_proof"]["filename"] == "公示证明.pdf"
    assert step.attachments["recommendation"]["filename"] == "推荐意见.pdf"
    assert step.pending_attachments == {}
