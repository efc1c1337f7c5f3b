from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

# end_offset=1 includes today: batch runs append to today's partition all day long.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date="2025-01-01", end_offset=1, timezone="UTC"
)


def today_partition_key() -> str:
    return datetime.now(UTC).date().isoformat()
