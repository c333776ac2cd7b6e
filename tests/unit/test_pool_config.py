"""The connection pool's settings come from the environment (README "Configuration"; issue 20)."""

from __future__ import annotations

import pytest

from app.config import engine_options

POSTGRES = "postgresql+psycopg://zhiping@db.internal/zhiping"


def test_postgres_pool_defaults_and_pre_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "DATABASE_POOL_PRE_PING"):
        monkeypatch.delenv(name, raising=False)
    assert engine_options(POSTGRES) == {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5,
                                        "pool_timeout": 30, "pool_recycle": 1800}
    assert engine_options("sqlite:///instance/zhiping.db") == {"pool_pre_ping": True}


def test_pool_sized_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "1")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "2")
    monkeypatch.setenv("DATABASE_POOL_PRE_PING", "0")
    options = engine_options(POSTGRES)
    assert (options["pool_size"], options["max_overflow"], options["pool_pre_ping"]) == (1, 2, False)


def test_a_malformed_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "five")
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE"):
        engine_options(POSTGRES)


def test_prepared_statements_off_behind_pgbouncer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", "none")
    assert engine_options(POSTGRES)["connect_args"] == {"prepare_threshold": None}
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", "2")
    assert engine_options(POSTGRES)["connect_args"] == {"prepare_threshold": 2}
