"""Finished requests are kept for a while (status lookups, audits), then archived or dropped.

A purge deletes finished rows (COMPLETE, FAILED, EXPIRED) whose last change is older than the
retention, oldest first, a few thousand per transaction: each batch walks the
``ix_scrape_request_log_finished`` index, locks only rows nobody else holds (SKIP LOCKED) and
commits at once, so claims and completions running meanwhile never wait behind it and no
long transaction holds back vacuum. With an object store, each batch's rows are written to
``archive/scrape_request_log/{day}/{first id}-{last id}.jsonl.gz`` inside the same
transaction: a failed upload rolls the delete back, so nothing is dropped unarchived.

``bench/retention_bench.py`` measures the claim with 10 million finished rows present and
while a purge runs.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, literal, literal_column, select

from beat.objects import ObjectStore
from beat.store.models import UTCDateTime, scrape_request_log
from beat.store.models_ops import TERMINAL_STATUSES

log = logging.getLogger(__name__)
t = scrape_request_log

DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_PURGE_BATCH = 5000


@dataclass(frozen=True)
class RetentionPolicy:
    keep: timedelta
    archive: bool = False
    batch_size: int = DEFAULT_PURGE_BATCH
    #: After each batch, rest this many times as long as the batch took: 1.0 keeps the purge
    #: to about half of one core, leaving the claim its CPU on a small database server.
    pause_ratio: float = 1.0

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        """``BEAT_RETENTION_DAYS`` (default 30; fractions allowed), ``BEAT_RETENTION_ARCHIVE``
        (1: archive to the object store before deleting), ``BEAT_RETENTION_BATCH``."""
        days = float(os.environ.get("BEAT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
        if days <= 0:
            raise ValueError(f"BEAT_RETENTION_DAYS must be positive, got {days}")
        return cls(
            keep=timedelta(days=days),
            archive=os.environ.get("BEAT_RETENTION_ARCHIVE", "0") == "1",
            batch_size=int(os.environ.get("BEAT_RETENTION_BATCH", DEFAULT_PURGE_BATCH)),
            pause_ratio=float(os.environ.get("BEAT_RETENTION_PAUSE_RATIO", 1.0)),
        )


@dataclass
class PurgeReport:
    deleted: int = 0
    archived_objects: int = 0
    batches: int = 0
    seconds: float = 0.0
    cutoff: datetime | None = None

    @property
    def rows_per_second(self) -> float:
        return self.deleted / self.seconds if self.seconds else 0.0


def _finished_before(cutoff: datetime) -> Any:
    # The same predicate as the partial index (literals, so the planner can prove it).
    terminal = t.c.status.in_([literal_column(f"'{s}'") for s in TERMINAL_STATUSES])
    return terminal & (t.c.updated_at < literal(cutoff, UTCDateTime()))


def purge_finished(
    engine: Engine,
    policy: RetentionPolicy,
    *,
    objects: ObjectStore | None = None,
    now: datetime | None = None,
    max_batches: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> PurgeReport:
    """Delete (after archiving, if the policy says so) finished rows older than the policy's
    retention, batch by batch, until none is left, ``max_batches`` is reached or
    ``should_stop()`` says so (a drain)."""
    if policy.archive and objects is None:
        raise ValueError("retention archives to the object store, but none was given")
    cutoff = (now or datetime.now(UTC)) - policy.keep
    report = PurgeReport(cutoff=cutoff)
    started = time.perf_counter()
    doomed = (
        select(t.c.id)
        .where(_finished_before(cutoff))
        .order_by(t.c.updated_at)
        .limit(policy.batch_size)
        .with_for_update(skip_locked=True)
    )
    while not should_stop() and (max_batches is None or report.batches < max_batches):
        batch_started = time.perf_counter()
        with engine.begin() as conn:
            statement = delete(t).where(t.c.id.in_(doomed))
            if policy.archive:
                rows = conn.execute(statement.returning(*t.c)).mappings().all()
                count = len(rows)
                if rows:
                    assert objects is not None
                    objects.put(_archive_key(rows), _archive_lines(rows), "application/gzip")
                    report.archived_objects += 1
            else:
                count = conn.execute(statement).rowcount
        if count == 0:
            break
        report.deleted += count
        report.batches += 1
        if policy.pause_ratio > 0 and count == policy.batch_size:  # more to come: rest
            time.sleep((time.perf_counter() - batch_started) * policy.pause_ratio)
    report.seconds = time.perf_counter() - started
    log.info(
        "purged %d finished requests older than %s in %d batches",
        report.deleted,
        cutoff.isoformat(),
        report.batches,
    )
    return report


def _archive_key(rows: Sequence[Any]) -> str:
    ids = [row["id"] for row in rows]
    day = max(row["updated_at"] for row in rows).date()
    return f"{archive_prefix(day)}{min(ids):012d}-{max(ids):012d}.jsonl.gz"


def archive_prefix(day: date) -> str:
    return f"archive/scrape_request_log/{day.isoformat()}/"


def _archive_lines(rows: Sequence[Any]) -> bytes:
    lines = [json.dumps(dict(row), default=_json_default, separators=(",", ":")) for row in rows]
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
