"""YouTube CSV exports end to end: intake -> youtube_exports_sensor -> run -> a CSV and its
Parquet twin in S3 (a moto server over HTTP), the request's data saying where they went."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import boto3
import dagster as dg
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from sandbox.youtube import CATALOGUE, channel_facts, video_facts
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KNOWN = [f for f in (channel_facts(h, 0) for h in CATALOGUE) if f is not None]
BUSY = [f for f in KNOWN if f.video_count >= 10]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, str]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "BEAT_S3_ENDPOINT_URL": endpoint,
        "BEAT_OBJECT_STORE": "s3://beat-exports/beat",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="beat-exports")
    try:
        yield client, "beat-exports"
    finally:
        server.stop()


def frame(client: object, url: str, parquet: bool = False) -> pd.DataFrame:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
    return pd.read_parquet(io.BytesIO(body)) if parquet else pd.read_csv(io.BytesIO(body))


def test_exports_land_in_s3_as_csv_and_parquet(stack: Stack, s3: tuple[object, str]) -> None:
    client, bucket = s3
    # A CSV of video ids already in the object store: the export reads it, not the request.
    videos = [video_facts(f, i).video_id for f in BUSY[:3] for i in range(10)]
    inputs = pd.DataFrame({"video_id": videos}).to_csv(index=False).encode()
    client.put_object(Bucket=bucket, Key="beat/inputs/videos.csv", Body=inputs)  # type: ignore[attr-defined]
    stack.submit("fetch_channels_csv", [{"channel_ids": [f.channel_id for f in KNOWN]}])
    stack.submit("fetch_video_details_csv", [{"videos_path": "inputs/videos.csv"}])
    stack.submit(
        "fetch_channel_videos_csv", [{"channel_ids": [BUSY[0].channel_id], "max_posts": 6}]
    )
    stack.submit(
        "fetch_playlist_videos_csv",
        [{"playlist_ids": ["UU" + BUSY[1].channel_id[2:]], "max_posts": 4}],
    )
    stack.submit("fetch_keyword_videos_csv", [{"keywords": ["cooking"], "max_results": 5}])
    stack.submit("fetch_video_details_csv", [{"videos_path": "inputs/missing.csv"}])

    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(defs, instance, stack.queue, [FAMILIES["youtube_exports"]])
        assert report.drained

    with stack.engine.connect() as conn:
        rows = conn.execute(
            select(scrape_request_log.c.flow, scrape_request_log.c.status,
                   scrape_request_log.c.data, scrape_request_log.c.last_error)
        ).all()  # fmt: skip
    done = {flow: json.loads(data) for flow, status, data, _ in rows if status == "COMPLETE"}
    failed = [error for _, status, _, error in rows if status == "FAILED"]
    assert len(done) == 5 and len(failed) == 1
    assert "inputs/missing.csv" in failed[0]  # bad input: a clear error, no retry

    expected = {
        "fetch_channels_csv": ("channels", len(KNOWN)),
        "fetch_video_details_csv": ("video_details", len(videos)),
        "fetch_channel_videos_csv": ("channel_videos", 6),
        "fetch_playlist_videos_csv": ("playlist_videos", 4),
        "fetch_keyword_videos_csv": ("keyword_videos", 5),
    }
    for flow, (name, count) in expected.items():
        data = done[flow]
        assert data["rows"] == count, flow
        csv_url, parquet_url = data[f"{name}_csv"], data[f"{name}_parquet"]
        assert csv_url.startswith(f"s3://{bucket}/beat/exports/youtube/{flow}/")
        csv, parquet = frame(client, csv_url), frame(client, parquet_url, parquet=True)
        assert len(csv) == len(parquet) == count
        assert list(csv.columns) == list(parquet.columns)
    details = frame(client, done["fetch_video_details_csv"]["video_details_csv"])
    assert list(details["video_id"]) == videos
    playlist = frame(client, done["fetch_playlist_videos_csv"]["playlist_videos_csv"])
    assert set(playlist["playlist_id"]) == {"UU" + BUSY[1].channel_id[2:]}
