"""The embedded broker when two processes start together (services/jobs/broker.py): the other process's row or
table lands between kombu's check and its create, as it did when a browser test's worker started while the web
process published its first job, and the worker died on UNIQUE constraint failed: kombu_queue.name."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu
import pytest
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateTable

from services.jobs import broker


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[kombu.Connection]:
    broker.register()
    with kombu.Connection(f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}") as conn:
        yield conn


def round_trip(conn: kombu.Connection, name: str) -> Any:
    queue = conn.SimpleQueue(name)
    queue.put({"job": 7})
    message = queue.get(timeout=1)
    message.ack()
    return message.payload


def test_a_queue_another_process_inserted_between_select_and_insert(connection: kombu.Connection,
                                                                     tmp_path: Path) -> None:
    channel = connection.default_channel
    assert isinstance(channel, broker.Channel)
    other = sqlite3.connect(tmp_path / "broker.sqlite")

    def other_process_inserts(name: str) -> None:
        def insert(*_: Any) -> None:
            other.execute("INSERT INTO kombu_queue (name) VALUES (?)", (name,))
            other.commit()
        event.listen(channel.session, "before_flush", insert, once=True)

    other_process_inserts("jobs-kombu")  # the interleaving fails kombu's own method: the test reproduces the race
    with pytest.raises(IntegrityError):
        kombu_sqlalchemy.Channel._get_or_create(channel, "jobs-kombu")
    channel.session.rollback()

    other_process_inserts("jobs")
    assert channel._get_or_create("jobs").name == "jobs"
    assert other.execute("SELECT count(*) FROM kombu_queue WHERE name = 'jobs'").fetchone() == (1,)
    assert round_trip(connection, "jobs") == {"job": 7}  # the channel's session still works


def test_a_table_another_process_created_between_check_and_create(connection: kombu.Connection,
                                                                  tmp_path: Path) -> None:
    table = connection.default_channel.queue_cls.__table__  # the channel is made; its tables are not yet
    ddl = str(CreateTable(table).compile(dialect=sqlite.dialect()))

    def other_process_creates(*_: Any, **__: Any) -> None:
        with sqlite3.connect(tmp_path / "broker.sqlite") as other:
            other.execute(ddl)

    event.listen(table, "before_create", other_process_creates, once=True)
    try:
        assert round_trip(connection, "jobs") == {"job": 7}
    finally:
        if event.contains(table, "before_create", other_process_creates):
            event.remove(table, "before_create", other_process_creates)
    with sqlite3.connect(tmp_path / "broker.sqlite") as other:
        assert {row[0] for row in other.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {
            "kombu_queue", "kombu_message"}
