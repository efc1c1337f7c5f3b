"""The daily partitions every batch asset shares: one UTC day each, today included.

They start at ``BEAT_PARTITIONS_START`` (``YYYY-MM-DD``): set it to the day your data begins
(a production install keeps a fixed date so its partitions never move). Unset, they start
seven days before the day the code location was loaded: a fresh install shows a week of
days it can fill or backfill, not hundreds of empty ones reading "0% filled". Stored
materializations outside the range stay in the instance; they are only not listed.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg

START_ENV = "BEAT_PARTITIONS_START"
DEFAULT_DAYS_BACK = 7


def partitions_start(today: date | None = None) -> date:
    value = os.environ.get(START_ENV, "").strip()
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{START_ENV}={value!r} is not a date (YYYY-MM-DD)") from None
    return (today or datetime.now(UTC).date()) - timedelta(days=DEFAULT_DAYS_BACK)


# end_offset=1 includes today: batch runs append to today's partition all day long.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start().isoformat(), end_offset=1, timezone="UTC"
)


def today_partition_key() -> str:
    return datetime.now(UTC).date().isoformat()
