"""Plain helpers shared by tests in several folders: valid identifiers, reference-data look-ups, the password.

They live here rather than in a conftest.py: tests/ and tests/workflow/ both have one, and `from conftest
import …` resolves to whichever pytest imported last. tests/ is on sys.path (pytest's prepend import mode puts
the folder of tests/conftest.py there), so `from helpers import …` works from every test folder.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from app.extensions import db
from services.reference.validation import credit_code_check_char, id_number_check_char

PASSWORD = "Passw0rd2026"

_counter = itertools.count(1)


def serial() -> int:
    """A number unique within the test session (one counter for every helper and factory)."""
    return next(_counter)


def valid_credit_code(prefix: str = "12", region: str = "510100") -> str:
    body = f"{prefix}{region}{serial():09d}"
    return body + credit_code_check_char(body)


def valid_id_number(birth: str = "19800101", region: str = "510104", sequence: int | None = None) -> str:
    seq = sequence if sequence is not None else serial() % 1000
    body = f"{region}{birth}{seq:03d}"
    return body + id_number_check_char(body)


def region_id(code: str) -> int:
    from app.models import Region

    region = db.session.scalar(sa.select(Region).where(Region.code == code))
    assert region is not None, code
    return region.id
