"""What a family's requests came to on one UTC day, read back from scrape_request_log.

A daily partition describes its day, not whichever batch ran last: the figures here count
every request of the family's flows that settled that day (COMPLETE or FAILED, by the time
of that last transition), whichever runs did the work. A batch's own figures belong to its
run (see `BatchReport`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text

from beat.store.models import SETTLED, scrape_request_log

log = scrape_request_log.c


def reason_kind(reason: str) -> str:
    """ "provider GraphApiError 500: ..." -> "provider GraphApiError 500" (see `classify`)."""
    return reason.split(":", 1)[0]


def summary_counts(summary: str | None) -> dict[str, int]:
    """What `FlowOutcome.summary()` stored in a completed row's `data`: "provider=x profiles=1
    posts=12" -> {"profiles": 1, "posts": 12}."""
    counts: dict[str, int] = {}
    for token in (summary or "").split():
        key, _, value = token.partition("=")
        if value.isdigit():
            counts[key] = int(value)
    return counts


@dataclass
class DayFigures:
    day: date
    completed: int = 0
    failed: int = 0
    #: Rows the day's completed requests wrote, by item kind.
    rows: Counter[str] = field(default_factory=Counter)
    providers: Counter[str] = field(default_factory=Counter)
    failure_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def settled(self) -> int:
        return self.completed + self.failed

    def metadata(self, kind: str | None = None) -> dict[str, Any]:
        """Partition metadata; ``kind`` adds that asset's own row count as ``rows``."""
        meta: dict[str, Any] = {
            "day": self.day.isoformat(),
            "day_requests_settled": self.settled,
            "day_requests_completed": self.completed,
            "day_requests_failed": self.failed,
            "day_failure_rate": round(self.failed / self.settled, 4) if self.settled else 0.0,
            "day_provider_mix": dict(self.providers.most_common()),
            "day_failures_by_reason": dict(self.failure_reasons.most_common(10)),
            "day_rows_by_kind": dict(self.rows),
        }
        if kind is not None:
            meta["day_rows"] = self.rows[kind]
        return meta


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_figures(engine: Engine, flows: Sequence[str], day: date) -> DayFigures:
    """The day's settled requests of these flows: completed and failed, provider mix, failure
    reasons and the rows the completed ones wrote."""
    start, end = day_bounds(day)
    settled_that_day = (
        log.flow.in_(list(flows)),
        # Literally the partial index's predicate, so the planner can use it.
        text(SETTLED),
        log.updated_at >= start,
        log.updated_at < end,
    )
    figures = DayFigures(day)
    query = (
        select(log.status, log.provider, log.data, log.last_error, func.count())
        .where(*settled_that_day)
        .group_by(log.status, log.provider, log.data, log.last_error)
    )
    with engine.connect() as conn:
        for status, provider, data, last_error, count in conn.execute(query):
            if status == "COMPLETE":
                figures.completed += count
                figures.providers[provider or "unknown"] += count
                for kind, rows in summary_counts(data).items():
                    figures.rows[kind] += rows * count
            else:
                figures.failed += count
                figures.failure_reasons[reason_kind(last_error or "unknown")] += count
    return figures
