"""History never goes backwards: a backfill of an old day, after a newer refresh, leaves the
newer values, keeps refreshed_at, publishes nothing, and its asset check judges what it
rebuilt (and fails when a row does go backwards)."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import date, timedelta
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import func, select, update

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.objects import open_object_store
from beat.pipeline.batch import raw_prefix
from beat.pipeline.instagram import PIPELINE
from beat.pipeline.instagram_checks import newest_observation_kept
from beat.store.models import instagram_account, instagram_post, outbox
from beat.store.models_history import profile_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, drive_until_drained
from beat_dagster.partitions import today_partition_key
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HANDLES = [f"history.walk.{i}" for i in range(4)]
#: Counters an older answer would have had lower.
COUNTERS = ("followers_count", "follower_count", "like_count", "count", "media_count")


def _older(value: Any) -> Any:
    """The same answer with every counter lowered: what the provider said a day earlier."""
    if isinstance(value, dict):
        return {
            k: (v - 1 if k in COUNTERS and isinstance(v, int) and v > 0 else _older(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_older(v) for v in value]
    return value


def _a_day_earlier(response: dict[str, Any]) -> dict[str, Any]:
    headers = dict(response["headers"])
    answered = parsedate_to_datetime(headers["date"]) - timedelta(days=1)
    headers["date"] = formatdate(answered.timestamp(), usegmt=True)
    body = json.loads(base64.b64decode(response["body_b64"]))
    return {
        **response,
        "headers": headers,
        "fetched_at": response["fetched_at"] - 86400,
        "body_b64": base64.b64encode(json.dumps(_older(body)).encode()).decode(),
    }


def _state(stack: Stack) -> list[tuple]:
    with stack.engine.connect() as conn:
        accounts = conn.execute(
            select(
                instagram_account.c.profile_id,
                instagram_account.c.followers,
                instagram_account.c.refreshed_at,
                instagram_account.c.observed_at,
            ).order_by(instagram_account.c.profile_id)
        ).all()
        posts = conn.execute(
            select(
                instagram_post.c.shortcode,
                instagram_post.c.likes,
                instagram_post.c.refreshed_at,
                instagram_post.c.observed_at,
            ).order_by(instagram_post.c.shortcode)
        ).all()
    return [*accounts, *posts]


def test_backfill_of_an_older_day_keeps_newer_values_and_publishes_nothing(stack: Stack) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": h} for h in HANDLES])
    settings = load_settings()
    defs = build_definitions(settings)
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
        before = _state(stack)
        events_before = stack.count(outbox)
        logged_before = stack.count(profile_log)
        assert len([row for row in before if row[1] is not None]) > len(HANDLES)

        # Yesterday's stored answers: the same requests, a day older, with lower counters.
        today = today_partition_key()
        objects = open_object_store(settings.object_store_url)
        yesterday = date.fromisoformat(today) - timedelta(days=1)
        records = []
        for key in objects.list(raw_prefix("instagram", date.fromisoformat(today))):
            for line in gzip.decompress(objects.get(key)).decode().splitlines():
                record = json.loads(line)
                record["responses"] = [_a_day_earlier(r) for r in record["responses"]]
                records.append(record)
        assert len(records) == len(HANDLES)
        # The fabricated day really says something else: re-parsed, it has lower counters.
        old = PIPELINE.reparse(records[0])
        assert old.of("profiles")[0].followers is not None
        blob = gzip.compress(("\n".join(json.dumps(r) for r in records) + "\n").encode())
        objects.put(f"{raw_prefix('instagram', yesterday)}old/batch.jsonl.gz", blob)

        job = defs.resolve_job_def(FAMILIES["instagram"].job_name)
        result = job.execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance, partition_key=yesterday.isoformat()
        )
    assert result.success
    # The newer refresh stands: values, refreshed_at and observed_at untouched.
    after = {row[0]: row for row in _state(stack)}
    assert [after[row[0]] for row in before] == before
    # Yesterday's window reached a little further back (its 30-day cut-off is a day older):
    # posts only it saw are new rows, refreshed when they were observed, not now.
    for key in set(after) - {row[0] for row in before}:
        _, _, refreshed_at, observed_at = after[key]
        assert refreshed_at == observed_at and observed_at.date() == yesterday
    # Nothing published: an old observation is not news.
    assert stack.count(outbox) == events_before
    # The history gained the older observations (one per profile), so that day can be analysed.
    assert stack.count(profile_log) == logged_before + len(HANDLES)
    with stack.engine.connect() as conn:
        oldest = conn.execute(select(func.min(profile_log.c.observed_at))).scalar_one()
    assert oldest.date() == yesterday

    (check,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "history_newest_wins"
    ]
    assert check.passed
    assert check.metadata["profiles_observed"].value == len(HANDLES)
    assert check.metadata["rows_behind_newest_observation"].value == 0


def test_the_history_check_fails_when_a_row_goes_backwards(stack: Stack) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": h} for h in HANDLES[:2]])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
    today = date.fromisoformat(today_partition_key())
    passed, metadata = newest_observation_kept(stack.engine, [today])
    assert passed and metadata["profiles_observed"] == 2
    with stack.engine.begin() as conn:  # what an unguarded rebuild would do to one row
        victim, seen = conn.execute(
            select(instagram_account.c.profile_id, instagram_account.c.observed_at).limit(1)
        ).one()
        conn.execute(
            update(instagram_account)
            .where(instagram_account.c.profile_id == victim)
            .values(observed_at=seen - timedelta(days=1))
        )
    passed, metadata = newest_observation_kept(stack.engine, [today])
    assert not passed and metadata["rows_behind_newest_observation"] == 1
