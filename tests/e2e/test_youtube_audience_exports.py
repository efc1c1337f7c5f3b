"""The YouTube Analytics audience exports end to end: intake -> youtube_exports_sensor -> run
-> CSV + Parquet in S3 (moto over HTTP), read with each channel's own grant from the sandbox."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from sandbox.youtube_analytics import OWNERS, report
from tests.e2e.conftest import Stack
from tests.e2e.test_youtube_exports import frame, s3  # noqa: F401 - the S3 fixture

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DAYS = {"start_date": "2024-01-01", "end_date": "2024-03-31"}


def test_demographic_and_geography_exports(stack: Stack, s3: tuple[object, str]) -> None:  # noqa: F811
    client, _bucket = s3
    owners = list(OWNERS.values())
    stranger = "UC" + "x" * 22  # no grant of its own: left out, as an unknown id
    stack.submit("fetch_channel_demographic_csv", [{"channel_ids": [*owners, stranger], **DAYS}])
    stack.submit("fetch_channel_audience_geography_csv", [{"channel_ids": owners[:1], **DAYS}])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drained = drive_until_drained(defs, instance, stack.queue, [FAMILIES["youtube_exports"]])
        assert drained.drained
    with stack.engine.connect() as conn:
        rows = conn.execute(
            select(scrape_request_log.c.flow, scrape_request_log.c.status,
                   scrape_request_log.c.data)
        ).all()  # fmt: skip
    assert {status for _, status, _ in rows} == {"COMPLETE"}
    done = {flow: json.loads(data) for flow, _, data in rows}

    demo = frame(client, done["fetch_channel_demographic_csv"]["channel_demographic_csv"])
    twin = frame(client, done["fetch_channel_demographic_csv"]["channel_demographic_parquet"],
                 parquet=True)  # fmt: skip
    assert len(demo) == len(twin) == 14 * len(owners)  # 7 age groups x 2 genders each
    assert set(demo["channel_id"]) == set(owners)
    for owner in owners:
        share = demo[demo["channel_id"] == owner]["viewer_percentage"].sum()
        assert abs(share - 100) < 1
    assert set(demo["start_date"]) == {"2024-01-01"} and set(demo["end_date"]) == {"2024-03-31"}

    geo = frame(
        client, done["fetch_channel_audience_geography_csv"]["channel_audience_geography_csv"]
    )
    expected = report(owners[0], "country", "2024-01-01", "2024-03-31", 200)["rows"]
    assert [[c, v] for c, v in zip(geo["country"], geo["views"], strict=True)] == expected
