"""Per-HTTP-call trace events (identity.dx / trace_log) with the original's keys, minus the
secrets: URLs, headers and bodies arrive already redacted and scrubbed from the crawler.

The keys are the original's (``id, hostname, serviceName, timestamp, timeTaken, method, uri,
headers, responseStatus, remoteAddress, onlyRequest, requestBody, responseBody``), with types
the consumer (event-grpc's trace-log parser, Go) decodes without panicking: numbers for
``timeTaken`` and ``responseStatus``, an object for ``headers``, a boolean for
``onlyRequest``. Its parser reads ``hostName``, while the original sent ``hostname``; both are
sent. ``event_id``, ``provider``, ``kind`` and ``error`` are beat's additions.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

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
        "hostName": HOSTNAME,
        "serviceName": "beat",
        "timestamp": datetime.fromtimestamp(call.at, UTC).isoformat(timespec="milliseconds"),
        # Whole milliseconds (the original truncated whole seconds, nearly always 0).
        "timeTaken": round(call.elapsed_ms),
        "method": call.method,
        "uri": call.url_redacted,
        "headers": call.request_headers,
        # 0 when no answer came (timeout, refused connection), as the original sent it.
        "responseStatus": call.status or 0,
        "remoteAddress": remote_address(call.url_redacted),
        "onlyRequest": False,
        "requestBody": call.request_body,
        "responseBody": call.response_body,
        "provider": call.provider,
        "kind": call.kind,
        "error": call.error,
    }
    return OutboxEvent(event_id, TRACE_EXCHANGE, TRACE_ROUTING_KEY, payload)


def remote_address(url: str) -> str:
    """The address called, without its query (the original's ``remoteAddress``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def trace_events(calls: Sequence[HttpCall]) -> list[OutboxEvent]:
    return [trace_event(call) for call in calls]
