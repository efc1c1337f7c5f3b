"""Transactional outbox: events are written in the same transaction as the change they describe.

A relay (not part of this module) reads unpublished rows, publishes them to RabbitMQ and marks
them published, so an event is never lost when the broker is down and never sent for a change
that rolled back. Delivery is at-least-once; consumers dedupe on `event_id`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update

from beat.store.models import outbox

EXCHANGE = "beat.dx"
SCRAPE_REQUEST_ROUTING_KEY = "scrape_request_log_events"

# One statement per batch whatever its size, with one JSON document as its only parameter:
# the text is constant, so psycopg prepares it once, and Postgres parses the batch in C. (A
# jsonb[] array parameter was measured spending more client CPU escaping its elements than
# everything else in the claim/complete path together.)
_PG_INSERT_EVENTS = text(
    """
    INSERT INTO outbox (event_id, exchange, routing_key, payload)
    SELECT e ->> 'event_id', e ->> 'exchange', e ->> 'routing_key', e -> 'payload'
    FROM jsonb_array_elements(CAST(:events AS jsonb)) AS e
    """
)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    event_id: str
    exchange: str
    routing_key: str
    payload: Mapping[str, Any]

    @classmethod
    def scrape_request(cls, row: Mapping[Any, Any], reason: str | None = None) -> OutboxEvent:
        """The `scrape_request_log_events` message for a request row in its new state.

        The key set is the original platform's, so existing consumers keep working.
        """
        event_id = str(uuid.uuid4())
        payload = {
            "event_id": event_id,
            "scl_id": row["id"],
            "flow": row["flow"],
            "platform": row["platform"],
            "params": row["params"],
            "status": row["status"],
            "priority": row["priority"],
            "reason": reason,
            "event_timestamp": _iso(row["updated_at"]) or _iso(datetime.now(UTC)),
            "picked_at": _iso(row["picked_at"]),
            "expires_at": _iso(row["expires_at"]),
            "retry_count": row["retry_count"],
        }
        return cls(event_id, EXCHANGE, SCRAPE_REQUEST_ROUTING_KEY, payload)


def pg_scrape_request_events_sql(source: str, reason: str = "NULL") -> str:
    """An INSERT writing one `scrape_request_log_events` outbox row per row of `source`.

    For use as a data-modifying CTE in the Postgres queue statements: the event is built in the
    same statement as the state change, from the row as it was written, so no row travels to
    Python and back. `source` names a relation with the `scrape_request_log` columns; `reason`
    is an SQL expression. Must build exactly what `OutboxEvent.scrape_request` builds (the
    tests compare the two).
    """
    return f"""\
INSERT INTO outbox (event_id, exchange, routing_key, payload)
SELECT e.event_id, '{EXCHANGE}', '{SCRAPE_REQUEST_ROUTING_KEY}', jsonb_build_object(
    'event_id', e.event_id,
    'scl_id', e.id,
    'flow', e.flow,
    'platform', e.platform,
    'params', e.params,
    'status', e.status,
    'priority', e.priority,
    'reason', CAST(e.event_reason AS text),
    'event_timestamp', {_pg_iso("e.updated_at")},
    'picked_at', {_pg_iso("e.picked_at")},
    'expires_at', {_pg_iso("e.expires_at")},
    'retry_count', e.retry_count)
FROM (
    SELECT s.*, {reason} AS event_reason, CAST(gen_random_uuid() AS varchar) AS event_id
    FROM {source} AS s
) AS e"""


def _pg_iso(expression: str) -> str:
    # The same text as Python's isoformat(timespec="microseconds") for a UTC datetime.
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    event_id: str
    exchange: str
    routing_key: str
    payload: Mapping[str, Any]
    created_at: datetime
    publish_attempts: int


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def write_events(conn: Connection, events: Sequence[OutboxEvent]) -> None:
    """Insert `events` into the outbox inside the caller's transaction, in one statement."""
    if not events:
        return
    if conn.dialect.name == "postgresql":
        document = [
            {
                "event_id": e.event_id,
                "exchange": e.exchange,
                "routing_key": e.routing_key,
                "payload": e.payload,
            }
            for e in events
        ]
        conn.execute(_PG_INSERT_EVENTS, {"events": json.dumps(document)})
        return
    conn.execute(
        insert(outbox),
        [
            {
                "event_id": e.event_id,
                "exchange": e.exchange,
                "routing_key": e.routing_key,
                "payload": e.payload,
            }
            for e in events
        ],
    )


class Outbox:
    """Read side for a relay: fetch unpublished events in order, then mark them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def pending_events(
        self, limit: int = 100, *, conn: Connection | None = None
    ) -> list[StoredEvent]:
        """Oldest unpublished events first.

        Pass `conn` (an open transaction) to hold row locks until you mark them, so several
        relays can run at once: on Postgres the rows are locked with SKIP LOCKED.
        """
        stmt = (
            select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        )
        if conn is not None:
            stmt = stmt.with_for_update(skip_locked=True)
            return [StoredEvent(**_event_fields(r)) for r in conn.execute(stmt).mappings()]
        with self._engine.begin() as own:
            return [StoredEvent(**_event_fields(r)) for r in own.execute(stmt).mappings()]

    def mark_published(self, ids: Sequence[int], *, conn: Connection | None = None) -> int:
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
            .where(outbox.c.published_at.is_(None))
            .values(published_at=func.now(), publish_attempts=outbox.c.publish_attempts + 1)
        )
        return self._update(stmt, ids, conn)

    def mark_attempt_failed(self, ids: Sequence[int], *, conn: Connection | None = None) -> int:
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
            .values(publish_attempts=outbox.c.publish_attempts + 1)
        )
        return self._update(stmt, ids, conn)

    def _update(self, stmt: Any, ids: Sequence[int], conn: Connection | None) -> int:
        if not ids:
            return 0
        if conn is not None:
            return conn.execute(stmt, {"ids": list(ids)}).rowcount
        with self._engine.begin() as own:
            return own.execute(stmt, {"ids": list(ids)}).rowcount


def _event_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: row[k] for k in StoredEvent.__dataclass_fields__}
