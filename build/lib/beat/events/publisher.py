"""Publishing to the broker with kombu: RabbitMQ (amqp, publisher confirms) in production,
kombu's filesystem transport as the embedded default (no service to run)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Producer, Queue

from beat.store.outbox import OutboxMessage

# Downstream consumers bind `<routing_key>_q` to these exchanges with the exact routing key.
EXCHANGE_TYPE = "topic"


class BrokerUnavailable(RuntimeError):
    """The broker refused or dropped the publish; the events stay in the outbox."""


def broker_connection(url: str, *, local_folder: Path | None = None) -> Connection:
    """A kombu connection; `filesystem://` keeps messages as files under `local_folder`."""
    if url.startswith("filesystem://"):
        folder = str(local_folder or Path(".beat/broker"))
        Path(folder).mkdir(parents=True, exist_ok=True)
        # Bindings go to control_folder, which kombu otherwise creates in the working directory.
        options = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": str(Path(folder) / "control"),
        }
        return Connection(url, transport_options=options)
    # confirm_publish: basic_publish returns only once the broker has taken the message.
    return Connection(url, transport_options={"confirm_publish": True}, connect_timeout=5)


class KombuPublisher:
    """Publishes outbox messages; one connection reused across batches (the original opened a
    connection per message)."""

    def __init__(self, url: str, *, local_folder: Path | None = None) -> None:
        self.url = url
        self.local_folder = local_folder
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = broker_connection(self.url, local_folder=self.local_folder)
            self._connection.ensure_connection(max_retries=1)
            self._producer = Producer(self._connection.channel())
            self._declared = set()
        return self._producer

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        try:
            producer = self._ensure()
            for message in messages:
                self._publish_one(producer, message)
        except Exception as exc:
            self.close()
            raise BrokerUnavailable(f"publish to {self.safe_url} failed: {exc}") from exc

    def _publish_one(self, producer: Producer, message: OutboxMessage) -> None:
        exchange, routing_key, declare = self._route(message)
        producer.publish(
            json.dumps(message.payload, default=str),
            exchange=exchange,
            routing_key=routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,  # persistent
            declare=declare,
            retry=False,  # the outbox is the retry: a failed batch stays unpublished
            message_id=message.event_id,
            headers={"routing_key": message.routing_key},
        )

    def _route(self, message: OutboxMessage) -> tuple[Any, str, list[Any]]:
        """(exchange, routing key, what to declare first) for one message."""
        target = f"{message.exchange}/{message.routing_key}"
        first = target not in self._declared
        self._declared.add(target)
        if self.url.startswith("filesystem://"):
            # A local broker has no consumers to bind queues, and kombu keeps the bindings of
            # its file transport in process memory; so deliver straight to `<routing_key>_q`
            # (the downstream queue naming) instead of through an exchange.
            queue = Queue(f"{message.routing_key}_q")
            return "", queue.name, [queue] if first else []
        exchange = Exchange(message.exchange, type=EXCHANGE_TYPE, durable=True)
        return exchange, message.routing_key, [exchange] if first else []

    @property
    def safe_url(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rsplit('@', 1)[-1]}"  # never print the password

    def close(self) -> None:
        if self._connection is not None:
            # Closing a connection the broker already dropped may raise; nothing to do then.
            with contextlib.suppress(Exception):
                self._connection.release()
        self._connection, self._producer = None, None

    def __enter__(self) -> KombuPublisher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
