"""What the original's downstream consumer (event-grpc, Go) would read off RabbitMQ.

Data is scraped through the sandbox by the API (so the inline refresh's provider calls are
traced too), relayed to the real RabbitMQ, and read back by a consumer written on the bare
AMQP client (py-amqp: no beat code) from queues bound to ``beat.dx`` with each routing key and
to ``identity.dx`` with ``trace_log``. Each payload is checked the way the consumer parses it:
times with Go's layout ``2006-01-02 15:04:05``, ``scl_id`` a decimal string
(``strconv.ParseUint``), numbers where it casts to float64, an object where it casts to a
map, a boolean where it casts to bool.

Routing keys without a flow in this code base yet (order_log_events,
profile_relationship_log_events, post_activity_log_events) have no payload builder to check.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import amqp
import pytest

from beat.events.publisher import KombuPublisher
from beat.events.relay import OutboxRelay
from beat.store.outbox import Outbox
from beat.store.queue import RequestQueue
from providers.http import is_secret_name
from tests.contract.client import call
from tests.contract.serving import TOKEN, serve_api

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.rabbitmq]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
#: This module's own names for beat.dx and identity.dx on the shared broker (the publisher's
#: `exchanges`), so it never fights other tests over the real ones.
EXCHANGES = {name: f"contract.{name}.{uuid.uuid4().hex[:8]}" for name in ("beat.dx", "identity.dx")}
BINDINGS = {
    "scrape_request_log_events": EXCHANGES["beat.dx"],
    "profile_log_events": EXCHANGES["beat.dx"],
    "post_log_events": EXCHANGES["beat.dx"],
    "trace_log": EXCHANGES["identity.dx"],
}


def go_time(value: Any) -> None:
    assert isinstance(value, str), value
    datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # raises unless exactly the layout


def go_time_or_null(value: Any) -> None:
    if value is not None:
        go_time(value)


def text(value: Any) -> None:
    assert isinstance(value, str), value


def text_or_null(value: Any) -> None:
    assert value is None or isinstance(value, str), value


def obj(value: Any) -> None:
    assert isinstance(value, dict), value


def integer(value: Any) -> None:
    assert isinstance(value, int) and not isinstance(value, bool), value


def decimal_id(value: Any) -> None:
    assert isinstance(value, str) and value.isascii() and value.isdigit(), value


def count_from_one(value: Any) -> None:
    integer(value)
    assert value >= 1, value


SCHEMAS: dict[str, dict[str, Any]] = {
    "scrape_request_log_events": {
        "event_id": text, "scl_id": decimal_id, "flow": text, "platform": text, "params": obj,
        "status": text, "priority": integer, "reason": text_or_null, "event_timestamp": go_time,
        "picked_at": go_time_or_null, "expires_at": go_time_or_null, "retry_count": count_from_one,
    },
    "profile_log_events": {
        "event_id": text, "source": text, "platform": text, "profile_id": text, "handle": text,
        "event_timestamp": go_time, "metrics": obj, "dimensions": obj,
    },
    "post_log_events": {
        "event_id": text, "source": text, "platform": text, "profile_id": text, "handle": text,
        "shortcode": text, "publish_time": go_time, "event_timestamp": go_time, "metrics": obj,
        "dimensions": obj,
    },
}  # fmt: skip
# The original's trace keys, each of the type the consumer casts it to; beat adds a few.
TRACE_SCHEMA: dict[str, Any] = {
    "id": text, "hostname": text, "hostName": text, "serviceName": text, "timestamp": text,
    "timeTaken": integer, "method": text, "uri": text, "headers": obj, "responseStatus": integer,
    "remoteAddress": text, "onlyRequest": lambda v: isinstance(v, bool) or pytest.fail(v),
    "requestBody": text, "responseBody": text,
}  # fmt: skip
TRACE_EXTRAS = {"event_id", "provider", "kind", "error"}


@pytest.fixture
def channel() -> Iterator[tuple[amqp.Channel, dict[str, str]]]:
    connection = amqp.Connection("127.0.0.1:5672", userid="guest", password="guest")
    connection.connect()
    chan = connection.channel()
    suffix = uuid.uuid4().hex[:8]
    queues = {}
    for key, exchange in BINDINGS.items():
        _ensure_exchange(connection, exchange)
        name = f"contract_{key}_{suffix}"
        chan.queue_declare(name, durable=False, auto_delete=False)
        chan.queue_bind(name, exchange=exchange, routing_key=key)
        queues[key] = name
    yield chan, queues
    for name in queues.values():
        chan.queue_delete(name)
    for name in EXCHANGES.values():
        chan.exchange_delete(name)
    connection.close()


def _ensure_exchange(connection: amqp.Connection, name: str) -> None:
    """Bind to the exchange as it exists; declare it (direct, as the original did) if not."""
    probe = connection.channel()
    try:
        probe.exchange_declare(name, "direct", passive=True)
        probe.close()
    except amqp.exceptions.NotFound:
        connection.channel().exchange_declare(name, "direct", durable=True, auto_delete=False)


def drain(chan: amqp.Channel, queue: str) -> list[dict[str, Any]]:
    payloads = []
    while (message := chan.basic_get(queue, no_ack=True)) is not None:
        payloads.append(json.loads(message.body))
    return payloads


def test_every_routing_key_parses_as_the_consumer_reads_it(
    tmp_path: Path, channel: tuple[amqp.Channel, dict[str, str]]
) -> None:
    chan, queues = channel
    with serve_api(tmp_path) as served:
        url = served.url
        assert call(f"{url}/profiles/instagram/byhandle/alice.example", headers=AUTH)[0] == 200
        body = {"platform": "INSTAGRAM", "params": {"handle": "bob.example"}}
        status, created, _ = call(
            f"{url}/scrape_request_log/flow/refresh_profile_by_handle", "POST", body=body,
            headers=AUTH,
        )  # fmt: skip
        assert status == 201
        queue = RequestQueue(served.engine)
        queue.claim_batch(["refresh_profile_by_handle"], 10, batch_id="contract")  # PROCESSING
        update = {"status": "PENDING", "retry_count": 2}  # the recovery DAG's retry
        assert call(f"{url}/scrape_request_log/flow/update/{created['scrape_id']}", "POST",
                    body=update, headers=AUTH)[0] == 200  # fmt: skip
        ours = {m.event_id for m in Outbox(served.engine).pending_events(limit=10_000)}
        with KombuPublisher(AMQP_URL, exchanges=EXCHANGES) as publisher:
            report = OutboxRelay(served.engine, publisher).relay()
        assert report.failures == 0 and report.messages == len(ours)

    received = {key: [p for p in drain(chan, name) if p.get("event_id") in ours]
                for key, name in queues.items()}  # fmt: skip
    assert sum(len(v) for v in received.values()) == len(ours)  # every event, on its key
    for key, schema in SCHEMAS.items():
        assert received[key], f"no {key} arrived"
        for payload in received[key]:
            assert set(payload) == set(schema), (key, payload)
            for name, check in schema.items():
                check(payload[name])
    scrape = received["scrape_request_log_events"]
    assert {p["status"] for p in scrape} == {"PENDING", "PROCESSING"}
    retried = [p for p in scrape if p["scl_id"] == str(created["scrape_id"])]
    assert [p["retry_count"] for p in retried] == [1, 1, 2]  # the original's count
    assert all(p["picked_at"] for p in scrape if p["status"] == "PROCESSING")

    traces = received["trace_log"]
    assert traces, "the inline refresh's provider calls are traced"
    for payload in traces:
        assert set(payload) == set(TRACE_SCHEMA) | TRACE_EXTRAS, payload
        for name, check in TRACE_SCHEMA.items():
            check(payload[name])
        assert payload["serviceName"] == "beat" and payload["onlyRequest"] is False
        assert "?" not in payload["remoteAddress"] and payload["responseStatus"] == 200
        assert payload["responseBody"], "bodies are kept (scrubbed, truncated)"
        assert len(payload["responseBody"]) <= 2048 + len("...(truncated)")
    dumped = json.dumps(traces)
    assert "access_token=REDACTED" in dumped or "REDACTED" in dumped
    for secret in _sandbox_secrets(served):
        assert secret not in dumped, "a credential leaked into trace_log"


def _sandbox_secrets(served: Any) -> list[str]:
    secrets = []
    for items in served.sandbox.credential_secrets().values():
        for secret in items:
            # Ids (Graph's user_id, a channel id) are in URL paths by design; keys and tokens
            # must never be.
            secrets += [v for k, v in secret.items() if is_secret_name(k) and len(str(v)) >= 8]
    return secrets
