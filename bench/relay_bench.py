"""Outbox relay throughput vs a raw kombu publish floor, on the real RabbitMQ.

FLOOR: the same messages (already rendered), published with one kombu producer and publisher
confirms to the same exchange. OURS: OutboxRelay reading them from the PostgreSQL outbox,
publishing with KombuPublisher (confirms) and marking rows published.

    python bench/relay_bench.py [--requests 5000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Producer, Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beat.events.publisher import KombuPublisher
from beat.events.relay import OutboxRelay
from beat.store.db import make_engine, upgrade
from beat.store.outbox import Outbox
from beat.store.queue import NewRequest, RequestQueue
from tests.support import scratch_postgres

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


ROUTING_KEY = "scrape_request_log_events"
# Its own exchange (direct, as the relay declares beat.dx), so it never meets the real one.
EXCHANGE = f"bench.beat.dx.{uuid.uuid4().hex[:8]}"


def floor(messages: list) -> float:
    exchange = Exchange(EXCHANGE, type="direct", durable=True)
    with Connection(AMQP_URL, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        exchange(conn.default_channel).declare()  # once, as the relay does
        started = time.perf_counter()
        for m in messages:
            producer.publish(
                json.dumps(m.payload, default=str), exchange=exchange, routing_key=m.routing_key,
                content_type="application/json", delivery_mode=2,
                retry=False, message_id=m.event_id,
            )  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    queue_name = f"bench_relay_{uuid.uuid4().hex[:8]}"
    exchange = Exchange(EXCHANGE, type="direct", durable=True)
    with Connection(AMQP_URL) as conn:  # a consumer's queue, so messages are really routed
        Queue(queue_name, exchange, routing_key=ROUTING_KEY, durable=False)(
            conn.channel()
        ).declare()
    try:
        with scratch_postgres("beat_bench_relay") as url:
            engine = make_engine(url)
            upgrade(engine)
            queue = RequestQueue(engine)
            queue.enqueue_many(
                [NewRequest("refresh_profile_by_handle", "INSTAGRAM", {"handle": f"h{i}"})
                 for i in range(args.requests)]
            )  # fmt: skip
            for start in range(0, args.requests, 500):
                queue.claim_batch(["refresh_profile_by_handle"], 500, batch_id=f"b{start}")
            messages = Outbox(engine).pending_events(limit=100_000)
            first_floor = floor(messages)
            with KombuPublisher(AMQP_URL, exchanges={"beat.dx": EXCHANGE}) as publisher:
                report = OutboxRelay(engine, publisher).relay(max_seconds=600)
            # The floor runs before and after (warm-up, machine noise); the faster one counts.
            floor_seconds = min(first_floor, floor(messages))
            engine.dispose()
    finally:
        with Connection(AMQP_URL) as conn:
            Queue(queue_name)(conn.channel()).delete()
            Exchange(EXCHANGE)(conn.channel()).delete()
    assert report.messages == len(messages) and report.failures == 0
    floor_rate, ours_rate = len(messages) / floor_seconds, report.messages_per_second
    print(f"{len(messages)} scrape_request_log_events, RabbitMQ with publisher confirms")
    print(f"  {'floor (raw kombu publish)':34}{floor_rate:9.0f} events/s")
    print(f"  {'outbox relay (read, publish, mark)':34}{ours_rate:9.0f} events/s")
    print(f"  {'ratio relay/floor':34}{ours_rate / floor_rate:9.2f}   (target >= 0.7)")


if __name__ == "__main__":
    main()
