from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from beat.events.publisher import PUBLISH_TIMEOUT_SECONDS, KombuPublisher
from beat.events.relay import OutboxRelay, RelayReport


class BrokerResource(dg.ConfigurableResource):
    """Where outbox events go: RabbitMQ (`amqp://...`) or kombu's `filesystem://` transport."""

    url: str
    local_folder: str
    relay_after_batch_seconds: float = 30.0
    #: The broker's names for the outbox's exchanges, e.g. {"beat.dx": "staging.beat.dx"}.
    exchange_names: dict[str, str] = Field(default_factory=dict)
    #: "declare" (direct, durable, as the original) or "passive" (must exist already).
    exchange_declare: Literal["declare", "passive"] = "declare"
    #: Longest wait for the broker to confirm one message; a blocked broker ends the pass.
    publish_timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS

    def relay(self, engine: Engine, *, max_seconds: float = 10.0) -> RelayReport:
        with self.publisher() as publisher:
            return OutboxRelay(engine, publisher).relay(max_seconds=max_seconds)

    def publisher(self) -> KombuPublisher:
        return KombuPublisher(
            self.url,
            local_folder=Path(self.local_folder),
            exchanges=self.exchange_names,
            declare=self.exchange_declare,
            publish_timeout=self.publish_timeout_seconds,
        )
