"""The outbox relay: publish unpublished outbox rows, then mark them, at least once.

Rows are read and locked (SKIP LOCKED on PostgreSQL, so several relays can run), their
messages published with confirms, and the rows marked published in the same transaction.
If the broker fails half way, the rows whose messages were all confirmed are marked and the
rest stay unpublished: the next pass sends them again, with the same event ids, which
consumers dedupe on.

A pass never outlives the relay's time budget: every publish carries the deadline, so a
broker that blocks publishers (a RabbitMQ resource alarm) costs one bounded wait, after
which the pass gives up, its transaction ends and the rows' locks go with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, func, select

from beat.events.publisher import BrokerUnavailable, OutOfTime
from beat.store.models import outbox
from beat.store.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)

#: Why a relay stopped, besides a broker error (whose `kind` is used then).
DRAINED = "outbox empty"
OUT_OF_TIME = OutOfTime.kind


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutboxMessage], *, deadline: float | None = None) -> None:
        """Publish in order by `deadline` (time.monotonic()); on failure raise
        `BrokerUnavailable` with `sent` = how many of the first messages were confirmed."""


@dataclass
class RelayReport:
    rows: int = 0
    messages: int = 0
    failures: int = 0
    last_error: str | None = None
    seconds: float = 0.0
    #: Why the relay stopped: DRAINED, OUT_OF_TIME, or the broker error's kind.
    stopped: str = DRAINED
    #: Events still waiting in the outbox when the relay stopped (None: could not count).
    backlog: int | None = None

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def behind(self) -> bool:
        """Events are waiting that this relay could not send."""
        return bool(self.backlog) or self.failures > 0

    def summary(self) -> str:
        """One line for a sensor tick or a log: what was sent, what waits and why."""
        line = f"relayed {self.messages} events from {self.rows} outbox rows; {self.stopped}"
        if self.backlog:
            line += f"; {self.backlog} events waiting in the outbox"
        if self.last_error:
            line += f": {self.last_error}"
        return line

    def metadata(self) -> dict[str, Any]:
        """What a materialization shows about the relay at the end of its run."""
        return {
            "events_relayed": self.messages,
            "relay_stopped": self.stopped,
            "relay_behind": self.behind,
            "outbox_backlog_events": self.backlog if self.backlog is not None else -1,
            "relay_error": self.last_error or "",
        }


class OutboxRelay:
    def __init__(self, engine: Engine, publisher: Publisher, *, rows_per_pass: int = 100) -> None:
        self.engine = engine
        self.outbox = Outbox(engine)
        self.publisher = publisher
        self.rows_per_pass = rows_per_pass

    def relay_pass(self, *, deadline: float | None = None) -> tuple[int, int]:
        """Publish one pass of rows; returns (rows, messages). Raises `BrokerUnavailable` if
        the broker fails, after marking the rows it did take."""
        rows, sent, error = self._pass(deadline)
        if error is not None:
            raise error
        return rows, sent

    def _pass(self, deadline: float | None) -> tuple[int, int, BrokerUnavailable | None]:
        """(rows marked, messages confirmed, the broker's error if it failed)."""
        error: BrokerUnavailable | None = None
        with self.engine.begin() as conn:
            messages = self.outbox.pending_events(self.rows_per_pass, conn=conn)
            if not messages:
                return 0, 0, None
            try:
                self.publisher.publish(messages, deadline=deadline)
                sent = len(messages)
            except BrokerUnavailable as exc:
                error, sent = exc, exc.sent
            rows = self.outbox.mark_published(fully_sent_rows(messages, sent), conn=conn)
        return rows, sent, error

    def relay(self, *, max_seconds: float = 10.0) -> RelayReport:
        """Relay until the outbox is empty, the time is up, or the broker fails."""
        report = RelayReport()
        started = time.monotonic()
        deadline = started + max_seconds
        while True:
            if time.monotonic() >= deadline:
                report.stopped = OUT_OF_TIME
                break
            rows, sent, error = self._pass(deadline)
            report.rows += rows
            report.messages += sent
            if isinstance(error, OutOfTime):
                report.stopped = OUT_OF_TIME
                break
            if error is not None:  # the events are safe in the outbox; say so and stop
                report.failures += 1
                report.last_error = str(error)
                report.stopped = error.kind
                log.warning("outbox relay paused: %s", error)
                break
            if rows == 0:
                break
        report.backlog = self.backlog()
        report.seconds = time.monotonic() - started
        return report

    def backlog(self) -> int | None:
        """Events not yet published (None if the database cannot say right now)."""
        stmt = select(func.coalesce(func.sum(outbox.c.event_count), 0)).where(
            outbox.c.published_at.is_(None)
        )
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(stmt).scalar_one())
        except Exception:  # a report must not fail the run it describes
            log.warning("could not count the outbox backlog", exc_info=True)
            return None


def fully_sent_rows(messages: Sequence[OutboxMessage], sent: int) -> set[int]:
    """Rows all of whose messages are among the first `sent` (messages come in row order)."""
    done = {m.outbox_id for m in messages[:sent]}
    done.difference_update(m.outbox_id for m in messages[sent:])
    return done
