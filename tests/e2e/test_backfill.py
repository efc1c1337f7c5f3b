"""A partition rebuilt from stored raw responses, with every provider down."""

from __future__ import annotations

import asyncio

import aiohttp
import dagster as dg
import pytest
from sqlalchemy import delete, select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import instagram_account, instagram_post
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, drive_until_drained
from beat_dagster.partitions import today_partition_key
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def sandbox_calls(stack: Stack) -> int:
    async def fetch() -> dict:
        url = f"{stack.services.sandbox_url}/_sandbox/stats"
        async with aiohttp.ClientSession() as session, session.get(url) as r:
            return await r.json()

    stats = asyncio.run(fetch())
    return sum(_count(value) for value in stats.values())


def _count(value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    return 0


def snapshot(stack: Stack) -> tuple[list, list]:
    with stack.engine.connect() as conn:
        accounts = conn.execute(
            select(instagram_account.c.profile_id, instagram_account.c.followers).order_by(
                instagram_account.c.profile_id
            )
        ).all()
        posts = conn.execute(
            select(instagram_post.c.shortcode, instagram_post.c.likes).order_by(
                instagram_post.c.shortcode
            )
        ).all()
    return accounts, posts


def test_partition_rebuilds_from_raw_without_provider_calls(stack: Stack) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"history.{i}"} for i in range(12)])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
        before = snapshot(stack)
        assert len(before[0]) == 12 and before[1]

        with stack.engine.begin() as conn:  # lose the warehouse rows
            conn.execute(delete(instagram_post))
            conn.execute(delete(instagram_account))
        stack.fault("*", "server_error", rate=1.0)  # any provider call would now fail
        calls = sandbox_calls(stack)
        assert calls >= 12  # the live run did call the providers

        # A backfill run carries no batch tag: the asset re-parses the day's raw responses.
        job = defs.resolve_job_def(FAMILIES["instagram"].job_name)
        result = job.execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance, partition_key=today_partition_key()
        )
    assert result.success
    assert sandbox_calls(stack) == calls
    assert snapshot(stack) == before
