from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

from beat.events.publisher import KombuPublisher
from beat.events.relay import OutboxRelay, RelayReport


class BrokerResource(dg.ConfigurableResource):
    """Where outbox events go: RabbitMQ (`amqp://...`) or kombu's `filesystem://` transport."""

    url: str
    local_folder: str
    relay_after_batch_seconds: float = 30.0

    def relay(self, engine: Engine, *, max_seconds: float = 10.0) -> RelayReport:
        with KombuPublisher(self.url, local_folder=Path(self.local_folder)) as publisher:
            return OutboxRelay(engine, publisher).relay(max_seconds=max_seconds)
