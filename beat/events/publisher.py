"""Publishing to the broker with kombu: RabbitMQ (amqp, publisher confirms) in production,
kombu's filesystem transport as the embedded default (no service to run).

Every publish has a deadline. A RabbitMQ under a resource alarm (disk or memory) does not
refuse publishers: it stops reading from their connections and tells them `connection.blocked`,
and a confirmed publish would wait for its ack forever, holding the relay's outbox rows. So
each message gets at most the time left of the pass, a blocked notice ends the pass at once,
and a connection that timed out is dropped without the close handshake (which would wait on
the blocked broker too).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Producer, Queue

from beat.store.outbox import OutboxMessage

#: The original declared its exchanges `direct` (reference §6, SPEC §3); downstream consumers
#: bind `<routing_key>_q` with the exact routing key.
EXCHANGE_TYPE = "direct"
#: Longest wait for the broker to take one message (write and confirm) or one declaration.
PUBLISH_TIMEOUT_SECONDS = 5.0

#: "declare": declare each exchange as the original did (direct, durable), which also checks
#: that an existing one has that type. "passive": only check it exists (an operator
#: provisioned it, of whatever type).
DeclareMode = Literal["declare", "passive"]


class BrokerUnavailable(RuntimeError):
    """The broker refused, dropped or did not confirm the publish in time; the events stay in
    the outbox. `sent` messages (the first ones of the call) were confirmed before it failed."""

    #: A short label for metadata and sensor ticks: why the pass stopped.
    kind = "broker unavailable"

    def __init__(self, message: str, *, sent: int = 0) -> None:
        super().__init__(message)
        self.sent = sent


class BrokerBlocked(BrokerUnavailable):
    """The broker blocks publishers: a RabbitMQ resource alarm (disk or memory) is on."""

    kind = "broker blocked publishers"


class PublishTimedOut(BrokerUnavailable):
    """The broker did not take a message before the deadline (a blocked or stalled broker)."""

    kind = "publish timed out"


class OutOfTime(BrokerUnavailable):
    """The caller's deadline came before the next message: not the broker's fault."""

    kind = "time budget spent"


class ExchangeConflict(BrokerUnavailable):
    """An exchange exists with another type or arguments than ours: an operator must decide."""

    kind = "exchange type conflict"


class _Blocked(Exception):
    """Raised from the connection's `on_blocked` callback, inside a publish or a confirm wait."""


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
    # on_blocked: RabbitMQ says so when an alarm blocks us; raising ends the wait at once.
    amqp_options: dict[str, Any] = {"confirm_publish": True, "on_blocked": _raise_blocked}
    return Connection(url, transport_options=amqp_options, connect_timeout=5)


def _raise_blocked(reason: str) -> None:
    raise _Blocked(reason)


class KombuPublisher:
    """Publishes outbox messages; one connection reused across batches (the original opened a
    connection per message).

    `exchanges` renames the outbox's exchanges (`beat.dx`, `identity.dx`) on this broker, e.g.
    for a staging broker shared with production, or for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        local_folder: Path | None = None,
        exchanges: Mapping[str, str] | None = None,
        declare: DeclareMode = "declare",
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.local_folder = local_folder
        self.exchanges = dict(exchanges or {})
        self.declare = declare
        self.publish_timeout = publish_timeout
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()

    @property
    def is_local(self) -> bool:
        return self.url.startswith("filesystem://")

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = broker_connection(self.url, local_folder=self.local_folder)
            self._connection.ensure_connection(max_retries=1)
            self._producer = Producer(self._connection.channel())
            self._declared = set()
        return self._producer

    def publish(self, messages: Sequence[OutboxMessage], *, deadline: float | None = None) -> None:
        """Publish in order, each message confirmed; by `deadline` (time.monotonic()) at the
        latest. Raises `BrokerUnavailable` (or a subclass saying why) with `sent` set."""
        sent = 0
        try:
            producer = self._ensure()
            for message in messages:
                self._publish_one(producer, message, self._timeout(deadline))
                sent += 1
        except Exception as exc:
            self.close(broken=True)
            raise self._explain(exc, sent) from exc

    def _timeout(self, deadline: float | None) -> float:
        if deadline is None:
            return self.publish_timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime("the relay's time budget ran out")
        return min(self.publish_timeout, left)

    def _publish_one(self, producer: Producer, message: OutboxMessage, timeout: float) -> None:
        exchange, routing_key = self._route(producer, message, timeout)
        producer.publish(
            json.dumps(message.payload, default=str),
            exchange=exchange,
            routing_key=routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,  # persistent
            retry=False,  # the outbox is the retry: a failed batch stays unpublished
            timeout=timeout,  # the write and, with confirms, the wait for the broker's ack
            message_id=message.event_id,
            headers={"routing_key": message.routing_key},
        )

    def _route(self, producer: Producer, message: OutboxMessage, timeout: float) -> tuple[Any, str]:
        """(exchange, routing key) for one message, declaring what it needs the first time."""
        if self.is_local:
            # A local broker has no consumers to bind queues, and kombu keeps the bindings of
            # its file transport in process memory; so deliver straight to `<routing_key>_q`
            # (the downstream queue naming) instead of through an exchange.
            queue = Queue(f"{message.routing_key}_q", channel=producer.channel)
            if queue.name not in self._declared:
                queue.declare()
                self._declared.add(queue.name)
            return "", queue.name
        name = self.exchanges.get(message.exchange, message.exchange)
        exchange = Exchange(name, type=EXCHANGE_TYPE, durable=True, channel=producer.channel)
        if name not in self._declared:
            self._declare(exchange, timeout)
            self._declared.add(name)
        return exchange, message.routing_key

    def _declare(self, exchange: Exchange, timeout: float) -> None:
        assert self._connection is not None
        transport = self._connection.connection.transport
        try:
            # The declaration waits for the broker's reply like a confirm does: bound it too.
            with transport.having_timeout(timeout):
                exchange.declare(passive=self.declare == "passive")
        except PreconditionFailed as exc:
            raise ExchangeConflict(
                f"exchange {exchange.name!r} already exists with another type or arguments "
                f"than {EXCHANGE_TYPE}, durable (the broker said: {exc.reply_text}); events "
                "wait in the outbox until an operator deletes it or sets "
                "BEAT_EXCHANGE_DECLARE=passive to publish to it as it is"
            ) from exc
        except NotFound as exc:
            raise BrokerUnavailable(
                f"exchange {exchange.name!r} does not exist and BEAT_EXCHANGE_DECLARE=passive "
                "forbids declaring it; events wait in the outbox"
            ) from exc

    def _explain(self, exc: Exception, sent: int) -> BrokerUnavailable:
        """The error a relay reports: what went wrong, never the password."""
        where = f"publish to {self.safe_url}"
        if isinstance(exc, BrokerUnavailable):
            error = type(exc)(f"{where}: {exc}", sent=sent)
        elif isinstance(exc, _Blocked) or isinstance(exc.__context__, _Blocked):
            error = BrokerBlocked(
                f"{where}: the broker blocks publishers ({exc}); a RabbitMQ resource alarm "
                "(disk or memory) is on. Events wait in the outbox",
                sent=sent,
            )
        elif isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in str(exc):
            error = PublishTimedOut(
                f"{where}: no confirm within {self.publish_timeout:g} s (a blocked or stalled "
                "broker); events wait in the outbox",
                sent=sent,
            )
        else:
            error = BrokerUnavailable(f"{where} failed: {exc}", sent=sent)
        return error

    @property
    def safe_url(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rsplit('@', 1)[-1]}"  # never print the password

    def close(self, *, broken: bool = False) -> None:
        """Release the connection; a `broken` one is dropped without the close handshake,
        which a blocked broker would never answer."""
        if self._connection is not None:
            # Closing a connection the broker already dropped may raise; nothing to do then.
            with contextlib.suppress(Exception):
                if broken and not self.is_local:
                    self._connection.collect()
                elif self.is_local or self._connection._connection is None:
                    self._connection.release()
                else:  # a broker that began blocking since the last publish: bound the wait
                    transport = self._connection._connection.transport
                    with transport.having_timeout(self.publish_timeout):
                        self._connection.release()
        self._connection, self._producer = None, None

    def __enter__(self) -> KombuPublisher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
