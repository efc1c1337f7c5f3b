"""Retention: finished requests past their time are archived and deleted in batches; nothing
else is touched, and nothing is dropped unarchived."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from beat.config import load_settings
from beat.objects import LocalFolderStore
from beat.store.models import scrape_request_log as t
from beat.store.queue import Completion, Failure, RequestQueue
from beat.store.retention import RetentionPolicy, archive_prefix, purge_finished
from beat_dagster.definitions import build_definitions

FLOW = "refresh_profile_by_handle"
NOW = datetime.now(UTC)


def _history(engine: Engine) -> dict[str, set[int]]:
    """5 finished 10 days ago (3 complete, 2 failed), 2 finished an hour ago, 1 processing
    and 1 pending, both 10 days old."""
    queue = RequestQueue(engine)
    ids = [queue.enqueue(FLOW, "INSTAGRAM", {"handle": f"r{i}"}).id for i in range(9)]
    claims = queue.claim_batch([FLOW], 8, batch_id="old")
    queue.complete([Completion(c.id, c.attempt, "graphapi", None) for c in claims[:5]])
    queue.fail([Failure(c.id, c.attempt, "target NotFound: gone", False) for c in claims[5:7]])
    old = {c.id for c in claims[:3]} | {c.id for c in claims[5:7]}
    recent = {c.id for c in claims[3:5]}
    with engine.begin() as conn:
        ten_days = NOW - timedelta(days=10)
        conn.execute(update(t).where(t.c.id.in_(old)).values(updated_at=ten_days))
        live = set(ids) - old - recent
        conn.execute(
            update(t).where(t.c.id.in_(live)).values(updated_at=ten_days, created_at=ten_days)
        )
    return {"old": old, "recent": recent, "live": live}


def _ids(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(select(t.c.id)).scalars())


def test_purge_deletes_only_finished_rows_past_retention_in_batches(engine: Engine) -> None:
    rows = _history(engine)
    policy = RetentionPolicy(keep=timedelta(days=7), batch_size=2)
    report = purge_finished(engine, policy)
    assert report.deleted == 5
    assert report.batches == 3  # 2 + 2 + 1
    assert _ids(engine) == rows["recent"] | rows["live"]
    assert purge_finished(engine, policy).deleted == 0


def test_purge_archives_each_batch_before_deleting(engine: Engine, tmp_path: Path) -> None:
    rows = _history(engine)
    store = LocalFolderStore(tmp_path / "objects")
    policy = RetentionPolicy(keep=timedelta(days=7), archive=True, batch_size=3)
    report = purge_finished(engine, policy, objects=store)
    assert (report.deleted, report.archived_objects) == (5, 2)
    day = (NOW - timedelta(days=10)).date()
    archived = [
        json.loads(line)
        for key in store.list(archive_prefix(day))
        for line in gzip.decompress(store.get(key)).decode().splitlines()
    ]
    assert {row["id"] for row in archived} == rows["old"]
    assert {row["status"] for row in archived} == {"COMPLETE", "FAILED"}
    assert all(len(row["updated_at"]) == len("2026-01-01 00:00:00") for row in archived)


class BrokenStore(LocalFolderStore):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        raise OSError("bucket unavailable")


def test_failed_archive_upload_deletes_nothing(engine: Engine, tmp_path: Path) -> None:
    _history(engine)
    before = _ids(engine)
    policy = RetentionPolicy(keep=timedelta(days=7), archive=True)
    with pytest.raises(OSError, match="bucket unavailable"):
        purge_finished(engine, policy, objects=BrokenStore(tmp_path))
    assert _ids(engine) == before


def test_retention_policy_from_env_rejects_nonsense(monkeypatch) -> None:
    monkeypatch.setenv("BEAT_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="BEAT_RETENTION_DAYS must be positive"):
        RetentionPolicy.from_env()


def test_retention_job_purges(engine: Engine, tmp_path: Path, monkeypatch) -> None:
    rows = _history(engine)
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.setenv("BEAT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BEAT_RETENTION_DAYS", "7")
    job = build_definitions(load_settings()).resolve_job_def("queue_retention_job")
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    )
    assert result.success
    assert result.output_for_node("purge_finished_requests") == 5
    assert _ids(engine) == rows["recent"] | rows["live"]
