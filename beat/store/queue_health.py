"""What the queue looks like right now: backlog by flow and status, how old the oldest pending
request is, why requests failed and how fast they finish.

Every query reads a partial index (claim, lease, finished) rather than the table, so the
report costs the size of the backlog and of the last hour's work, not of the history kept:
``bench/retention_bench.py`` times it with 10 million finished rows present.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, literal, literal_column, select

from beat.store.models import UTCDateTime, scrape_request_log
from beat.store.models_ops import TERMINAL_STATUSES

t = scrape_request_log

#: Upper bounds of the pending-age buckets, in seconds (the last bucket is open-ended).
AGE_BUCKETS = ((60, "<1m"), (600, "1-10m"), (3600, "10-60m"), (86400, "1-24h"))
OLDER = ">24h"


@dataclass
class FlowBacklog:
    flow: str
    status: str
    count: int
    oldest_created_at: datetime | None


@dataclass
class QueueHealth:
    measured_at: datetime
    backlog: list[FlowBacklog] = field(default_factory=list)
    pending_by_age: dict[str, int] = field(default_factory=dict)
    oldest_pending: dict[str, Any] | None = None
    #: (flow, status) -> rows that finished in the window, status COMPLETE / FAILED / EXPIRED
    finished: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (flow, reason kind) -> failures in the window
    failure_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    window_seconds: float = 3600.0

    @property
    def oldest_pending_age_seconds(self) -> float:
        if self.oldest_pending is None:
            return 0.0
        return (self.measured_at - self.oldest_pending["created_at"]).total_seconds()

    def completed_per_minute(self) -> float:
        done = sum(n for (_, status), n in self.finished.items() if status == "COMPLETE")
        return done / (self.window_seconds / 60)


def _status(*statuses: str) -> Any:
    # Literals, not bind parameters: the partial indexes' predicates must be provable.
    if len(statuses) == 1:
        return t.c.status == literal_column(f"'{statuses[0]}'")
    return t.c.status.in_([literal_column(f"'{s}'") for s in statuses])


def _reason_kind(error: str | None) -> str:
    """ "provider HttpError graphapi 503: ..." -> "provider HttpError graphapi 503"."""
    return (error or "unknown").split(":", 1)[0][:120]


def measure(engine: Engine, *, window_seconds: float = 3600.0) -> QueueHealth:
    now = datetime.now(UTC)
    since = literal(now - timedelta(seconds=window_seconds), UTCDateTime())
    health = QueueHealth(measured_at=now, window_seconds=window_seconds)
    with engine.connect() as conn:
        for status in ("PENDING", "PROCESSING"):
            rows = conn.execute(
                select(t.c.flow, func.count(), func.min(t.c.created_at))
                .where(_status(status))
                .group_by(t.c.flow)
            ).all()
            health.backlog += [FlowBacklog(f, status, n, oldest) for f, n, oldest in rows]
        buckets = [
            func.coalesce(func.sum(case((t.c.created_at > _ago(now, bound), 1), else_=0)), 0)
            for bound, _ in AGE_BUCKETS
        ]
        counts = conn.execute(select(func.count(), *buckets).where(_status("PENDING"))).one()
        total, cumulative = counts[0], list(counts[1:])
        previous = 0
        for (_, name), upto in zip(AGE_BUCKETS, cumulative, strict=True):
            health.pending_by_age[name] = int(upto) - previous
            previous = int(upto)
        health.pending_by_age[OLDER] = int(total) - previous
        oldest = conn.execute(
            select(t.c.id, t.c.flow, t.c.created_at, t.c.attempt, t.c.run_after)
            .where(_status("PENDING"))
            .order_by(t.c.created_at, t.c.id)
            .limit(1)
        ).first()
        if oldest is not None:
            health.oldest_pending = dict(oldest._mapping)
        finished = and_(_status(*TERMINAL_STATUSES), t.c.updated_at >= since)
        for flow, status, n in conn.execute(
            select(t.c.flow, t.c.status, func.count())
            .where(finished)
            .group_by(t.c.flow, t.c.status)
        ):
            health.finished[(flow, status)] += n
        for flow, error, n in conn.execute(
            select(t.c.flow, t.c.last_error, func.count())
            .where(finished & _status("FAILED"))
            .group_by(t.c.flow, t.c.last_error)
        ):
            health.failure_reasons[(flow, _reason_kind(error))] += n
    return health


def _ago(now: datetime, seconds: float) -> Any:
    return literal(now - timedelta(seconds=seconds), UTCDateTime())
