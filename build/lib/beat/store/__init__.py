"""beat's database layer: tables, migrations, the request queue and the event outbox."""

from beat.store.db import make_engine, upgrade
from beat.store.outbox import Outbox, OutboxEvent, write_events
from beat.store.queue import (
    ClaimedRequest,
    Completion,
    CompletionReport,
    Enqueued,
    Failure,
    FailureReport,
    NewRequest,
    ReapReport,
    RequestQueue,
    RequestRecord,
)

__all__ = [
    "ClaimedRequest",
    "Completion",
    "CompletionReport",
    "Enqueued",
    "Failure",
    "FailureReport",
    "NewRequest",
    "Outbox",
    "OutboxEvent",
    "ReapReport",
    "RequestQueue",
    "RequestRecord",
    "make_engine",
    "upgrade",
    "write_events",
]
