"""The relay on a real RabbitMQ that misbehaves: an exchange of the wrong type, and a broker
that blocks publishers (a disk alarm raised with `rabbitmqctl set_disk_free_limit`)."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import Engine, text

from beat.events.relay import OutboxRelay
from beat.store.outbox import Outbox
from tests.events.support import AMQP_URL, ROUTING_KEYS, publisher, wait_for_rabbit
from tests.events.test_relay import consume, expected_messages, make_events

pytestmark = pytest.mark.rabbitmq

#: Events of `make_events` that are not status changes: one profile and three posts.
DATA_EVENTS = 4


def declare_topic(name: str) -> None:
    """An exchange as someone else declared it: topic, where ours is direct."""
    with Connection(AMQP_URL) as conn:
        Exchange(name, type="topic", durable=True)(conn.channel()).declare()


def test_exchange_type_conflict_is_reported_and_events_wait(
    engine: Engine, exchanges: dict[str, str]
) -> None:
    total = make_events(engine)
    declare_topic(exchanges["beat.dx"])
    with publisher(exchanges) as relay_publisher:
        report = OutboxRelay(engine, relay_publisher).relay()
    assert (report.messages, report.failures, report.stopped) == (0, 1, "exchange type conflict")
    assert report.behind and report.backlog == total
    error = report.last_error or ""
    assert exchanges["beat.dx"] in error and "direct" in error and "topic" in error
    assert "BEAT_EXCHANGE_DECLARE=passive" in error  # what an operator can do about it
    assert "guest" not in error  # the URL's credentials never appear
    assert len(expected_messages(engine)) == total  # nothing lost, nothing marked

    # Once the operator removes the stray exchange, the next pass declares ours and sends all.
    with Connection(AMQP_URL) as conn:
        Exchange(exchanges["beat.dx"])(conn.channel()).delete()
    queue = bind(exchanges["beat.dx"], "direct")
    with publisher(exchanges) as relay_publisher:
        again = OutboxRelay(engine, relay_publisher).relay()
    assert (again.failures, again.backlog) == (0, 0)
    assert sum(len(v) for v in consume(queue).values()) == total - DATA_EVENTS


def bind(exchange: str, kind: str) -> dict[str, Queue]:
    name = f"test_conflict_{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(exchange, type=kind, durable=True),
                  routing_key=ROUTING_KEYS[0], durable=False, auto_delete=True)  # fmt: skip
    with Connection(AMQP_URL) as conn:
        queue(conn.channel()).declare()
    return {ROUTING_KEYS[0]: queue}


def test_passive_declaration_publishes_to_an_existing_exchange_of_any_type(
    engine: Engine, exchanges: dict[str, str]
) -> None:
    total = make_events(engine)
    declare_topic(exchanges["beat.dx"])  # provisioned by an operator, as a topic
    queue = bind(exchanges["beat.dx"], "topic")
    with publisher(exchanges, declare="passive") as relay_publisher:
        report = OutboxRelay(engine, relay_publisher).relay()
    assert (report.messages, report.failures, report.backlog) == (total, 0, 0)
    assert len(consume(queue)[ROUTING_KEYS[0]]) == total - DATA_EVENTS


def test_passive_declaration_of_a_missing_exchange_keeps_events(
    engine: Engine, exchanges: dict[str, str]
) -> None:
    total = make_events(engine)
    with publisher(exchanges, declare="passive") as relay_publisher:
        report = OutboxRelay(engine, relay_publisher).relay()
    assert report.failures == 1 and report.messages == 0 and report.backlog == total
    assert "does not exist" in (report.last_error or "")


# -- a broker that blocks publishers ---------------------------------------------------------


def disk_free_limit() -> str:
    """The broker's current setting, as `set_disk_free_limit` takes it back (bytes)."""
    out = subprocess.run(
        ["rabbitmqctl", "eval", "rabbit_disk_monitor:get_disk_free_limit()."],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return re.findall(r"\d+", out)[-1]


def disk_alarm_on() -> bool:
    out = subprocess.run(
        ["rabbitmqctl", "eval", "rabbit_alarm:get_alarms()."],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return "disk" in out


class DiskAlarm:
    """Raise RabbitMQ's disk alarm (the broker then blocks every publisher) and always lower it
    again, to the limit it had: the broker is shared with other tests, keep this short."""

    def __enter__(self) -> DiskAlarm:
        self.previous = disk_free_limit()
        subprocess.run(["rabbitmqctl", "set_disk_free_limit", "100000GB"], check=True,
                       capture_output=True)  # fmt: skip
        wait_until(disk_alarm_on, "the disk alarm to go on")
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["rabbitmqctl", "set_disk_free_limit", self.previous], check=True,
                       capture_output=True)  # fmt: skip
        wait_until(lambda: not disk_alarm_on(), "the disk alarm to clear")
        wait_for_rabbit()


def wait_until(condition, what: str, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_blocked_broker_ends_the_pass_releases_rows_and_loses_nothing(
    engine: Engine, exchanges: dict[str, str], bound_queues: dict[str, Queue]
) -> None:
    make_events(engine, requests=30)
    expected = {m.event_id for m in expected_messages(engine)}
    with DiskAlarm():
        started = time.monotonic()
        with publisher(exchanges, publish_timeout=2.0) as relay_publisher:
            report = OutboxRelay(engine, relay_publisher).relay(max_seconds=4.0)
        elapsed = time.monotonic() - started
        # The pass gave up instead of waiting for the broker for ever (before publish
        # deadlines it never returned); generous, since this is liveness, not speed.
        assert elapsed < 20
        assert report.failures == 1 and report.behind
        assert report.stopped in {"broker blocked publishers", "publish timed out"}
        assert report.backlog == len(expected)
        # The pass's transaction is over: nothing holds the outbox rows any more.
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("SELECT id FROM outbox FOR UPDATE NOWAIT")).all()
    with publisher(exchanges) as relay_publisher:
        after = OutboxRelay(engine, relay_publisher).relay()
    assert (after.failures, after.backlog) == (0, 0)
    received = consume(bound_queues)
    ids = [p["event_id"] for payloads in received.values() for p in payloads]
    assert set(ids) == expected  # every event arrived once the alarm cleared
    assert Outbox(engine).pending_events() == []
