"""Web tests: each request starts as a real one does.

The `database` fixture keeps one app context and one session for the whole test, so flask.g (where Flask-Login
caches the signed-in user) and the session's loaded rows would otherwise carry over from one request, or one
client, into the next. Threads with their own app (tests/web/test_concurrency.py) have no such context here."""

from __future__ import annotations

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient

from app.extensions import db


@pytest.fixture(autouse=True)
def fresh_request_state(monkeypatch: pytest.MonkeyPatch) -> None:
    original = FlaskClient.open

    def open_fresh(self: FlaskClient, *args: object, **kwargs: object) -> object:
        if has_app_context():
            vars(g).clear()
            db.session.flush()
            db.session.expire_all()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_fresh)
