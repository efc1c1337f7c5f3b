"""Per-HTTP-call trace events (identity.dx / trace_log), as the original emitted them, minus
the secrets: URLs and headers arrive already redacted from the crawler."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from beat.store.outbox import OutboxEvent
from providers.http import HttpCall

TRACE_EXCHANGE = "identity.dx"
TRACE_ROUTING_KEY = "trace_log"
HOSTNAME = socket.gethostname()


def trace_event(call: HttpCall) -> OutboxEvent:
    event_id = str(uuid.uuid4())
    payload = {
        "event_id": event_id,
        "id": event_id,
        "hostname": HOSTNAME,
        "serviceName": "beat",
        "timestamp": datetime.fromtimestamp(call.at, UTC).isoformat(),
        "timeTaken": round(call.elapsed_ms, 1),
        "method": call.method,
        "uri": call.url_redacted,
        "headers": call.request_headers,
        "responseStatus": call.status,
        "provider": call.provider,
        "kind": call.kind,
        "error": call.error,
    }
    return OutboxEvent(event_id, TRACE_EXCHANGE, TRACE_ROUTING_KEY, payload)


def trace_events(calls: Sequence[HttpCall]) -> list[OutboxEvent]:
    return [trace_event(call) for call in calls]
