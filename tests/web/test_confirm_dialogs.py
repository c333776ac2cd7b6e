"""Confirm dialogs carry user-typed names: they are data-confirm attributes (escaped text read by app/static/app.js),
never script; and no template holds inline script or on* handlers, which the Content-Security-Policy forbids."""

import html
import re
from pathlib import Path

from app.extensions import db
from app.models import Role

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def test_role_name_cannot_inject_script_into_delete_confirmation(make_unit, make_user, login):
    unit = make_unit(unit_type="hr")
    admin = make_user(unit, admin=True)
    hostile = "x\" onclick=\"alert(1)');//"  # fits 角色名称 (30)
    db.session.add(Role(unit_id=unit.id, name=hostile))
    db.session.flush()
    page = login(admin).get("/roles/").get_data(as_text=True)
    messages = [html.unescape(m) for m in re.findall(r'data-confirm="([^"]*)"', page)]
    assert any(hostile in m for m in messages)  # the whole name, quotes included, inside one attribute
    assert 'onclick="alert(1)' not in page


def test_no_template_holds_inline_script_or_event_handlers():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text):
            found.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
        for match in re.finditer(r"\son[a-z]+\s*=|javascript:", text):
            found.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
    assert found == []


def test_pages_send_the_content_security_policy(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "object-src 'none'" in policy
