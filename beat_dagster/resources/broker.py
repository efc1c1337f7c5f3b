import os
from collections import defaultdict
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from beat.events.publisher import PUBLISH_TIMEOUT_SECONDS, KombuPublisher
from beat.events.relay import OutboxRelay, RelayReport

#: Newest messages kept per queue by the embedded transport (no consumer reads them).
LOCAL_KEEP_PER_QUEUE = 1000


class BrokerResource(dg.ConfigurableResource):
    """Where outbox events go: RabbitMQ (`amqp://...`) or kombu's `filesystem://` transport.

    The filesystem transport is the embedded default, with no consumer: it keeps the newest
    `local_keep_per_queue` messages of each queue to look at and deletes older ones, so a
    local install does not pile up a file per event forever."""

    url: str
    local_folder: str
    relay_after_batch_seconds: float = 30.0
    local_keep_per_queue: int = LOCAL_KEEP_PER_QUEUE
    #: The broker's names for the outbox's exchanges, e.g. {"beat.dx": "staging.beat.dx"}.
    exchange_names: dict[str, str] = Field(default_factory=dict)
    #: "declare" (direct, durable, as the original) or "passive" (must exist already).
    exchange_declare: Literal["declare", "passive"] = "declare"
    #: Longest wait for the broker to confirm one message; a blocked broker ends the pass.
    publish_timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS

    def relay(self, engine: Engine, *, max_seconds: float = 10.0) -> RelayReport:
        with self.publisher() as publisher:
            report = OutboxRelay(engine, publisher).relay(max_seconds=max_seconds)
        if self.url.startswith("filesystem://"):
            prune_local_queues(Path(self.local_folder), self.local_keep_per_queue)
        return report

    def publisher(self) -> KombuPublisher:
        return KombuPublisher(
            self.url,
            local_folder=Path(self.local_folder),
            exchanges=self.exchange_names,
            declare=self.exchange_declare,
            publish_timeout=self.publish_timeout_seconds,
        )


def prune_local_queues(folder: Path, keep: int) -> int:
    """Delete all but the newest `keep` message files of each queue; returns how many went.
    kombu names them `<stamp>_<uuid>.<queue>.msg`."""
    by_queue: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".msg") and entry.is_file():
                queue = entry.name.rsplit(".", 2)[-2]
                by_queue[queue].append((entry.stat().st_mtime_ns, entry.path))
    removed = 0
    for files in by_queue.values():
        files.sort()
        for _, path in files[: max(0, len(files) - keep)]:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:  # another process pruned it first
                pass
    return removed
