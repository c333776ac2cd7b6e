"""Test fixtures.

The database is built once per worker by the real migrations (`flask db upgrade`), with the reference data
of admin_config/ loaded. Each test then runs inside an outer transaction that is rolled back at the end:
the app's own commits only release savepoints, so nothing a test writes persists (STYLE: "a database whose
commit cannot persist"). SQLite always; PostgreSQL when TEST_DATABASE_URL is set, one schema per worker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from declaration_helpers import (
    world,  # noqa: F401  (the 申报 review world; a module may define its own `world`)
)
from flask import Flask
from flask.testing import FlaskClient
from helpers import PASSWORD, region_id, serial, valid_credit_code, valid_id_number  # noqa: F401
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.extensions import db
from app.models import Role, RolePermission, Unit, User
from services.reference import reference_data

ROOT = Path(__file__).resolve().parent.parent


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _database_overrides(tmp_dir: Path) -> dict[str, Any]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir / 'test.db'}"}
    # The checkout's folder name keeps two checkouts (git worktrees) testing at once on one server apart.
    schema = "test_" + re.sub(r"\W", "_", f"{ROOT.name[:20]}_{_worker()}").lower()
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp_dir = tmp_path_factory.mktemp("instance")
    overrides: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "UPLOAD_FOLDER": str(tmp_dir / "uploads"),
        "CELERY_TASK_ALWAYS_EAGER": True,  # jobs run inline; tests/jobs/test_worker.py runs real workers
        **_database_overrides(tmp_dir),
    }
    application = create_app(overrides, instance_path=str(tmp_dir))
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
        reference_data.load_all(ROOT / "admin_config")
        from services.workflow import definitions

        definitions.deploy_directory()
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def database(app: Flask) -> Iterator[Any]:
    """A session whose commits are savepoints inside a transaction rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        )
        try:
            yield db
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask, database: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_unit(database: Any) -> Callable[..., Unit]:
    """make_unit(parent=None, unit_type="declaring", region="510100B", name=None) → a unit with its path."""

    def factory(parent: Unit | None = None, unit_type: str = "declaring", region: str = "510100B",
                name: str | None = None, nature: str | None = None, status: str = "active") -> Unit:
        nature = nature or ("organ" if unit_type in ("hr", "competent") else "institution")
        prefix = {"organ": "11", "institution": "12", "enterprise": "91", "social": "51"}.get(nature, "12")
        n = serial()
        unit = Unit(name=name or f"测试单位{n}", credit_code=valid_credit_code(prefix), parent_id=parent.id if parent else None,
                    unit_type_code=unit_type, nature_code=nature, region_id=region_id(region), phone="028-86000000",
                    contact_name="联系人", depth=(parent.depth + 1) if parent else 0, status=status)
        db.session.add(unit)
        db.session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        db.session.flush()
        return unit

    return factory


@pytest.fixture
def make_user(database: Any) -> Callable[..., User]:
    """make_user(unit, permissions=[...], admin=False, platform=False) → an account signing in with PASSWORD."""
    from services.org.accounts import hash_password

    def factory(unit: Unit, permissions: list[str] | None = None, admin: bool = False, platform: bool = False,
                username: str | None = None, name: str = "测试用户", enabled: bool = True) -> User:
        n = serial()
        user = User(username=username or f"user{n}", password_hash=hash_password(PASSWORD), name=name,
                    phone="13800000000", unit_id=unit.id, is_unit_admin=admin, is_platform_admin=platform,
                    enabled=enabled, session_token=f"tok{n}")
        if permissions:
            role = Role(unit_id=unit.id, name=f"角色{n}")
            role.permissions = [RolePermission(permission_code=c) for c in permissions]
            db.session.add(role)
            user.roles = [role]
        db.session.add(user)
        db.session.flush()
        return user

    return factory


@pytest.fixture
def login(client: FlaskClient) -> Callable[[User], FlaskClient]:
    def sign_in(user: User, password: str = PASSWORD) -> FlaskClient:
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return sign_in


@pytest.fixture
def make_applicant(database: Any) -> Callable[..., Any]:
    """make_applicant(unit, name="张三", id_number=None, phone=None) → an applicant signing in with PASSWORD."""
    from app.models import Applicant
    from services.org.accounts import hash_password
    from services.reference.validation import id_number_birth_date, id_number_gender

    def factory(unit: Unit, name: str = "张三", id_number: str | None = None, phone: str | None = None) -> Any:
        n = serial()
        number = id_number or valid_id_number(sequence=n % 1000)
        applicant = Applicant(name=name, id_number=number, gender=id_number_gender(number),
                              birth_date=id_number_birth_date(number), phone=phone or f"139{n:08d}",
                              unit_id=unit.id, password_hash=hash_password(PASSWORD), session_token=f"atok{n}")
        db.session.add(applicant)
        db.session.flush()
        return applicant

    return factory


@pytest.fixture
def login_applicant(client: FlaskClient) -> Callable[..., FlaskClient]:
    def sign_in(applicant: Any, password: str = PASSWORD) -> FlaskClient:
        response = client.post("/applicant/login", data={"account": applicant.id_number, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return sign_in
