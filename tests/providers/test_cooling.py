"""TTL a provider asks for, read from its headers (pure functions, fixed clocks)."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import formatdate
from zoneinfo import ZoneInfo

import pytest

from providers.cooling import cooling_seconds, remaining_budget, seconds_until_midnight_pacific

NOW = 1_790_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": formatdate(NOW + 120, usegmt=True)}, 120.0),
        ({"x-ratelimit-requests-reset": "3600"}, 3600.0),
        ({"x-ratelimit-reset": str(int(NOW) + 90)}, 90.0),  # an epoch, not seconds
        (
            {
                "x-business-use-case-usage": json.dumps(
                    {"1784": [{"type": "instagram", "estimated_time_to_regain_access": 12}]}
                )
            },
            720.0,
        ),
        ({"x-app-usage": '{"call_count": 100, "estimated_time_to_regain_access": 3}'}, 180.0),
        ({"retry-after": "0", "x-ratelimit-requests-reset": "30"}, 30.0),  # 0 says nothing
        # A per-second 429 with plan budget left: the plan's reset (a day away) is not the wait.
        (
            {
                "x-ratelimit-requests-reset": "86400",
                "x-ratelimit-requests-remaining": "500",
                "x-ratelimit-reset": "2",
            },
            2.0,
        ),
        ({"retry-after": "soon"}, None),
        ({"x-business-use-case-usage": "{not json"}, None),
        ({"retry-after": "99999999"}, 7 * 86400.0),  # capped at a week
        ({}, None),
    ],
)
def test_cooling_seconds(headers: dict[str, str], expected: float | None) -> None:
    got = cooling_seconds(headers, now=NOW)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_remaining_budget() -> None:
    assert remaining_budget({"x-ratelimit-requests-remaining": "812"}) == 812
    assert remaining_budget({"x-ratelimit-remaining": "3"}) == 3
    assert remaining_budget({"x-ratelimit-requests-remaining": "-1"}) is None
    assert remaining_budget({}) is None


@pytest.mark.parametrize(
    ("local", "hours"),
    [
        (datetime(2026, 11, 28, 23, 0, tzinfo=ZoneInfo("America/Los_Angeles")), 1.0),
        (datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("America/Los_Angeles")), 12.0),
        # The night clocks go back: midnight is 25 h after the previous midnight.
        (datetime(2026, 11, 1, 0, 0, tzinfo=ZoneInfo("America/Los_Angeles")), 25.0),
    ],
)
def test_youtube_quota_resets_at_midnight_pacific(local: datetime, hours: float) -> None:
    assert seconds_until_midnight_pacific(local.timestamp()) == pytest.approx(hours * 3600)
