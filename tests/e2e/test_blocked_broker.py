"""A RabbitMQ disk alarm raised during a batch: the run still finishes, its metadata and the
relay sensor's tick say the relay is behind, and once the alarm clears every event arrives.

The alarm blocks publishers on the SHARED broker, so it lasts only as long as the run and one
sensor tick, and is always lowered again (to the limit it had) by `DiskAlarm`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import outbox
from beat.store.outbox import OutboxRow
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, batch_metadata, tick
from tests.e2e.conftest import Stack
from tests.events.support import AMQP_URL, ROUTING_KEYS
from tests.events.test_relay import consume
from tests.events.test_relay_faults import DiskAlarm

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

FAMILY = FAMILIES["instagram"]


@pytest.fixture
def broker(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Queue]]:
    """RabbitMQ as the stack's broker, on exchanges of this test's own, with a bound queue per
    routing key as downstream consumers have."""
    suffix = uuid.uuid4().hex[:8]
    events, trace = f"test.beat.dx.{suffix}", f"test.identity.dx.{suffix}"
    monkeypatch.setenv("BEAT_BROKER_URL", AMQP_URL)
    monkeypatch.setenv("BEAT_EVENTS_EXCHANGE", events)
    monkeypatch.setenv("BEAT_TRACE_EXCHANGE", trace)
    monkeypatch.setenv("BEAT_RELAY_AFTER_BATCH_SECONDS", "3")
    exchange = Exchange(events, type="direct", durable=True)
    queues = {key: Queue(f"test_{key}_{suffix}", exchange, routing_key=key, durable=False)
              for key in ROUTING_KEYS}  # fmt: skip
    with Connection(AMQP_URL) as conn:
        for queue in queues.values():
            queue(conn.channel()).declare()
    yield queues
    with Connection(AMQP_URL) as conn:
        for queue in queues.values():
            queue(conn.channel()).delete()
        for name in (events, trace):
            Exchange(name)(conn.channel()).delete()


def relay_tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> tuple[str, dict]:
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources)
    result = defs.resolve_sensor_def("outbox_relay_sensor")(context)
    return str(result.skip_message), json.loads(context.cursor or "{}")


def test_disk_alarm_during_a_batch_delays_events_and_loses_none(
    stack: Stack, broker: dict[str, Queue]
) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"alarm.{i:02d}"} for i in range(20)])
    defs = build_definitions(load_settings())
    job = defs.resolve_job_def(FAMILY.job_name)
    with dg.DagsterInstance.get() as instance:
        [request] = tick(defs, instance, FAMILY.sensor_name).run_requests
        with DiskAlarm():
            result = job.execute_in_process(
                run_config=QUIET_RUN_CONFIG, instance=instance,
                partition_key=request.partition_key, tags=request.tags,
            )  # fmt: skip
            assert result.success  # the run finished instead of hanging in its relay
            meta = batch_metadata(result)
            assert meta["completed"] == 20
            assert meta["relay_stopped"] in {"broker blocked publishers", "publish timed out"}
            assert meta["relay_behind"] is True and meta["outbox_backlog_events"] > 0
            message, cursor = relay_tick(defs, instance)  # the sensor gives up the same way
            assert "waiting in the outbox" in message and cursor["behind"] is True
            assert cursor["stopped"] in {"broker blocked publishers", "publish timed out"}
        assert stack.statuses() == {"COMPLETE": 20}
        message, cursor = relay_tick(defs, instance)
        assert cursor == {**cursor, "stopped": "outbox empty", "backlog": 0, "behind": False}

    with stack.engine.connect() as conn:
        rows = [OutboxRow.from_row(r) for r in conn.execute(select(outbox)).mappings()]
    expected = {m.event_id for row in rows if row.routing_key in broker for m in row.messages()}
    received = consume(broker)
    ids = [p["event_id"] for payloads in received.values() for p in payloads]
    assert set(ids) == expected and len(expected) > 40  # every event arrived after the alarm
