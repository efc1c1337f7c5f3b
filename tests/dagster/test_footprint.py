"""Small things that keep a local install honest and small: where partitions start, what a
day's log rows add up to, media not queued twice, the local event folder bounded."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from beat.pipeline.daily import summary_counts
from beat.pipeline.media import media_requests
from beat_dagster.partitions import partitions_start
from beat_dagster.resources.broker import prune_local_queues
from providers.model import InstagramProfile


def test_partitions_start_a_week_back_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEAT_PARTITIONS_START", raising=False)
    assert partitions_start(date(2026, 12, 6)) == date(2026, 11, 29)
    monkeypatch.setenv("BEAT_PARTITIONS_START", "2025-03-01")
    assert partitions_start(date(2026, 12, 6)) == date(2025, 3, 1)
    monkeypatch.setenv("BEAT_PARTITIONS_START", "March")
    with pytest.raises(ValueError, match="BEAT_PARTITIONS_START='March' is not a date"):
        partitions_start()


def test_summary_counts_read_what_a_completion_stored() -> None:
    assert summary_counts("provider=graphapi profiles=1 posts=12") == {"profiles": 1, "posts": 12}
    assert summary_counts("stored 1234 bytes") == {}
    assert summary_counts(None) == {}


def test_the_same_picture_under_a_new_signature_or_host_is_not_queued_again() -> None:
    def picture(url: str) -> str:
        profile = InstagramProfile(profile_id="17841", handle="nasa", profile_pic_url=url)
        (request,) = media_requests([profile], [])
        return request.idempotency_key

    first = picture("http://127.0.0.1:4001/cdn/profile/17841.jpg?oe=1&sig=aa")
    assert picture("http://127.0.0.1:4999/cdn/profile/17841.jpg?oe=2&sig=bb") == first
    assert picture("http://127.0.0.1:4001/cdn/profile/17842.jpg?oe=1&sig=aa") != first


def test_local_queues_keep_only_their_newest_messages(tmp_path: Path) -> None:
    now = time.time()
    for queue, count in (("post_log_events_q", 5), ("trace_log_q", 2)):
        for i in range(count):
            path = tmp_path / f"{100 + i}_{i:08d}.{queue}.msg"
            path.write_text("{}")
            os.utime(path, (now + i, now + i))
    (tmp_path / "control").mkdir()

    assert prune_local_queues(tmp_path, keep=3) == 2
    left = sorted(p.name for p in tmp_path.glob("*.msg"))
    assert left == sorted(
        [
            "102_00000002.post_log_events_q.msg",
            "103_00000003.post_log_events_q.msg",
            "104_00000004.post_log_events_q.msg",
            "100_00000000.trace_log_q.msg",
            "101_00000001.trace_log_q.msg",
        ]
    )
