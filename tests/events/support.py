"""What the event tests share: the broker's URL, this test's exchange names, a publisher."""

from __future__ import annotations

import time
from typing import Any

from kombu import Connection

from beat.events.publisher import KombuPublisher

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
ROUTING_KEYS = ("scrape_request_log_events", "profile_log_events", "post_log_events")


def publisher(exchanges: dict[str, str], **options: Any) -> KombuPublisher:
    """A publisher to the test's own exchanges (see the `exchanges` fixture)."""
    return KombuPublisher(AMQP_URL, exchanges=exchanges, **options)


def wait_for_rabbit(seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with Connection(AMQP_URL, connect_timeout=1) as conn:
                conn.ensure_connection(max_retries=1)
                return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError("RabbitMQ did not come back")
