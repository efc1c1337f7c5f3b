from functools import cache

import dagster as dg
from sqlalchemy import Engine

from beat.store.credentials import DbCredentialPool
from beat.store.db import make_engine, upgrade
from beat.store.queue import RequestQueue


@cache
def _engine(url: str) -> Engine:
    # One engine (and pool) per process and URL: sensors tick often and must not reconnect.
    engine = make_engine(url)
    upgrade(engine)
    return engine


@cache
def _pools(url: str) -> DbCredentialPool:
    # One pool per process: its in-memory snapshot is what keeps pick() off the database.
    return DbCredentialPool(_engine(url))


class DatabaseResource(dg.ConfigurableResource):
    """The app database: scrape_request_log (the queue), warehouse tables and the outbox."""

    url: str
    lease_seconds: float = 300.0
    max_attempts: int = 3

    def engine(self) -> Engine:
        return _engine(self.url)

    def credential_pool(self) -> DbCredentialPool:
        """Provider credentials from the `credential` table (plus BEAT_CREDENTIALS), with
        cooling, probing and dead states shared by every process through the table."""
        return _pools(self.url)

    def queue(self) -> RequestQueue:
        return RequestQueue(
            self.engine(), lease_seconds=self.lease_seconds, default_max_attempts=self.max_attempts
        )
