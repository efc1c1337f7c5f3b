"""Fixtures for the store tests: real PostgreSQL and SQLite, no mocks.

Postgres: one scratch database per test session (`beat_test_<random>`), migrated once and
emptied before each test; dropped at the end. Set BEAT_TEST_PG_URL to point at another server
(any database on it; the scratch databases are created next to it). Without a reachable server
the Postgres cases are skipped.

SQLite: a new file per test, in pytest's tmp_path.

`queue` and `engine` are parametrized over both, so one suite runs against each backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import URL, Engine, make_url, select, text, update

from beat.store.db import make_engine, upgrade
from beat.store.models import metadata, outbox, scrape_request_log
from beat.store.outbox import OutboxMessage, OutboxRow, messages
from beat.store.queue import RequestQueue

PG_BASE_URL = os.environ.get(
    "BEAT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class PgServer:
    """Creates and drops scratch databases on the test server."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url).set(drivername="postgresql+psycopg")
        self._admin = self.base.set(drivername="postgresql").render_as_string(hide_password=False)
        self._created: list[str] = []

    def reachable(self) -> bool:
        try:
            with psycopg.connect(self._admin, connect_timeout=3):
                return True
        except psycopg.OperationalError:
            return False

    def create_database(self) -> URL:
        name = f"beat_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return self.base.set(database=name)

    def drop_all(self) -> None:
        with psycopg.connect(self._admin, autocommit=True) as conn:
            for name in self._created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer(PG_BASE_URL)
    if not server.reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_BASE_URL}")
    try:
        yield server
    finally:
        server.drop_all()


@pytest.fixture(scope="session")
def pg_session_engine(pg_server: PgServer) -> Iterator[Engine]:
    engine = make_engine(pg_server.create_database())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_session_engine: Engine) -> Engine:
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with pg_session_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    return pg_session_engine


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/store/beat.db"  # the folder does not exist yet: on purpose


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def make_queue(engine: Engine) -> Callable[..., RequestQueue]:
    def factory(**options: Any) -> RequestQueue:
        return RequestQueue(engine, **options)

    return factory


@pytest.fixture
def queue(make_queue: Callable[..., RequestQueue]) -> RequestQueue:
    return make_queue()


class Db:
    """Direct reads and writes that tests need and the queue API rightly does not offer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def set_times(self, ids: list[int], **columns: datetime) -> None:
        """E.g. set_times([1], lease_expires_at=ago(60)): move a row's clock-driven columns."""
        stmt = update(scrape_request_log).where(scrape_request_log.c.id.in_(ids))
        with self.engine.begin() as conn:
            conn.execute(stmt.values(**columns))

    def outbox_rows(self) -> list[OutboxRow]:
        """Every outbox row, published or not, in write order."""
        with self.engine.connect() as conn:
            result = conn.execute(select(outbox).order_by(outbox.c.id)).mappings()
            return [OutboxRow.from_row(row) for row in result]

    def events(self, request_id: int | None = None) -> list[OutboxMessage]:
        """Every message a relay would publish, unpacked from the rows, in write order."""
        found = messages(self.outbox_rows())
        if request_id is not None:
            found = [m for m in found if m.payload["scl_id"] == str(request_id)]
        return found

    def statuses(self, request_id: int) -> list[str]:
        return [event.payload["status"] for event in self.events(request_id)]


@pytest.fixture
def db(engine: Engine) -> Db:
    return Db(engine)


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def from_now(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
