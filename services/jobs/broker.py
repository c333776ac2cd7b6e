"""The embedded broker: kombu's SQLAlchemy transport, safe when several processes start at once.

kombu guards its two check-then-create steps with a lock of its own process only: creating the broker's tables
(`_open`: create_all) and a queue's row (`_get_or_create`: SELECT, then INSERT). When the web process publishes
its first job while a worker is starting, both can insert the same queue, and the loser's IntegrityError ends the
worker ("Unrecoverable error") or leaves the web process's broker session unusable. Here the loser takes what
the winner made. `register()` puts this transport under kombu's own names, so `sqla+sqlite:///…` in
CELERY_BROKER_URL (the default) and `sqla+postgresql://…` both use it.
"""

from __future__ import annotations

from typing import Any

import kombu.transport
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy.exc import IntegrityError, OperationalError

OPEN_ATTEMPTS = 3


class Channel(kombu_sqlalchemy.Channel):
    def _open(self) -> Any:
        for _ in range(OPEN_ATTEMPTS - 1):
            try:
                return super()._open()  # type: ignore[no-untyped-call]
            except OperationalError:
                # Another process created a table between create_all's check and its CREATE ("table … already
                # exists"); kombu cached no engine, so the next attempt checks again and creates only the rest.
                continue
        return super()._open()  # type: ignore[no-untyped-call]

    def _get_or_create(self, queue: str) -> Any:
        try:
            return super()._get_or_create(queue)  # type: ignore[no-untyped-call]
        except IntegrityError:  # another process inserted this queue's row first: it is there now
            self.session.rollback()
            return self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).one()


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel


def register() -> None:
    for alias in ("sqla", "sqlalchemy"):
        kombu.transport.TRANSPORT_ALIASES[alias] = f"{__name__}:Transport"
