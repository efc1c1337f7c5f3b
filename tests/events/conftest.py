"""Fixtures of the event tests: exchanges of their own, and queues bound as consumers do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Exchange, Queue

from tests.events.support import AMQP_URL, ROUTING_KEYS, wait_for_rabbit


@pytest.fixture
def exchanges() -> Iterator[dict[str, str]]:
    """This test's own names for beat.dx and identity.dx, so tests never fight over the real
    ones on the shared broker; the exchanges are deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"beat.dx": f"test.beat.dx.{suffix}", "identity.dx": f"test.identity.dx.{suffix}"}
    yield names
    wait_for_rabbit()
    with Connection(AMQP_URL) as conn:
        for name in names.values():
            Exchange(name)(conn.channel()).delete()


@pytest.fixture
def bound_queues(exchanges: dict[str, str]) -> Iterator[dict[str, Queue]]:
    """A durable queue per routing key, bound to beat.dx (direct, as the original declared it)
    as downstream consumers do."""
    exchange = Exchange(exchanges["beat.dx"], type="direct", durable=True)
    suffix = uuid.uuid4().hex[:8]
    queues = {
        key: Queue(
            f"test_{key}_{suffix}", exchange, routing_key=key, durable=True, auto_delete=False
        )
        for key in ROUTING_KEYS
    }
    with Connection(AMQP_URL) as conn:
        for queue in queues.values():
            queue(conn.channel()).declare()
    yield queues
    wait_for_rabbit()
    with Connection(AMQP_URL) as conn:
        for queue in queues.values():
            queue(conn.channel()).delete()
