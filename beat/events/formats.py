"""The original engine's wire formats for event fields, in one place.

The downstream consumer (event-grpc, Go) parses every event time with the layout
``2006-01-02 15:04:05`` and silently keeps the zero time when a value does not match, reads
``scl_id`` as a string (a JSON number becomes 0), and takes ``retry_count`` as the original
counted it: 1 when a request is created, one more each time it goes back to PENDING.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: ``time.Parse("2006-01-02 15:04:05", ...)`` in the consumer; always UTC here.
EVENT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def event_time(value: datetime | str | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` in UTC; ISO 8601 text (any offset) is accepted too.

    A naive datetime is taken to be UTC. Text that is not a time ("infinity") is returned as
    is rather than invented.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return event_time(parsed)
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime(EVENT_TIME_FORMAT)


def epoch_event_time(seconds: float | None) -> str | None:
    """An epoch time (the original's ``taken_at_timestamp``) in the event format."""
    return None if seconds is None else event_time(datetime.fromtimestamp(seconds, UTC))


def scl_id(value: int | str) -> str:
    """A request id as the original sent it: a decimal string."""
    return str(int(value))


def original_retry_count(returns_to_pending: int) -> int:
    """The original's count: 1 at creation, +1 per retry. beat's column counts only the
    returns to PENDING (0 at creation), so the event adds the first try."""
    return int(returns_to_pending) + 1


def stored_retry_count(original: int) -> int:
    """The inverse of `original_retry_count`, for callers that send the original's count."""
    return max(int(original) - 1, 0)
