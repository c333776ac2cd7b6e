"""A benchmark's own application and database, built the way tests/conftest.py builds the suite's.

The schema comes from the real migrations (`flask db upgrade`), then the reference data of admin_config/ and the
diagrams of bpmn/ are loaded. SQLite: a file in a temporary folder. PostgreSQL: a dedicated schema (search_path)
that `drop_schema` removes afterwards. Accounts sign in through the real sign-in page.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from services.reference import reference_data

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Passw0rd2026"
CHEAP_HASH = "pbkdf2:sha256:1000"  # as in the test suite: accounts are created by the thousand


def _schema_options(url: str, schema: str) -> dict[str, Any]:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(schema)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return {"pool_pre_ping": True, "connect_args": {"options": f"-csearch_path={schema}"}}


def build_app(tmp_dir: Path, postgres_url: str | None = None, schema: str = "",
              extra: dict[str, Any] | None = None) -> Flask:
    """An app on a fresh database: SQLite in `tmp_dir`, or PostgreSQL schema `schema` when a URL is given;
    `extra` adds configuration (e.g. CELERY_TASK_ALWAYS_EAGER to run jobs in the process)."""
    overrides: dict[str, Any] = {**(extra or {}),
        "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": CHEAP_HASH,
        "UPLOAD_FOLDER": str(tmp_dir / "uploads"),
        "SQLALCHEMY_DATABASE_URI": postgres_url or f"sqlite:///{tmp_dir / 'bench.db'}",
    }
    if postgres_url:
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = _schema_options(postgres_url, schema)
    app = create_app(overrides, instance_path=str(tmp_dir))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        from flask_migrate import upgrade

        from services.workflow import definitions

        upgrade()
        reference_data.load_all(ROOT / "admin_config")
        definitions.deploy_directory()
        db.session.commit()
        db.session.remove()
    return app


def drop_schema(postgres_url: str, schema: str) -> None:
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed: {response.status_code}")
    return client
