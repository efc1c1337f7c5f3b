"""The outbox relay: publish unpublished outbox rows, then mark them, at least once.

Rows are read and locked (SKIP LOCKED on PostgreSQL, so several relays can run), their
messages published with confirms, and the rows marked published in the same transaction.
If the broker fails half way, the transaction rolls back: the rows stay unpublished and the
next pass sends them again, with the same event ids, which consumers dedupe on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from beat.store.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, messages: list[OutboxMessage]) -> None: ...


@dataclass
class RelayReport:
    rows: int = 0
    messages: int = 0
    failures: int = 0
    last_error: str | None = None
    seconds: float = 0.0

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


class OutboxRelay:
    def __init__(self, engine: Engine, publisher: Publisher, *, rows_per_pass: int = 100) -> None:
        self.engine = engine
        self.outbox = Outbox(engine)
        self.publisher = publisher
        self.rows_per_pass = rows_per_pass

    def relay_pass(self) -> tuple[int, int]:
        """Publish one pass of rows; returns (rows, messages). Raises if the broker fails."""
        with self.engine.begin() as conn:
            messages = self.outbox.pending_events(self.rows_per_pass, conn=conn)
            if not messages:
                return 0, 0
            self.publisher.publish(messages)
            rows = self.outbox.mark_published({m.outbox_id for m in messages}, conn=conn)
        return rows, len(messages)

    def relay(self, *, max_seconds: float = 10.0) -> RelayReport:
        """Relay until the outbox is empty, the time is up, or the broker fails."""
        report = RelayReport()
        started = time.perf_counter()
        while time.perf_counter() - started < max_seconds:
            try:
                rows, sent = self.relay_pass()
            except Exception as exc:  # the events are safe in the outbox; say so and stop
                report.failures += 1
                report.last_error = str(exc)
                log.warning("outbox relay paused: %s", exc)
                break
            if rows == 0:
                break
            report.rows += rows
            report.messages += sent
        report.seconds = time.perf_counter() - started
        return report
