"""How long a provider asked us to stay away, read from its answer.

Every provider says it differently: ``Retry-After`` (seconds or an HTTP date), RapidAPI's
``x-ratelimit-requests-reset`` and the common ``x-ratelimit-reset`` (seconds, or an epoch time
when the number is that large), Meta's usage headers (``estimated_time_to_regain_access`` in
minutes) and YouTube's daily quota, which resets at midnight Pacific time. A credential that hit
a limit is cooled for exactly that long; when nothing says, the credential pool falls back to a
growing backoff.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["cooling_seconds", "remaining_budget", "seconds_until_midnight_pacific"]

PACIFIC = ZoneInfo("America/Los_Angeles")
# A reset value above this is an epoch timestamp, not a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000
_MAX_COOLING = 7 * 86400.0


def _number(value: str) -> float | None:
    try:
        number = float(value.split(",")[0].strip())
    except ValueError:
        return None
    return number if number == number else None  # NaN


def _retry_after(value: str, now: float) -> float | None:
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.timestamp() - now


def _reset(value: str, now: float) -> float | None:
    number = _number(value)
    if number is None:
        return None
    return number - now if number > _EPOCH_THRESHOLD else number


def _meta_minutes(value: str) -> float | None:
    """The largest ``estimated_time_to_regain_access`` (minutes) in a Meta usage header."""
    try:
        usage: Any = json.loads(value)
    except ValueError:
        return None
    entries: list[Any] = []
    if isinstance(usage, dict):
        for item in usage.values():
            entries.extend(item if isinstance(item, list) else [item])
        entries.append(usage)
    minutes = [
        e["estimated_time_to_regain_access"]
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("estimated_time_to_regain_access"), int | float)
        and not isinstance(e.get("estimated_time_to_regain_access"), bool)
    ]
    return max(minutes) * 60.0 if minutes else None


def cooling_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to cool a credential for, from a provider's response headers (lower-case names),
    or None when the answer does not say. Never negative, capped at a week."""
    now = time.time() if now is None else now
    # RapidAPI's requests-reset is when the *plan* renews (days away): it only applies when
    # the plan is what ran out, not to a per-second 429 with plan budget left.
    plan_spent = headers.get("x-ratelimit-requests-remaining", "0").strip() == "0"
    readers = (
        ("retry-after", _retry_after),
        ("x-ratelimit-requests-reset", _reset if plan_spent else lambda v, n: None),
        ("x-ratelimit-reset", _reset),
        ("x-business-use-case-usage", lambda v, _n: _meta_minutes(v)),
        ("x-app-usage", lambda v, _n: _meta_minutes(v)),
    )
    for name, read in readers:
        value = headers.get(name)
        if not value:
            continue
        seconds = read(value, now)
        if seconds is not None and seconds > 0:
            return min(seconds, _MAX_COOLING)
    return None


def remaining_budget(headers: Mapping[str, str]) -> int | None:
    """Requests left in the credential's plan, when the provider says (RapidAPI and most
    others), for operators to see."""
    for name in ("x-ratelimit-requests-remaining", "x-ratelimit-remaining"):
        value = headers.get(name)
        if value:
            number = _number(value)
            if number is not None and number >= 0:
                return int(number)
    return None


def seconds_until_midnight_pacific(now: float | None = None) -> float:
    """YouTube Data API quotas reset at midnight Pacific time (DST included)."""
    now = time.time() if now is None else now
    local = datetime.fromtimestamp(now, PACIFIC)
    midnight = datetime(local.year, local.month, local.day, tzinfo=PACIFIC) + timedelta(days=1)
    return max(1.0, midnight.timestamp() - now)
